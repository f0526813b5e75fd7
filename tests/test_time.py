"""The time model: roofline arithmetic on hand-made devices and networks, op classes and
shape features, calibrated curves, the report's time section, and bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest

import netcost
from netcost.cost import time as tm
from netcost.errors import NetcostError, UnknownDevice
from netcost.hardware.catalogue import Device
from netcost.hardware.profile import Backend
from netcost.ir import NetworkBuilder

# A device with round figures: 1 TFLOP/s fp32, 100 GB/s, a GPU (the catalogue's GPU fit:
# 40% of peak, 50% of the bandwidth, 1 us of half-work, a 3 us kernel floor; the host
# dispatches an op in 25 us for inference, 50 us in a training forward, 60 us backward).
DEV = Device(key="test", name="Test GPU", kind="gpu", memory_bytes=2**34, bandwidth=1e11,
             peak_flops={"fp32": 1e12})


def mlp():
    b = NetworkBuilder("mlp", (1024,))
    x = b.add("linear", b.input, "fc", out_features=1024)
    b.add("relu", x, "relu")
    return b.build()


def test_compute_bound_linear_on_a_catalogue_device():
    est = tm.estimate(mlp(), batch=1024, device=DEV)
    fc, relu = est.layers
    # MACs = 1024 x 1024 per sample x batch 1024 = 1,073,741,824; FLOPs = 2,147,483,648.
    # Efficiency 0.4 * f / (f + half), half = peak x 1 us = 1e6 FLOPs, so
    # compute = (f + half) / (0.4 * peak) = 2,148,483,648 / 4e11 s.
    assert fc.flops == 2_147_483_648
    assert fc.compute_s == pytest.approx(2_148_483_648 / 4e11)
    # bytes: input 4 MiB + output 4 MiB + (1024*1024 + 1024) params * 4 = 12,587,008,
    # over 50% of 100 GB/s
    assert fc.bytes == 12_587_008
    assert fc.memory_s == pytest.approx(12_587_008 / 5e10)
    assert fc.bound == "compute"
    # the kernel, its 3 us floor, and the host's 50 us dispatch in a training forward
    assert fc.forward_s == pytest.approx(2_148_483_648 / 4e11 + 3e-6 + 50e-6)
    assert fc.inference_s == pytest.approx(2_148_483_648 / 4e11 + 3e-6 + 25e-6)
    # backward: the input is the network's, so only the weight gradient: one more product
    # of the same FLOPs (its bytes, 20,979,712 / 5e10 s, are less), + 60 us for the node
    assert fc.backward_s == pytest.approx(2_148_483_648 / 4e11 + 3e-6 + 60e-6)
    # ReLU: memory-bound, reads 4 MiB and writes 4 MiB = 8,388,608 bytes
    assert relu.bound == "memory" and relu.bytes == 8_388_608
    assert relu.forward_s == pytest.approx(8_388_608 / 5e10 + 3e-6 + 50e-6)
    # its backward reads grad_out and the saved tensor, writes grad_in: 12,582,912 bytes
    assert relu.backward_s == pytest.approx(12_582_912 / 5e10 + 3e-6 + 60e-6)


def test_optimizer_and_iteration_add_up():
    est = tm.estimate(mlp(), batch=1024, device=DEV, optimizer="momentum")
    # momentum streams 8 passes over 1,049,600 fp32 params = 33,587,200 bytes at 5e10 B/s
    # in 3 foreach kernels, each dispatched in 5 us + 2 tensors x 0.5 us; on a GPU the
    # kernels run while the next ones are dispatched: the first dispatch, then the streaming
    assert est.optimizer_s == pytest.approx(33_587_200 / 5e10 + (5e-6 + 2 * 5e-7))
    assert est.iteration_s == pytest.approx(est.forward_s + est.backward_s + est.optimizer_s)
    adam = tm.estimate(mlp(), batch=1024, device=DEV, optimizer="adam")
    assert adam.optimizer_s > est.optimizer_s  # 18 passes against 8
    d = est.to_dict()
    assert {"device", "iteration_s", "forward_s", "backward_s", "optimizer_s", "inference_s",
            "layers"} <= set(d)
    assert d["layers"][0]["bound"] == "compute" and d["device"] == "test"


def test_pipelined_dispatch_and_kernels():
    # launch-bound: the dispatches, then the last kernel
    assert tm.pipelined([(5.0, 1.0)] * 3) == 16.0
    # compute-bound: the first dispatch, then the kernels back to back
    assert tm.pipelined([(1.0, 10.0)] * 3) == 31.0
    # a long kernel lets the CPU run ahead, and the queued short ones follow it
    assert tm.pipelined([(1.0, 10.0), (2.0, 1.0), (2.0, 1.0)]) == 13.0
    assert tm.pipelined([]) == 0.0


def test_a_gpu_pipelines_its_totals_and_a_cpu_sums_them():
    gpu = tm.estimate(mlp(), batch=1, device=DEV)
    fc, relu = gpu.layers
    assert fc.dispatch_s == relu.dispatch_s == 50e-6
    # at batch 1 the fc kernel is 4 MiB of weight at 5e10 B/s (84 us); relu's 8 KiB kernel
    # is dispatched while it runs: the total is the first dispatch and both kernels
    want = 50e-6 + (fc.forward_s - 50e-6) + (relu.forward_s - 50e-6)
    assert gpu.forward_s == pytest.approx(want)
    assert gpu.forward_s < sum(r.forward_s for r in gpu.layers)
    assert gpu.pipelined and gpu.to_dict()["pipelined"] is True
    # the backward runs the layers in reverse: relu's then fc's
    assert gpu.backward_s == pytest.approx(tm.pipelined(
        [(r.dispatch_bwd_s, r.backward_s - r.dispatch_bwd_s) for r in reversed(gpu.layers)]))
    cpu = tm.estimate(mlp(), batch=1, device=replace(DEV, kind="cpu"))
    assert not cpu.pipelined
    assert cpu.forward_s == pytest.approx(sum(r.forward_s for r in cpu.layers))
    assert cpu.backward_s == pytest.approx(sum(r.backward_s for r in cpu.layers))


def _local_cuda(**fields):
    """A calibrated CUDA device with round figures: 1e14 FLOP/s, 1e12 B/s, 5 us a tiny op."""
    pts = ((1.0, 1.0, 1e14), (1e6, 1e4, 1e14))
    backend = Backend(backend="cuda", name="gpu", threads=1, memory_bytes=2**33,
                      compute={"fp32": {"gemm": pts}}, elementwise=((1.0, 1e12), (1e9, 1e12)),
                      stream={"triad": 1e12, "cold_read": 1e9}, overhead_s=5e-6,
                      overhead_bwd_s=9e-6, **fields)
    return Device(key="local-cuda", name="calibrated", kind="local", memory_bytes=2**33,
                  bandwidth=1e12, peak_flops={"fp32": 1e14}, profile=backend)


def test_a_cuda_profile_dispatches_each_op_at_its_groups_cost_inside_a_network():
    gpu = _local_cuda(dispatch_s={"gemm": 30e-6, "train:gemm": 40e-6, "other": 20e-6,
                                  "train:other": 25e-6, "backward": 15e-6})
    est = tm.estimate(mlp(), batch=1, device=gpu)
    fc, relu = est.layers
    assert (fc.dispatch_s, fc.dispatch_inference_s) == (40e-6, 30e-6)
    # an out-of-place ReLU is in the group "other"
    assert (relu.dispatch_s, relu.dispatch_inference_s) == (25e-6, 20e-6)
    assert fc.dispatch_bwd_s == relu.dispatch_bwd_s == 15e-6  # per autograd node
    # no cold reads on a GPU: the weight's 4 MiB would take 4 ms at the "cold" 1 GB/s
    assert fc.forward_s - fc.dispatch_s == pytest.approx(max(fc.compute_s, fc.memory_s))
    # launch-bound: the kernels (2 MFLOP at 1e14, 4 MiB at 1e12 B/s) hide behind the
    # dispatches but for the last one
    assert est.inference_s == pytest.approx(
        30e-6 + max(20e-6, fc.inference_s - 30e-6) + relu.inference_s - 20e-6)
    assert est.pipelined


def test_calibrated_device_uses_the_measured_rates():
    pts = ((1.0, 1.0, 1e11), (1e6, 1e4, 1e11))
    backend = Backend(backend="cpu", name="test", threads=1, memory_bytes=2**33,
                      compute={"fp32": {"gemm": pts}}, elementwise=((1.0, 1e10), (1e9, 1e10)),
                      stream={"triad": 1e10}, overhead_s=1e-6, overhead_bwd_s=2e-6)
    local = Device(key="local", name="calibrated", kind="local", memory_bytes=2**33,
                   bandwidth=1e10, peak_flops={"fp32": 1e11}, profile=backend)
    fc, relu = tm.estimate(mlp(), batch=1024, device=local).layers
    # 2,147,483,648 FLOPs at the measured 1e11 FLOP/s; 12,587,008 bytes at 1e10 B/s
    assert fc.compute_s == pytest.approx(2_147_483_648 / 1e11)
    assert fc.memory_s == pytest.approx(12_587_008 / 1e10)
    assert fc.forward_s == pytest.approx(2_147_483_648 / 1e11 + 1e-6)
    assert relu.forward_s == pytest.approx(8_388_608 / 1e10 + 1e-6)


def test_interpolate2d_is_bilinear_in_logs():
    pts = [(1, 1, 10.0), (100, 1, 30.0), (1, 100, 50.0), (100, 100, 70.0)]
    # x = 10 is halfway (in log) along each row: 20 and 60; y = 10 halfway between: 40
    assert tm.interpolate2d(pts, 10, 10) == pytest.approx(40.0)
    assert tm.interpolate2d(pts, 1000, 1000) == 70.0  # flat beyond the measured range


def conv_net():
    b = NetworkBuilder("convs", (64, 56, 56))
    x = b.add("conv2d", b.input, "c3", out_channels=64, kernel=3, padding=1)
    x = b.add("conv2d", x, "dw", out_channels=64, kernel=3, padding=1, groups=64)
    x = b.add("conv2d", x, "pw", out_channels=256, kernel=1)
    b.add("conv2d", x, "k7", out_channels=64, kernel=7, padding=3)
    return b.build()


def test_op_classes_and_shape_features():
    c3, dw, pw, k7 = conv_net().layers
    # batch 8 x 56 x 56 output pixels = 25,088; channel feature sqrt(cin * cout)
    assert tm.shape_features(c3, 8) == ("conv3x3", 25088, pytest.approx(64.0))
    assert tm.shape_features(dw, 8) == ("depthwise", 25088, 64)
    assert tm.shape_features(pw, 8) == ("conv1x1", 25088, pytest.approx(128.0))
    # a 7x7 kernel over 256 channels has the inner length of a 3x3 over 256*49/9
    assert tm.shape_features(k7, 8)[2] == pytest.approx((256 * 49 / 9 * 64) ** 0.5)
    fc = mlp().layers[0]
    # a matrix product: rows = batch, width = sqrt(in * out)
    assert tm.shape_features(fc, 32) == ("gemm", 32, pytest.approx(1024.0))


def test_more_batch_never_takes_less_time():
    small = tm.estimate(conv_net(), batch=1, device="t4")
    large = tm.estimate(conv_net(), batch=16, device="t4")
    assert large.iteration_s > small.iteration_s and large.inference_s > small.inference_s


def test_gpu_fp32_convolutions_use_tf32_as_pytorch_does():
    # cudnn.allow_tf32 is on by default: an fp32 conv on an A100 is timed at the TF32 peak
    conv = tm.estimate(conv_net(), batch=64, device="a100").layers[0]
    assert conv.throughput > 19.5e12  # above the plain fp32 peak


def test_analyze_with_device_sets_the_time_section():
    report = netcost.analyze("resnet18", batch=4, device="v100")
    t = report.time
    assert t["device"] == "v100" and len(t["layers"]) == len(report.layers)
    assert t["iteration_s"] == pytest.approx(t["forward_s"] + t["backward_s"] + t["optimizer_s"])
    assert "time" in report.to_dict()
    assert netcost.analyze("resnet18").time is None  # not calibrated, no device: no section


@pytest.mark.parametrize("kwargs,match", [
    ({"batch": 0}, "batch must be a positive integer"),
    ({"batch": -3}, "batch must be a positive integer"),
    ({"optimizer": "lion"}, "unknown optimizer 'lion'"),
    ({"amp": "fp8"}, "amp must be fp16 or bf16"),
    ({"precision": "fp12"}, "unknown precision"),
])
def test_bad_input(kwargs, match):
    args = {"batch": 1, "device": DEV, **kwargs}
    with pytest.raises(NetcostError, match=match):
        tm.estimate(mlp(), **args)


def test_unknown_device_in_report_is_exit_2(capsys):
    from netcost.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["report", "resnet18", "--device", "h1000"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "did you mean" in err and err.count("\n") == 1
    with pytest.raises(UnknownDevice):
        tm.estimate(mlp(), device="nope")


def test_plot_writes_a_png_or_says_what_is_missing(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from netcost.cli import main

    out = tmp_path / "r.png"
    with pytest.raises(SystemExit) as exc:
        main(["report", "resnet18", "--device", "t4", "--plot", str(out)])
    assert exc.value.code == 0 and out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit) as exc:
        main(["report", "resnet18", "--plot", str(out)])
    assert exc.value.code == 2 and "--device" in capsys.readouterr().err


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import builtins

    from netcost.render import plot

    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ModuleNotFoundError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(NetcostError, match=r"pip install netcost\[plot\]"):
        plot._pyplot()


def test_real_step_timing_structure():
    torch = pytest.importorskip("torch")
    from netcost.measure.timing import time_steps

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 3))
    t = time_steps(model, (3, 2, 2), batch=4, inference_batch=2, repeats=5, warmup=1)
    assert t.repeats == 5 and t.batch == 4 and t.inference_batch == 2
    # the phases are timed inside the same iterations: each median is at most the
    # iteration's (medians of sums need not add up exactly)
    assert 0 < t.forward_s <= t.iteration_s and 0 < t.backward_s <= t.iteration_s
    assert set(t.groups) == {"0", "1", "2", "3"}  # one per top-level module
    assert t.groups["1"][1] > 0  # the first Linear's backward was clocked
    with pytest.raises(NetcostError, match="at least 5"):
        time_steps(model, (3, 2, 2), batch=4, repeats=3)


def test_measure_prints_time_rows(capsys):
    pytest.importorskip("torch")
    from netcost.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["measure", "torchvision:squeezenet1_1", "--batch", "1", "--input", "3x64x64",
              "--format", "json"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    import json

    rows = {r["what"]: r for r in json.loads(out)["time"]["rows"]}
    assert rows["iteration"]["measured_s"] > 0
    assert rows["iteration"]["predicted_s"] is None  # not calibrated in tests


def test_pointwise_classes_and_pool_window_reads():
    b = NetworkBuilder("pools", (64, 56, 56))
    x = b.add("max_pool2d", b.input, "p2", kernel=3, stride=2, padding=1)
    b.add("max_pool2d", x, "p1", kernel=3, stride=1, padding=1)
    p2, p1 = b.build().layers
    # stride 2: 64 x 28 x 28 outputs x 9 window reads = 451,584; stride 1 on that output:
    # 64 x 28 x 28 x 9 as well - the same work although its input is 4x smaller
    assert tm.pointwise_class(p2) == ("max_pool", 451_584)
    assert tm.pointwise_class(p1) == ("max_pool", 451_584)
    relu = mlp().layers[1]
    assert tm.pointwise_class(relu) is None  # out of place: the generic bytes model


def test_cold_reads_of_weights_and_older_tensors_add_at_the_cold_bandwidth():
    pts = ((1.0, 1.0, 1e11), (1e6, 1e4, 1e11))
    backend = Backend(backend="cpu", name="test", threads=1, memory_bytes=2**33,
                      compute={"fp32": {"gemm": pts, "conv3x3": pts}},
                      elementwise=((1.0, 1e10), (1e9, 1e10)),
                      stream={"triad": 1e10, "cold_read": 1e9}, overhead_s=1e-6,
                      overhead_bwd_s=2e-6)
    local = Device(key="local", name="calibrated", kind="local", memory_bytes=2**33,
                   bandwidth=1e10, peak_flops={"fp32": 1e11}, profile=backend)
    assert backend.bandwidth() == 1e10  # the cold read is no roof
    b = NetworkBuilder("skip", (64, 56, 56))
    x = b.add("conv2d", b.input, "c1", out_channels=64, kernel=3, padding=1, bias=False)
    y = b.add("relu", x, "r1")
    z = b.add("relu", y, "r2")
    b.add("add", [x, z], "sum")
    net = b.build()
    # c1 reads the network input (nothing ran before it: cold); "sum" reads z, just written,
    # and x, written three layers before: cold
    assert tm.cold_inputs(net) == {"c1": 200_704, "r1": 0, "r2": 0, "sum": 200_704}
    est = tm.estimate(net, batch=1, device=local)
    plain = Device(key="local", name="calibrated", kind="local", memory_bytes=2**33,
                   bandwidth=1e10, peak_flops={"fp32": 1e11},
                   profile=replace(backend, stream={"triad": 1e10}))
    ref = tm.estimate(net, batch=1, device=plain)
    c1, ref_c1 = est.layers[0], ref.layers[0]
    # c1: 64*64*9 = 36,864 fp32 weights (147,456 bytes) + its input 200,704 numbers
    # (802,816 bytes) = 950,272 bytes at 1e9 B/s, on top of the compute-bound forward
    assert c1.inference_s - ref_c1.inference_s == pytest.approx(950_272 / 1e9)
    assert c1.forward_s - ref_c1.forward_s == pytest.approx(950_272 / 1e9)
    # its backward reads the weights again, cold
    assert c1.backward_s - ref_c1.backward_s == pytest.approx(147_456 / 1e9)
    # a ReLU's backward reads the output its forward saved, written a forward ago (its
    # calibrated backward found it cached); the sum saved nothing: no extra
    r1, r2, total = est.layers[1:]
    ref_r1, ref_r2, ref_total = ref.layers[1:]
    assert r1.backward_s - ref_r1.backward_s == pytest.approx(802_816 / 1e9)
    assert r2.backward_s - ref_r2.backward_s == pytest.approx(802_816 / 1e9)
    assert total.backward_s == ref_total.backward_s
    from netcost.cost.memory import saved_bytes

    assert saved_bytes(net, batch=2) == {"c1": 2 * 802_816, "r1": 2 * 802_816,
                                         "r2": 2 * 802_816, "sum": 0}
    assert saved_bytes(net, batch=2, precision="bf16")["r1"] == 802_816  # 2 bytes each
    # a memory-bound convolution (depthwise) still fetches only its weights again: its
    # calibrated backward read rotated copies of its input
    b = NetworkBuilder("dw", (64, 56, 56))
    b.add("conv2d", b.input, "dw", out_channels=64, kernel=3, padding=1, groups=64,
          bias=False)
    dw_net = b.build()
    (dw,), (ref_dw,) = (tm.estimate(dw_net, batch=8, device=d, input_requires_grad=True).layers
                        for d in (local, plain))
    assert dw.bound == "memory"
    assert dw.backward_s - ref_dw.backward_s == pytest.approx(64 * 9 * 4 / 1e9)


def _local(compute):
    backend = Backend(backend="cpu", name="test", threads=1, memory_bytes=2**33,
                      compute={"fp32": compute}, elementwise=((1.0, 1e10), (1e9, 1e10)),
                      stream={"triad": 1e10}, overhead_s=1e-6, overhead_bwd_s=2e-6)
    return Device(key="local", name="calibrated", kind="local", memory_bytes=2**33,
                  bandwidth=1e10, peak_flops={"fp32": 1e11}, profile=backend)


def stem_net():
    b = NetworkBuilder("stem", (3, 224, 224))
    x = b.add("conv2d", b.input, "conv0", out_channels=64, kernel=7, stride=2, padding=3,
              bias=False)
    b.add("conv2d", x, "c3", out_channels=64, kernel=3, padding=1, bias=False)
    return b.build()


def test_stem_convolutions_read_their_own_surface_or_fall_back_to_conv3x3():
    conv0, c3 = stem_net().layers
    # 3 input channels: a stem; 112 x 112 output pixels, a 7x7 kernel as 49/9 3x3 ones
    assert tm.shape_features(conv0, 1) == ("stem", 12544, pytest.approx((3 * 49 / 9 * 64) ** 0.5))
    assert tm.conv_class(c3) == "conv3x3"
    flat = lambda rate: ((1.0, 1.0, rate), (1e6, 1e4, rate))  # noqa: E731
    conv3x3 = {"gemm": flat(1e12), "conv3x3": flat(1e11), "conv3x3_bwd": flat(1e11)}
    old = tm.estimate(stem_net(), batch=8, device=_local(conv3x3))
    new = tm.estimate(stem_net(), batch=8, device=_local(
        {**conv3x3, "stem": flat(1e10), "stem_bwd": flat(5e9)}))
    macs = 8 * 112 * 112 * 64 * 3 * 49  # 944,111,616
    # a profile from before the stem class: the conv3x3 surface, as it always did
    assert old.layers[0].compute_s == pytest.approx(2 * macs / 1e11)
    assert new.layers[0].compute_s == pytest.approx(2 * macs / 1e10)
    # the image needs no gradient: the stem's backward is its weight gradient alone
    assert new.layers[0].backward_s == pytest.approx(2 * macs / 5e9 + 2e-6)
    assert new.layers[1].compute_s == old.layers[1].compute_s  # not a stem: unchanged


def test_a_strided_depthwise_conv_adds_the_reorder_of_its_surplus_input():
    b = NetworkBuilder("dw", (96, 112, 112))
    b.add("conv2d", b.input, "s1", out_channels=96, kernel=3, padding=1, groups=96, bias=False)
    b.add("conv2d", b.input, "s2", out_channels=96, kernel=3, stride=2, padding=1, groups=96,
          bias=False)
    s1, s2 = b.build().layers
    flat = ((1.0, 1.0, 1e10), (1e6, 1e4, 1e10))
    dev = _local({"gemm": flat, "depthwise": flat})  # copies at 1e10 B/s
    t1, t2 = (tm.layer_time(x, tm.Rates(dev, "fp32"), batch=1, act=4, par=4,
                            needs_grad=False, grad_sums=0) for x in (s1, s2))
    assert t1.compute_s == pytest.approx(2 * 9 * 96 * 112 * 112 / 1e10)
    # stride 2: a quarter of the MACs, and the input's 3/4 surplus (903,168 numbers) read
    # and written by a transposing copy at half a copy's speed
    surplus = 4 * 4 * 96 * (112 * 112 - 56 * 56)
    assert t2.compute_s == pytest.approx(2 * 9 * 96 * 56 * 56 / 1e10 + surplus / 1e10)
    assert t2.compute_s < t1.compute_s


def test_a_large_linear_at_one_row_reads_the_streamed_weight_point():
    b = NetworkBuilder("classifier", (25088,))
    b.add("linear", b.input, "fc", out_features=4096)
    fc = b.build().layers[0]
    width = (25088 * 4096) ** 0.5  # beyond the 8192 point: flat
    assert tm.shape_features(fc, 1) == ("gemm", 1, pytest.approx(width))
    # at 1 row: 4096 wide 60 GFLOP/s (cached weight), 8192 wide streamed 20 GFLOP/s
    gemm = ((1, 4096, 6e10), (1, 8192, 2e10), (64, 4096, 3e11))
    t = tm.estimate(b.build(), batch=1, device=_local({"gemm": gemm})).layers[0]
    assert t.compute_s == pytest.approx(2 * 25088 * 4096 / 2e10)


def test_each_op_pays_its_groups_calibrated_cold_start_in_its_forward():
    starts = {"conv": 30e-6, "gemm": 20e-6, "relu": 5e-6, "other": 3e-6}
    dev = _local({"gemm": ((1.0, 1.0, 1e11), (1e6, 1e4, 1e11)),
                  "conv3x3": ((1.0, 1.0, 1e11), (1e6, 1e4, 1e11))})
    cold = replace(dev, profile=replace(dev.profile, cold_start_s=starts))
    b = NetworkBuilder("groups", (16, 8, 8))
    x = b.add("conv2d", b.input, "conv", out_channels=16, kernel=3, padding=1)
    x = b.add("relu", x, "relu", inplace=True)
    x = b.add("sigmoid", x, "sig")  # out of place: no class of its own, "other"
    x = b.add("flatten", x, "flat")  # a view: dispatch only, no kernel to start
    b.add("linear", x, "fc", out_features=10)
    net = b.build()
    est, ref = tm.estimate(net, batch=2, device=cold), tm.estimate(net, batch=2, device=dev)
    want = {"conv": 30e-6, "relu": 5e-6, "sig": 3e-6, "flat": 0.0, "fc": 20e-6}
    for row, base in zip(est.layers, ref.layers, strict=True):
        assert row.cold_start_s == pytest.approx(want[row.name])
        assert row.inference_s - base.inference_s == pytest.approx(want[row.name])
        assert row.forward_s - base.forward_s == pytest.approx(want[row.name])
        assert row.backward_s == base.backward_s  # not measured for backward kernels
    assert est.to_dict()["cold_start_s"] == pytest.approx(sum(want.values()))
    assert ref.cold_start_s == 0.0
    # a CUDA profile: kernels launch asynchronously, no host-side term
    gpu = replace(cold, profile=replace(cold.profile, backend="cuda"))
    assert tm.estimate(net, batch=2, device=gpu).cold_start_s == 0.0


def test_a_training_forward_writes_each_held_output_into_cold_memory():
    # 1 us per MiB written cold, 4 us at 4 MiB: linear between the points, in proportion
    # beyond them
    curve = ((2.0**20, 1e-6), (2.0**22, 4e-6))
    dev = _local({"gemm": ((1.0, 1.0, 1e11), (1e6, 1e4, 1e11)),
                  "conv3x3": ((1.0, 1.0, 1e11), (1e6, 1e4, 1e11))})
    cold = replace(dev, profile=replace(dev.profile, cold_write=curve))
    rates = tm.Rates(cold, "fp32")
    assert rates.cold_write(2.0**19) == pytest.approx(0.5e-6)
    assert rates.cold_write(3 * 2.0**20) == pytest.approx(3e-6)
    assert rates.cold_write(2.0**23) == pytest.approx(8e-6)
    assert tm.Rates(dev, "fp32").cold_write(2.0**21) == 0.0  # unmeasured: no term
    b = NetworkBuilder("held", (16, 64, 64))
    x = b.add("conv2d", b.input, "conv", out_channels=64, kernel=3, padding=1)
    x = b.add("relu", x, "relu", inplace=True)  # writes over the conv's output: nothing new
    x = b.add("sigmoid", x, "sig")
    x = b.add("flatten", x, "flat")  # a view
    b.add("linear", x, "fc", out_features=10)
    net = b.build()
    est, ref = tm.estimate(net, batch=4, device=cold), tm.estimate(net, batch=4, device=dev)
    # held for the backward: the conv's output (the in-place ReLU saves it), the sigmoid's
    # (saved by the sigmoid and, through the view, by the linear layer); 4 MiB each. The
    # logits go to the loss and are freed before the backward starts: not held.
    want = {"conv": 4e-6, "relu": 0.0, "sig": 4e-6, "flat": 0.0, "fc": 0.0}
    for row, base in zip(est.layers, ref.layers, strict=True):
        assert row.cold_write_s == pytest.approx(want[row.name])
        assert row.forward_s - base.forward_s == pytest.approx(want[row.name])
        assert row.inference_s == base.inference_s  # inference reuses warm memory
        assert row.backward_s == base.backward_s
    assert est.to_dict()["cold_write_s"] == pytest.approx(sum(want.values()))
    # bf16 activations under amp: the conv's output is half the bytes
    half = tm.estimate(net, batch=4, device=cold, amp="bf16").layers[0]
    assert half.cold_write_s == pytest.approx(2e-6)
    # a layer off the gradient path holds nothing for a backward: a frozen stem
    b = NetworkBuilder("frozen", (16, 64, 64))
    y = b.add("sigmoid", b.input, "sig")  # input needs no gradient; nothing saves for it
    b.add("flatten", y, "flat")
    assert tm.estimate(b.build(), batch=4, device=cold).cold_write_s == 0.0
    # a CUDA profile has no such term
    gpu = replace(cold, profile=replace(cold.profile, backend="cuda"))
    assert tm.Rates(gpu, "fp32").cold_write(2.0**22) == 0.0
    assert tm.estimate(net, batch=4, device=gpu).cold_write_s == 0.0


def test_fresh_pages_of_an_output_are_not_also_written_cold():
    # The conv's output is held (the batch norm saves it). At batch 64 (51 MB, above glibc's
    # largest mmap threshold) it is mapped afresh every step: the kernel hands its pages
    # over zeroed (cached), so no cold write. At batch 8 (6.4 MB) what the heap replay does
    # not find fresh of the output itself is written cold; the op's workspace faults do not
    # count (its op-level count holds them too).
    from netcost.cost.memory import allocation_log, output_storage
    from netcost.cost.pagefaults import replay

    b = NetworkBuilder("fresh", (64, 56, 56))
    x = b.add("conv2d", b.input, "conv", out_channels=64, kernel=3, padding=1)
    b.add("batch_norm2d", x, "bn")
    net = b.build()
    dev = _local({"conv3x3": ((1.0, 1.0, 1e11), (1e6, 1e4, 1e11))})
    curve = ((2.0**10, 2.0**10 * 1e-10), (2.0**30, 2.0**30 * 1e-10))  # 10 GB/s
    paged = replace(dev, profile=replace(dev.profile, cold_write=curve, fresh_page_s=1e-6))
    for batch in (64, 8):
        out_bytes = batch * 64 * 56 * 56 * 4
        steady = replay(allocation_log(net, batch=batch, training=True))
        pages = steady.per_storage[output_storage("conv")]
        assert steady.per_op["forward: conv"] > pages  # the workspace's faults besides
        conv = tm.estimate(net, batch=batch, device=paged).layers[0]
        cold = max(out_bytes - pages * 4096, 0)
        assert conv.cold_write_s == pytest.approx(cold * 1e-10)
        assert (cold == 0) == (batch == 64)


def test_report_names_the_cold_starts():
    from netcost.render.time import sections

    class Fake:
        batch = 1
        time = {"device": "local-cpu", "method": "calibrated", "iteration_s": 0.02,
                "inference_s": 0.01, "cold_start_s": 0.002, "layers": []}

    (section,) = sections(Fake())
    assert ("  cold starts (op state refetched)", "2.0 ms (20%)") in section.items
    assert "cold start (forward)" in section.notes[0]
    assert "cold writes" not in section.notes[0]
    Fake.time = {**Fake.time, "cold_write_s": 0.001}
    (section,) = sections(Fake())
    assert ("  cold writes (held outputs)", "1.0 ms (5%)") in section.items
    assert "cold writes (training forward)" in section.notes[0]


def test_a_gpu_report_says_whether_the_host_or_the_kernels_bound_the_iteration():
    from netcost.render.time import sections

    def side(batch: int) -> str:
        report = netcost.analyze("resnet18", batch=batch, device="h100")
        (section,) = sections(report)
        (value,) = [v for k, v in section.items if k == "  host dispatch / GPU kernels"]
        assert "overlap" in section.notes[-1]
        return value

    assert side(1).endswith("(launch-bound: the GPU waits on the host)")
    assert side(512).endswith("(kernel-bound: the host runs ahead)")


def test_the_optimizer_streams_its_tensors_from_memory_even_when_they_fit_a_cache():
    # in place: 10 GB/s up to 1 MB (cached), 1 GB/s from 1 GB (memory)
    dev = _local({"gemm": ((1.0, 1.0, 1e11),)})
    dev = replace(dev, profile=replace(dev.profile, optimizer_overhead_s=0.0,
                                       elementwise_inplace=((1e6, 1e10), (1e9, 1e9))))
    rates = tm.Rates(dev, "fp32")
    # momentum: 8 passes of 4-byte numbers in 3 kernels; 1.2 GB, then 1.2 MB: after a
    # forward and a backward, even a small model's parameters come from memory
    for params in (3 * 10**8 // 8, 3 * 10**5 // 8):
        got = tm.optimizer_time(params, 1000, rates, "momentum", 4.0)
        assert got == pytest.approx(32 * params / 1e9 + 3 * rates.overhead)


def test_autograds_copy_before_an_in_place_relu6_costs_nothing_in_inference():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                torch.nn.ReLU6(inplace=True))
    net = netcost.load(model, input_shape=(1, 3, 16, 16))
    # traced with gradients on: autograd clones the batch norm's output for hardtanh_'s
    # backward; under no_grad (inference) eager PyTorch makes no such copy
    assert [layer.kind for layer in net.layers][-2:] == ["clone", "relu6"]
    assert tm.autograd_copies(net) == {net.layers[-2].name}
    clone = tm.estimate(net, batch=4, device=DEV).layers[-2]
    assert clone.inference_s == 0.0 and clone.dispatch_inference_s == 0.0
    assert clone.forward_s > 0.0  # a training forward does copy


def test_a_catalogue_gpu_charges_the_kernel_floor_only_where_a_kernel_runs():
    b = NetworkBuilder("residual", (64,))
    x = b.add("linear", b.input, "fc", out_features=64)
    b.add("add", [x, b.input], "sum")
    fc, add = tm.estimate(b.build(), batch=1, device=DEV, input_requires_grad=True).layers
    # the add hands its gradient on to both inputs: its backward is its dispatch alone
    assert add.backward_s == pytest.approx(add.dispatch_bwd_s) == 60e-6
    # the linear's backward runs kernels: the floor, on top of its work and dispatch
    assert fc.backward_s - fc.dispatch_bwd_s >= tm.CATALOGUE_KERNEL_FLOOR_S


def test_an_older_cuda_profile_without_measured_dispatch_keeps_summing():
    est = tm.estimate(mlp(), batch=1, device=_local_cuda())  # no dispatch_s
    # its rates were timed synchronised, net of the dispatch: the sum, as before
    assert not est.pipelined
    assert est.forward_s == pytest.approx(sum(r.forward_s for r in est.layers))


@pytest.mark.parametrize("kind", ["cpu", "gpu"])
def test_every_class_starts_up_alike_and_then_runs_at_its_ceiling(kind):
    fit, peak, flops = tm.CATALOGUE_FIT[kind], 1e12, 2e6
    for cls, top in (("conv3x3", fit.compute), ("depthwise", fit.depthwise)):
        t = flops / (peak * tm.catalogue_efficiency(flops, peak, cls, fit))
        assert t == pytest.approx(flops / (top * peak) + fit.half_work_s / fit.compute)

"""Device catalogue, user devices, malformed files, nearest names, the calibration profile
(atomic save, Ctrl-C) and a calibrate smoke test into a temporary NETCOST_CACHE_DIR."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from cli_helpers import run

from netcost.errors import NetcostError, UnknownDevice
from netcost.hardware import calibrate, catalogue, profile
from netcost.hardware.catalogue import DeviceFileError, get_device, parse

GOOD = """\
[devices.my-gpu]
name = "My GPU"
kind = "gpu"
memory = "24 GiB"
bandwidth_gbs = 1000
source = "my datasheet"
[devices.my-gpu.peak_tflops]
fp32 = 50
bf16 = 200
"""


# --- the shipped catalogue ------------------------------------------------------------------


REQUIRED = ["k80", "p100", "v100", "t4", "a10", "a100-40gb", "a100-80gb", "l4", "l40s",
            "h100-sxm", "h100-pcie", "h200", "b200", "rtx2080ti", "rtx3060", "rtx3090",
            "rtx4090", "rtx5090"]


def test_catalogue_has_the_devices_the_issue_names_and_a_source_for_every_figure():
    devices = catalogue.load(include_local=False)
    assert len(devices) >= 20
    assert set(REQUIRED) <= set(devices)
    kinds = {d.kind for d in devices.values()}
    assert {"gpu", "cpu", "soc"} <= kinds  # datacentre/consumer GPUs, CPUs, Apple silicon
    for d in devices.values():
        figures = ["memory", "bandwidth_gbs", *(f"peak_tflops.{p}" for p in d.peak_flops)]
        for fig in figures:
            assert d.source(fig).strip(), (d.key, fig)
        assert d.memory_bytes > 0 and d.bandwidth > 0 and d.peak_flops["fp32"] > 0


def test_catalogue_figures_are_the_dense_datasheet_ones():
    a100 = get_device("a100-40gb")
    # A100 datasheet: FP32 19.5 TFLOPS, BF16 tensor 312 TFLOPS dense (624 with sparsity),
    # 1,555 GB/s, 40 GB (= 40 GiB of HBM2)
    assert a100.peak_flops["fp32"] == 19.5e12
    assert a100.peak("bf16") == 312e12
    assert a100.bandwidth == 1555e9
    assert a100.memory_bytes == 40 * 2**30
    # H100 SXM: the datasheet prints BF16 1,979 TFLOPS with sparsity; dense is half
    assert get_device("h100").peak("bf16") == 1979e12 / 2
    # a precision the device lists no figure for runs at the fp32 rate (K80: no fp16 units)
    assert get_device("k80").peak("fp16") == get_device("k80").peak("fp32")


@pytest.mark.parametrize("name,key", [("a100", "a100-40gb"), ("A100-80GB", "a100-80gb"),
                                      ("RTX 4090", "rtx4090"), ("rtx-4090", "rtx4090"),
                                      ("H100", "h100-sxm"), ("t4", "t4")])
def test_names_and_aliases(name, key):
    assert get_device(name).key == key


def test_unknown_device_names_the_nearest():
    with pytest.raises(UnknownDevice, match=r"unknown device 'a1000'; did you mean .*a100"):
        get_device("a1000")


def test_local_before_calibration_says_what_to_do():
    with pytest.raises(UnknownDevice, match="netcost calibrate"):
        get_device("local")


# --- malformed files: which field, which line --------------------------------------------------


@pytest.mark.parametrize("edit,match", [
    (("kind = \"gpu\"", "knd = \"gpu\""), r"line 3: \[devices.my-gpu\] knd is not a device field; did you mean 'kind'"),
    (("memory = \"24 GiB\"", "memory = \"lots\""), r"line 4: \[devices.my-gpu\] memory must be a size"),
    (("bandwidth_gbs = 1000", "bandwidth_gbs = -5"), r"line 5: \[devices.my-gpu\] bandwidth_gbs must be a positive number"),
    (("bf16 = 200", "bf17 = 200"), r"line 9: \[devices.my-gpu\] peak_tflops.bf17 is not a precision"),
    (("fp32 = 50", "fp32 = \"fast\""), r"line 8: \[devices.my-gpu\] peak_tflops.fp32 must be a positive number"),
    (("kind = \"gpu\"", "kind = \"tpu\""), r"line 3: \[devices.my-gpu\] kind must be one of gpu, cpu, soc"),
    (("source = \"my datasheet\"\n", ""), r"\[devices.my-gpu\] gives no source for memory"),
    (("name = \"My GPU\"\n", ""), r"\[devices.my-gpu\] has no 'name' field"),
    (("name = \"My GPU\"", "name = \"My GPU"), r"not valid TOML: .*line 2"),
])
def test_malformed_device_file_names_field_and_line(edit, match):
    with pytest.raises(DeviceFileError, match=match):
        parse(GOOD.replace(*edit), "my.toml")


def test_a_per_figure_source_is_enough():
    text = GOOD.replace('source = "my datasheet"\n', "") + (
        '[devices.my-gpu.sources]\nmemory = "a"\nbandwidth_gbs = "b"\n'
        '"peak_tflops.fp32" = "c"\n"peak_tflops.bf16" = "d"\n')
    dev = parse(text, "my.toml")["my-gpu"]
    assert dev.source("peak_tflops.bf16") == "d"


def test_user_devices_file_and_devices_file_option(tmp_path, monkeypatch):
    config = Path(os.environ["NETCOST_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "devices.toml").write_text(GOOD)
    dev = get_device("my-gpu")
    assert dev.memory_bytes == 24 * 2**30 and dev.peak("bf16") == 200e12
    extra = tmp_path / "more.toml"
    extra.write_text(GOOD.replace("my-gpu", "other-gpu"))
    assert get_device("other-gpu", devices_file=extra).bandwidth == 1000e9


def test_cli_devices_lists_and_bad_file_is_one_sentence(capsys, tmp_path):
    code, out, err = run(capsys, "devices", "--format", "json")
    assert code == 0 and "a100-40gb" in json.loads(out)
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("kind", "knd"))
    code, out, err = run(capsys, "devices", "--devices-file", str(bad))
    assert code == 2 and err.count("\n") == 1 and "knd is not a device field" in err


# --- the profile: interpolation, atomic save ----------------------------------------------------


def test_interpolate_is_linear_in_log_size_and_flat_beyond_the_ends():
    curve = [(1.0, 10.0), (100.0, 30.0)]
    # log(10) is halfway between log(1) and log(100): halfway between 10 and 30
    assert profile.interpolate(curve, 10.0) == pytest.approx(20.0)
    assert profile.interpolate(curve, 0.5) == 10.0 and profile.interpolate(curve, 1e6) == 30.0


def _tiny_profile(rate: float = 1e11) -> profile.Profile:
    pts = ((1.0, 1.0, rate), (1e6, 1e4, rate))
    backend = profile.Backend(
        backend="cpu", name="test cpu", threads=1, memory_bytes=8 * 2**30,
        compute={"fp32": {c: pts for c in ("gemm", "conv3x3", "conv3x3_bwd", "conv1x1",
                                           "conv1x1_bwd", "depthwise", "depthwise_bwd")}},
        elementwise=((1.0, 1e10), (1e9, 1e10)), stream={"copy": 1e10, "triad": 1e10},
        overhead_s=1e-6, overhead_bwd_s=2e-6, optimizer_overhead_s=1e-7)
    return profile.Profile(created="2026-01-01T00:00:00+00:00", torch="test",
                           backends={"cpu": backend})


def test_profile_round_trip_becomes_device_local():
    path = profile.save_profile(_tiny_profile())
    assert path.parent == Path(os.environ["NETCOST_CACHE_DIR"])
    local = get_device("local")
    assert local.key == "local" and local.peak("fp32") == 1e11 and local.bandwidth == 1e10
    assert get_device("local-cpu").profile.overhead_s == 1e-6


def test_a_cuda_profile_keeps_its_in_network_dispatch_and_calibrate_prints_it(
        capsys, monkeypatch):
    pytest.importorskip("torch")
    from dataclasses import replace

    from netcost.hardware import calibrate

    tiny = _tiny_profile()
    cuda = replace(tiny.backends["cpu"], backend="cuda", name="test gpu",
                   dispatch_s={"conv": 30e-6, "train:conv": 50e-6, "batch_norm": 20e-6,
                               "backward": 60e-6})
    gpu = profile.Profile(created=tiny.created, torch="test", backends={"cuda": cuda})
    profile.save_profile(gpu)
    assert profile.load_profile().backends["cuda"].dispatch_s == cuda.dispatch_s
    monkeypatch.setattr(calibrate, "calibrate", lambda **kwargs: gpu)
    code, out, err = run(capsys, "calibrate", "--budget", "1")
    assert code == 0, err
    assert ("host dispatch in a network: convolution 30 us (training forward 50 us), "
            "batch norm 20 us, backward 60 us per op") in out


def test_interrupted_save_leaves_the_old_profile(monkeypatch):
    path = profile.save_profile(_tiny_profile(1e11))
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(profile.json, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        profile.save_profile(_tiny_profile(5e11))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_damaged_profile_is_one_clear_error():
    path = profile.profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(NetcostError, match="run `netcost calibrate` again"):
        get_device("local")


# --- calibrate: smoke test on a tiny grid -------------------------------------------------


@pytest.fixture
def tiny_grid(monkeypatch):
    torch = pytest.importorskip("torch")
    from netcost.hardware import calibrate

    threads = torch.get_num_threads()  # calibrate --threads sets them process-wide
    yield_ = _tiny_grid(calibrate, monkeypatch)
    yield yield_
    torch.set_num_threads(threads)


def _tiny_grid(calibrate, monkeypatch):
    monkeypatch.setattr(calibrate, "PIXELS", (49, 196))
    monkeypatch.setattr(calibrate, "CHANNELS", {"conv3x3": (16,), "conv1x1": (32,),
                                                "depthwise": (32,)})
    monkeypatch.setattr(calibrate, "GEMM_ROWS", (1, 8))
    monkeypatch.setattr(calibrate, "GEMM_WIDTH", (64,))
    monkeypatch.setattr(calibrate, "GEMM_STREAM_WIDTH", 128)
    monkeypatch.setattr(calibrate, "GEMM_STREAM_BYTES", 2**20)
    monkeypatch.setattr(calibrate, "STEM_CHANNELS", (8,))
    monkeypatch.setattr(calibrate, "STEM_PIXELS", (49, 196))
    monkeypatch.setattr(calibrate, "COLD_SPAN", 8 * calibrate.COLD_CHUNK)  # 32 MiB, not 256
    monkeypatch.setattr(calibrate, "ELEMENTWISE_NUMEL", (1024, 4096))
    monkeypatch.setattr(calibrate, "POINTWISE_SIZES", ((1, 8, 7), (1, 8, 14)))
    monkeypatch.setattr(calibrate, "ROTATION_BYTES", 2**20)
    return calibrate


def test_calibrate_smoke_saves_a_usable_profile(tiny_grid, capsys):
    code, out, err = run(capsys, "calibrate", "--budget", "60", "--threads", "1", "--cpu-only")
    assert code == 0, err
    assert "saved" in out and "local-cpu" in out
    saved = profile.load_profile()
    cpu = saved.backends["cpu"]
    # 2 pixel counts x 1 channel count per conv class, forward and backward surfaces
    assert len(cpu.compute["fp32"]["conv3x3"]) == 2 and len(cpu.compute["fp32"]["depthwise_bwd"]) == 2
    # stems: 2 kernels (3x3/1, 7x7/2) x 2 pixel counts; weight gradient only
    assert len(cpu.compute["fp32"]["stem"]) == 4 and len(cpu.compute["fp32"]["stem_bwd"]) == 4
    # 2 rows x 1 width, and the streamed width at both (few) rows
    assert len(cpu.compute["fp32"]["gemm"]) == 4 and len(cpu.elementwise) == 2
    assert {(m, n) for m, n, _ in cpu.compute["fp32"]["gemm"]} == {(1, 64), (8, 64),
                                                                    (1, 128), (8, 128)}
    assert all(v > 0 for pts in cpu.compute["fp32"].values() for *_, v in pts)
    assert cpu.overhead_s > 0 and cpu.stream["triad"] > 0 and cpu.stream["cold_read"] > 0
    assert cpu.bandwidth() == max(cpu.stream["copy"], cpu.stream["triad"])  # cold: no roof
    assert cpu.fresh_page_s > 0  # a fresh page costs a fault: microseconds, never nothing
    assert set(cpu.cold_start_s) == {"conv", "gemm", "other", *calibrate.POINTWISE}
    assert all(v >= 0 for v in cpu.cold_start_s.values())
    # a cold write per calibrated output size, never negative (a noisy minute can read
    # nothing), kept through the profile's round trip; a profile saved before it had the
    # field loads without the term
    assert [n for n, _ in cpu.cold_write] == list(calibrate.COLD_WRITE_BYTES)
    assert all(s >= 0 for _, s in cpu.cold_write)
    assert profile.Backend.from_dict(cpu.to_dict()).cold_write == cpu.cold_write
    older = {k: v for k, v in cpu.to_dict().items() if k != "cold_write"}
    assert profile.Backend.from_dict(older).cold_write == ()
    import netcost

    report = netcost.analyze("resnet18")  # calibrated: the time section appears by default
    assert report.time["device"] == "local" and report.time["iteration_s"] > 0


def test_interrupted_calibrate_keeps_the_old_profile(tiny_grid, monkeypatch):
    path = profile.save_profile(_tiny_profile())
    before = path.read_bytes()
    calls = []

    def progress(label, done, total):
        calls.append(label)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the measurements

    with pytest.raises(KeyboardInterrupt):
        tiny_grid.calibrate(budget_s=0.2, backends=("cpu",), threads=1, progress=progress)
    assert path.read_bytes() == before


def test_calibrate_bad_budget_is_exit_2(capsys):
    code, _, err = run(capsys, "calibrate", "--budget", "0")
    assert code == 2 and "--budget must be a positive number" in err


def test_peak_of_profile_is_its_best_measured_rate():
    prof = _tiny_profile(3e10)
    assert math.isclose(prof.device().peak("fp32"), 3e10)


def test_monotone_surface_discards_contention_dips():
    from netcost.hardware.calibrate import monotone

    # row y=64: 10, then a dip to 2 (another process ran), then 30 -> 10, 10, 30
    pts = [[49, 64, 10.0], [196, 64, 2.0], [784, 64, 30.0], [49, 16, 5.0]]
    assert monotone(pts) == ((49, 16, 5.0), (49, 64, 10.0), (196, 64, 10.0), (784, 64, 30.0))


def test_calibrate_past_its_budget_skips_all_but_the_indispensable(tiny_grid):
    prof = tiny_grid.calibrate(budget_s=1e-6, backends=("cpu",), threads=1, save=False)
    cpu = prof.backends["cpu"]
    # overhead, memory, optimizer and GEMM always run; convolutions and op classes do not
    assert cpu.compute["fp32"]["gemm"] and cpu.elementwise and cpu.overhead_s > 0
    assert "conv3x3" not in cpu.compute["fp32"] and not cpu.pointwise
    assert cpu.extra["skipped"]


def test_stem_grid_points_are_read_back_at_the_same_features():
    from netcost.cost.time import shape_features
    from netcost.hardware import calibrate
    from netcost.ir import NetworkBuilder

    # batch 1 up to a 224x224 output map: inference on an image; batch 8 beyond
    assert calibrate.conv_shape("stem", 50176, 64) == (1, 3, 224, 64, 1)
    assert calibrate.conv_shape("stem", 401408, 64) == (8, 3, 224, 64, 1)
    assert calibrate.conv_shape("stem", 12544, 64, backward=True) == (8, 3, 40, 64, 1)
    assert calibrate.conv_macs("stem", 12544, 64, kernel=7) == 12544 * 64 * 3 * 49
    assert ("stem", 64, 50176, 3, 1) in set(calibrate.conv_grid())
    assert ("stem", 64, 12544, 7, 2) in set(calibrate.conv_grid())
    b = NetworkBuilder("stems", (3, 224, 224))
    b.add("conv2d", b.input, "k3", out_channels=64, kernel=3, padding=1)
    b.add("conv2d", b.input, "k7", out_channels=64, kernel=7, stride=2, padding=3)
    k3, k7 = b.build().layers
    # what the time model reads a stem at is where calibrate put the point it measured
    assert shape_features(k3, 1) == ("stem", 50176, pytest.approx(
        calibrate.conv_feature("stem", 3, 64, 3)))
    assert shape_features(k7, 1) == ("stem", 12544, pytest.approx(
        calibrate.conv_feature("stem", 3, 64, 7)))


def test_gemm_weights_at_few_rows_rotate_over_the_stream_bytes(tiny_grid, monkeypatch):
    import torch

    used: dict[int, set[int]] = {}

    def mm(a, w):
        used.setdefault(a.shape[0], set()).add(w.data_ptr())

    def timer(fn, seconds):
        for _ in range(40):
            fn()
        return 1e-3

    monkeypatch.setattr(torch, "mm", mm)
    monkeypatch.setattr(tiny_grid, "GEMM_ROWS", (1, 64))
    monkeypatch.setattr(tiny_grid, "GEMM_STREAM_ROWS", (1,))
    out: dict[str, list] = {}
    tasks = tiny_grid._gemm_tasks(torch, "cpu", "fp32", timer, out, [0.0, 0.0])
    for task in tasks:
        if task.label.endswith("64x64"):
            task.run(0.01)
    # at 1 row, 64x64 weights (16 KiB) cycle over the 1 MiB buffer: 40 calls, 40 weights;
    # at 64 rows the product is compute-bound: one cached weight
    assert len(used[1]) == 40 and len(used[64]) == 1


def test_a_backward_timed_below_its_forward_is_floored_not_infinite(tiny_grid, monkeypatch):
    import torch

    monkeypatch.setattr(tiny_grid, "CHANNELS", {"conv3x3": (16,)})
    monkeypatch.setattr(tiny_grid, "PIXELS", (196,))
    monkeypatch.setattr(tiny_grid, "STEM_PIXELS", ())
    times = iter([2e-3, 2e-3, 1e-3])  # forward, forward at batch 8, forward + backward

    def timer(fn, seconds):
        fn()
        return next(times)

    out: dict[str, list] = {}
    for task in tiny_grid._conv_tasks(torch, "cpu", "fp32", timer, out, [0.0, 0.0]):
        task.run(0.01)
    macs = tiny_grid.conv_macs("conv3x3", 196, 16, backward=True)
    # another process stalled the forward: the backward counts as a tenth of it
    assert out["conv3x3_bwd"][0][2] == pytest.approx(4 * macs / 2e-4)


def test_timer_after_times_only_the_op_on_what_its_producer_returns(monkeypatch):
    torch = pytest.importorskip("torch")
    from netcost.hardware import calibrate

    clock = iter(range(10_000))
    monkeypatch.setattr(calibrate.time, "perf_counter", lambda: float(next(clock)))
    made, seen = [], []

    def producer():  # untimed: reads no clock
        made.append(len(made))
        return made[-1]

    def op(x):  # timed: one tick of the fake clock passes between begin and end
        seen.append(x)

    t = calibrate.Timer(torch, "cpu")(op, 1.0, min_reps=5, max_reps=5, after=producer)
    assert t == 1.0
    assert seen == made  # each call got the producer's own result


def test_timer_takes_each_calls_page_faults_off_once_their_cost_is_known(monkeypatch):
    torch = pytest.importorskip("torch")
    from netcost.hardware import calibrate

    now, faults = [0.0], [0]
    monkeypatch.setattr(calibrate.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(calibrate, "_minor_faults", lambda: faults[0])

    def op():  # 100 us a call, 20 of them faulting a fresh page
        now[0] += 100e-6
        faults[0] += 20

    fresh_page = [0.0]
    timer = calibrate.Timer(torch, "cpu", fresh_page)
    assert timer(op, 0.01) == pytest.approx(100e-6)  # the page's cost not measured yet
    fresh_page[0] = 2e-6
    assert timer(op, 0.01) == pytest.approx(100e-6 - 20 * 2e-6)
    assert calibrate.Timer(torch, "cuda", fresh_page).fresh_page is None  # CPU only

    def tiny():  # below FAULT_COUNT_MIN_S: not worth two system calls a call
        now[0] += 10e-6
        faults[0] += 1

    assert timer(tiny, 0.01) == pytest.approx(10e-6)


def fake_cuda(now: list[float], gpu: list[float], log: dict[str, list]):
    """A stand-in for torch with CUDA: synchronize, _sleep and timing events, over a fake
    GPU clock that the timed op advances."""
    from types import SimpleNamespace

    class Event:
        def __init__(self, enable_timing: bool = False):
            self.at = 0.0

        def record(self) -> None:
            self.at = gpu[0]

        def elapsed_time(self, other: Event) -> float:
            return (other.at - self.at) * 1e3  # milliseconds

    return SimpleNamespace(cuda=SimpleNamespace(
        synchronize=lambda: log["sync"].append(1), _sleep=log["sleep"].append, Event=Event))


def test_cuda_timer_throughput_issues_calls_back_to_back_and_synchronises_per_batch(
        monkeypatch):
    from netcost.hardware import calibrate

    now, gpu, log = [0.0], [0.0], {"sync": [], "sleep": []}
    monkeypatch.setattr(calibrate.time, "perf_counter", lambda: now[0])
    calls = []

    def op():  # 10 us a call
        calls.append(1)
        now[0] += 10e-6

    t = calibrate.Timer(fake_cuda(now, gpu, log), "cuda").throughput(op, 0.01)
    assert t == pytest.approx(10e-6)
    # 0.01 s over 5 batches of 10 us calls: 200 calls a batch, each batch synchronised
    # before and after, plus the setup and the first estimate's two batches
    assert len(calls) == 2 + 3 + 5 * 200
    assert len(log["sync"]) == 2 * (2 + 5)


def test_cuda_timer_times_the_kernels_alone_behind_a_sleeping_stream(monkeypatch):
    from netcost.hardware import calibrate

    now, gpu, log = [0.0], [0.0], {"sync": [], "sleep": []}
    monkeypatch.setattr(calibrate.time, "perf_counter", lambda: now[0])
    seen, made = [], []

    def op(x):  # 30 us of dispatch on the CPU, 10 us of kernels on the GPU
        seen.append(x)
        now[0] += 30e-6
        gpu[0] += 10e-6

    t = calibrate.Timer(fake_cuda(now, gpu, log), "cuda")(
        op, 0.03, after=lambda: made.append(1) or "input")
    assert t == pytest.approx(10e-6)  # the kernels, not the 30 us the CPU takes
    assert made == [1] and set(seen) == {"input"}  # the producer ran once, untimed
    # each of the 3 repeats held the stream longer than queuing its calls takes
    assert len(log["sleep"]) == 3 and min(log["sleep"]) > 2e9 * 30e-6


def test_dispatch_in_a_network_per_group_forward_training_and_backward(monkeypatch):
    torch = pytest.importorskip("torch")
    from netcost.hardware import calibrate

    chain = calibrate._cold_start_chain
    monkeypatch.setattr(calibrate, "_cold_start_chain", lambda t, device="cpu": chain(t))
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)  # the chain runs on the CPU
    result: dict[str, float] = {}
    calibrate._dispatch_task(torch, result).run(0.01)
    groups = {"conv", "batch_norm", "relu", "max_pool", "add", "cat", "avg_pool", "other",
              "gemm"}
    assert set(result) == groups | {f"train:{g}" for g in groups} | {"backward"}
    assert all(v > 0 for v in result.values())


def test_group_times_are_each_ops_lower_quartile_averaged_over_the_group():
    from netcost.hardware import calibrate

    ops = [("conv", None), ("conv", None), ("relu", None)]
    times = [[1.0, 2.0, 9.0, 9.0], [3.0, 4.0, 9.0, 9.0], [5.0, 5.0, 5.0, 50.0]]
    # lower halves' medians: 1.5 and 3.5 (conv, mean 2.5), 5.0 (relu)
    assert calibrate._group_medians(ops, times) == {"conv": 2.5, "relu": 5.0}

"""cost.memory: inference and training peaks derived by hand on small networks, optimizer
state, mixed precision, liveness, the batch search, and `netcost fit` on bad input."""

from __future__ import annotations

import pytest

from netcost.cli import main
from netcost.cost.memory import estimate, largest_batch
from netcost.errors import InvalidArgument
from netcost.ir import NetworkBuilder


def mlp():
    """8 -> linear 4 -> relu -> linear 2 (classes), fp32 unless said."""
    b = NetworkBuilder("mlp", (8,))
    h = b.add("linear", b.input, "fc1", out_features=4)
    r = b.add("relu", h, "relu")
    b.add("linear", r, "fc2", out_features=2)
    return b.build()


def test_mlp_training_peak_term_by_term():
    # batch 2, fp32 (4 B), SGD with momentum.
    # weights (8+1)·4 + (4+1)·2 = 46 params = 184 B; momentum buffers 184 B;
    # inputs 2·8·4 = 64 B + int64 labels 2·8 = 16 B -> 80 B. Persistent: 448 B.
    # forward keeps relu's output t2 (2·4·4 = 32 B, saved by relu and fc2) and fc2's
    # output (16 B); fc1's output is freed once relu has run.
    # backward, in reverse: fc2 makes relu's gradient (32 B) and its weight gradient
    # (10·4 = 40 B); relu makes fc1's output gradient (32 B) and releases t2; fc1 makes
    # its weight gradient (36·4 = 144 B) while its output gradient (32 B) is in flight:
    # 448 + 40 + 144 + 32 = 664 B, the peak.
    e = estimate(mlp(), batch=2, optimizer="momentum")
    assert e.training.peak_bytes == 664
    assert e.training.at == "backward: fc1"
    assert e.training.terms == {"weights": 184, "buffers": 0, "gradients": 184,
                                "optimizer_state": 184, "inputs": 80, "activations": 0,
                                "transient": 32}
    # Forward peak at the loss: 448 + t2 32 + logits 16 + log-softmax 16 + loss 8 = 520.
    # Step: 448 + all gradients 184 = 632 (SGD updates in place).
    assert e.phases == {"forward": 520, "backward": 664, "step": 632}
    assert e.after_forward == 32 + 16  # t2 and the log-softmax output


def test_mlp_inference_peak():
    # weights 184 + input 64 (no labels) = 248; at relu both fc1's output and relu's
    # output are alive (2·32 B): 312 B, the peak; fc2 then holds 32 + 16.
    e = estimate(mlp(), batch=2)
    assert e.inference.peak_bytes == 312
    assert e.inference.at == "forward: relu"
    assert e.inference.terms == {"weights": 184, "buffers": 0, "inputs": 64,
                                 "activations": 64, "transient": 0}


def test_optimizer_state_and_step_temporaries():
    net = mlp()
    sgd = estimate(net, batch=2, optimizer="sgd")
    adam = estimate(net, batch=2, optimizer="adam")
    adamw = estimate(net, batch=2, optimizer="adamw")
    assert sgd.training.terms["optimizer_state"] == 0
    # Adam: two moments (2·184 B) and a float32 step per parameter tensor (4 tensors).
    assert adam.training.terms["optimizer_state"] == 2 * 184 + 4 * 4 == 384
    # SGD without state: persistent 264, backward peak 264 + 40 + 144 + 32 = 480.
    assert sgd.training.peak_bytes == 480
    # Adam's foreach step builds sqrt(v) for every parameter (184 B) while all gradients
    # (184 B) are alive: 184 + 384 + 80 + 184 + 184 = 1016 B, above its backward peak
    # (648 + 216 = 864 B).
    assert adam.training.peak_bytes == 1016 and adam.training.at == "optimizer step"
    assert adam.phases["backward"] == 864
    assert adamw.training.peak_bytes == adam.training.peak_bytes


def test_amp_half_activations_fp32_master_weights():
    # One linear 8 -> 4, batch 2, autocast fp16, plain SGD.
    # weights fp32 (9·4 = 36 params) 144 B, inputs 64 + labels 16 = 80 B: 224 B persistent.
    # forward: half output 2·4·2 = 16 B, the cached half weights 36·2 = 72 B and the half
    # copy of the fp32 input 2·8·2 = 32 B (both saved for backward); the loss runs in fp32:
    # log-softmax 2·4·4 = 32 B + 8 B -> 224 + 16 + 72 + 32 + 40 = 384 B.
    # backward: fp32 weight gradient 144 B and its half twin 72 B while the output
    # gradient (16 B) and both copies are alive: 224 + 144 + 72 + 16 + 104 = 560 B.
    b = NetworkBuilder("fc", (8,))
    b.add("linear", b.input, "fc", out_features=4)
    e = estimate(b.build(), batch=2, optimizer="sgd", amp="fp16")
    assert e.phases["forward"] == 384
    assert e.training.peak_bytes == 560
    assert e.training.terms == {"weights": 144, "buffers": 0, "gradients": 144,
                                "optimizer_state": 0, "inputs": 80, "activations": 104,
                                "transient": 88}
    fp32 = estimate(b.build(), batch=2, optimizer="sgd")
    assert fp32.training.terms["weights"] == e.training.terms["weights"]  # master weights


def residual():
    """input 2x4x4 -> stem conv s -> conv a -> relu b -> conv c -> add(c, s) -> relu e;
    3×3 convs, 2 channels, no bias: 36 params each; every tensor 32 numbers."""
    n = NetworkBuilder("res", (2, 4, 4))
    s = n.add("conv2d", n.input, "s", out_channels=2, kernel=3, padding=1, bias=False)
    a = n.add("conv2d", s, "a", out_channels=2, kernel=3, padding=1, bias=False)
    r = n.add("relu", a, "b")
    c = n.add("conv2d", r, "c", out_channels=2, kernel=3, padding=1, bias=False)
    d = n.add("add", [c, s], "d")
    n.add("relu", d, "e")
    return n.build()


def test_liveness_keeps_the_skip_connection_alive():
    # batch 1, fp32, no kernel temporaries (backend cuda): tensors are 128 B each.
    # weights 3·36·4 = 432 B, input 128 B. The stem output s lives until the add:
    # at b: s, a, b (384 B); at c: s, b, c; at d: s, c, d. Peak 432 + 128 + 384 = 944 B,
    # first reached at b.
    e = estimate(residual(), batch=1, backend="cuda")
    assert e.inference.peak_bytes == 944
    assert e.inference.at == "forward: b"
    assert e.inference.terms["activations"] == 384


def test_oneDNN_convolution_temporaries():
    # backend cpu models oneDNN's conv forward temporary max(O', I + W), O' the output
    # with its channels padded to 16: O' = 128·16/2 = 1024, I + W = 128 + 36·4 = 272.
    # At conv c, s, b and c are alive (as above) plus 1024 B: 432 + 128 + 384 + 1024
    # = 1968 B (at s only 432 + 128 + 128 + 1024 = 1712).
    e = estimate(residual(), batch=1, backend="cpu")
    assert e.inference.peak_bytes == 1968 and e.inference.at == "forward: c"
    assert e.inference.terms["transient"] == 1024


def test_training_terms_sum_and_grow_with_batch():
    net = residual()
    peaks = [estimate(net, batch=b).training for b in (1, 2, 4, 8)]
    for p in peaks:
        assert sum(p.terms.values()) == p.peak_bytes
    assert [p.peak_bytes for p in peaks] == sorted(p.peak_bytes for p in peaks)


def test_largest_batch_is_the_last_that_fits():
    net = mlp()
    peak = {b: estimate(net, batch=b).training.peak_bytes for b in range(1, 40)}
    budget = peak[23]
    fit = largest_batch(net, budget)
    assert fit.max_batch == 23 and fit.peak.peak_bytes == budget
    assert largest_batch(net, budget - 1).max_batch == 22
    # 664 B is the peak at batch 2 (test above): batch 2 fits, 3 does not.
    assert largest_batch(net, 664).max_batch == 2
    nothing = largest_batch(net, 100)
    assert nothing.max_batch == 0
    # weights, all gradients and the momentum buffers: 3·184 B
    assert nothing.fixed_bytes == 3 * 184


def test_bad_arguments():
    with pytest.raises(InvalidArgument, match="unknown optimizer 'rmsprop'"):
        estimate(mlp(), batch=1, optimizer="rmsprop")
    with pytest.raises(InvalidArgument, match="fp16 or bf16"):
        estimate(mlp(), batch=1, amp="fp8")
    with pytest.raises(InvalidArgument, match="positive"):
        estimate(mlp(), batch=0)


def test_report_json_has_the_memory_section(capsys):
    with pytest.raises(SystemExit):
        main(["report", "resnet18", "--format", "json", "--batch", "2", "--optimizer", "adam"])
    import json

    d = json.loads(capsys.readouterr().out)["memory"]
    assert d["optimizer"] == "adam" and d["amp"] is None
    for phase in ("inference", "training"):
        assert sum(d[phase]["terms"].values()) == d[phase]["peak_bytes"]
        assert all(isinstance(v, int) for v in d[phase]["terms"].values())
    # resnet18: 11,689,512 params -> 46,758,048 B of weights and of each Adam moment
    assert d["training"]["terms"]["weights"] == 46_758_048
    assert d["training"]["terms"]["optimizer_state"] == 2 * 46_758_048 + 4 * 62
    assert d["lecture"]["bytes"] == 4 * d["lecture"]["numbers"]


def fit_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(["fit", *args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_fit_prints_batches_and_what_fills_memory(capsys):
    code, out, err = fit_cli(capsys, "resnet18", "--memory", "2GiB")
    assert code == 0 and err == ""
    assert "training: largest batch" in out and "inference: largest batch" in out
    assert "activations kept" in out and "weights" in out


@pytest.mark.parametrize("args, message", [
    (("resnet18", "--memory", "24XB"), "cannot read memory size '24XB'"),
    (("resnet18", "--device", "a1000"), "unknown device 'a1000'"),
    (("resnet18", "--memory", "1GiB", "--optimizer", "rmsprop"), "unknown optimizer"),
    (("resnet18",), "exactly one of --device"),
    (("vgg16", "--memory", "100MiB"),
     "vgg16 cannot run inference in 100.00 MiB even at batch 1: the weights (527.79 MiB) "
     "alone take 527.79 MiB"),
])
def test_fit_bad_input_is_one_sentence_exit_2(capsys, args, message):
    code, out, err = fit_cli(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_fit_training_alone_too_big_says_what(capsys):
    # vgg16 in 1 GiB: inference fits, training cannot: weights, gradients and momentum
    # buffers (3·527.79 MiB) alone exceed it.
    code, out, _ = fit_cli(capsys, "vgg16", "--memory", "1GiB")
    assert code == 0
    assert "training: does not fit" in out and "alone take 1.55 GiB" in out
    assert "inference: largest batch" in out


def test_residual_backward_shares_and_sums_gradients_in_place():
    # input 4 -> s = linear 4->4 -> a = linear 4->4 -> d = add(a, s); batch 1, plain SGD,
    # backend cuda (no kernel temporaries); every activation 4·4 = 16 B.
    # Persistent: weights 2·20·4 = 160 B, input 16 B + label 8 B: 184 B.
    # Forward: s, a, d (232 B); a is freed after the add, s is kept for a's backward;
    # loss: log-softmax 16 B + 8 B -> 240 B, the forward peak.
    # Backward: the add hands its gradient g (16 B) to a and to s without a copy; a makes
    # s's gradient (16 B) and its weight gradient (80 B): 184 + s 16 + g 16 + 16 + 80
    # = 312 B; then the engine sums the new gradient into g in place (it holds the only
    # reference) instead of allocating a third; s makes its weight gradient (80 B) while g
    # is alive: 184 + 160 + 16 = 360 B, the peak.
    n = NetworkBuilder("skip", (4,))
    s = n.add("linear", n.input, "s", out_features=4)
    a = n.add("linear", s, "a", out_features=4)
    n.add("add", [a, s], "d")
    e = estimate(n.build(), batch=1, optimizer="sgd", backend="cuda")
    assert e.phases == {"forward": 240, "backward": 360, "step": 344}
    assert e.training.at == "backward: s"
    assert e.training.terms == {"weights": 160, "buffers": 0, "gradients": 160,
                                "optimizer_state": 0, "inputs": 24, "activations": 0,
                                "transient": 16}
    assert e.after_forward == 32  # s and the log-softmax output

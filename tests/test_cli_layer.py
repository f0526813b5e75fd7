"""`netcost layer ...` through netcost.cli.main: the lecture's numbers, json records equal to a
report's, and one-sentence errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_helpers import run as run_netcost
from cli_helpers import run_fresh

from netcost.cost.counts import count
from netcost.ir import NetworkBuilder


def run(capsys, *args):
    return run_netcost(capsys, "layer", *args)


def record(capsys, *args):
    code, out, err = run(capsys, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_fc_table_has_the_lectures_numbers(capsys):
    code, out, _ = run(capsys, "fc", "--in", "4096", "--out", "1000")
    assert code == 0
    for figure in ("4,097,000",  # params (n+1)·k
                   "16,388,000",  # fp32 storage: 4 bytes per number
                   "8,192,000",  # lecture ops 2·n·k
                   "4,096,000",  # MACs n·k
                   "8,204,192"):  # operational space 2·(n+1)·k + 2·n + 2·k
        assert figure in out
    assert "lecture" in out


def test_fc_batch_space_and_precision(capsys):
    # batch 32: weights once + 32·(weight gradients 4,097,000 + 2·4096 + 2·1000)
    # = 4,097,000 + 32·4,107,192 = 135,527,144; fp16 storage 2·4,097,000 = 8,194,000
    code, out, _ = run(capsys, "fc", "--in", "4096", "--out", "1000", "--batch", "32",
                       "--precision", "fp16")
    assert code == 0
    assert "135,527,144" in out
    assert "8,194,000" in out
    assert "batch of 32" in out


def test_fc_explain_substitutes_the_numbers(capsys):
    code, out, _ = run(capsys, "fc", "--in", "4096", "--out", "1000", "--explain")
    assert code == 0
    assert "ops (lecture) = 2·n·k = 2·4096·1000 = 8,192,000" in out
    assert "params = (n+1)·k = (4096+1)·1000 = 4,097,000" in out
    assert "storage (fp32, bytes) = params·bits/8 = 4,097,000·32/8 = 16,388,000" in out
    # backward: input gradient n·k + weight gradient n·k MACs; 2 per MAC + k bias-grad adds
    assert "backward ops (lecture) = 2·backward MACs + backward elementwise = " \
           "2·8,192,000 + 1,000 = 16,385,000" in out


def test_fc_json_is_the_reports_layer_record(capsys):
    rec = record(capsys, "fc", "--in", "4096", "--out", "1000", "--batch", "4")
    b = NetworkBuilder("linear", (4096,))
    b.add("linear", b.input, "linear", out_features=1000)
    expected = count(b.build(), batch=4, input_requires_grad=True).to_dict()["layers"][0]
    assert rec == expected
    assert rec["params"] == 4_097_000 and rec["ops"] == 4 * 8_192_000
    assert rec["input_shape"] == [4, 4096] and rec["output_shape"] == [4, 1000]


def test_conv_lecture_example(capsys):
    rec = record(capsys, "conv", "--input", "3x224x224", "--kernel", "5x5", "--filters", "6")
    assert rec["ops"] == 43_560_000
    assert rec["params"] == 456
    assert rec["output_shape"] == [1, 6, 220, 220]
    code, out, _ = run(capsys, "conv", "--input", "3x224x224", "--kernel", "5x5",
                       "--filters", "6", "--explain")
    assert "2·3·5·5·220·220·6 = 43,560,000" in out


@pytest.mark.parametrize(("args", "output", "params", "macs"), [
    # stride 2, same: ⌈224/2⌉ = 112; (3·9+1)·8 = 224 params; 27·112·112·8 MACs
    (["--stride", "2", "--padding", "same", "--filters", "8", "--kernel", "3"],
     [1, 8, 112, 112], 224, 27 * 112 * 112 * 8),
    # dilation 2, padding 2: span 5, 224 + 4 − 5 + 1 = 224
    (["--dilation", "2", "--padding", "2", "--filters", "8", "--kernel", "3"],
     [1, 8, 224, 224], 224, 27 * 224 * 224 * 8),
    # depthwise: 3 filters of 1·3·3 + bias = 30 params; MACs C·k·k·outHW = 3·9·222·222
    (["--groups", "depthwise", "--kernel", "3"], [1, 3, 222, 222], 30, 3 * 9 * 222 * 222),
    # no bias: 3·3·3·8 = 216
    (["--no-bias", "--filters", "8", "--kernel", "3"], [1, 8, 222, 222], 216,
     27 * 222 * 222 * 8),
])
def test_conv_options(capsys, args, output, params, macs):
    rec = record(capsys, "conv", "--input", "3x224x224", *args)
    assert (rec["output_shape"], rec["params"], rec["macs"]) == (output, params, macs)


def test_conventions(capsys):
    base = ["conv", "--input", "3x224x224", "--kernel", "5", "--filters", "6"]
    # macs: 75·220·220·6 = 21,780,000; flops: 2·MACs + one bias add per output (290,400)
    assert record(capsys, *base, "--convention", "macs")["ops"] == 21_780_000
    assert record(capsys, *base, "--convention", "flops")["ops"] == 43_560_000 + 290_400


@pytest.mark.parametrize(("args", "key", "value"), [
    # ResNet's max pool: 64x112x112, 3/2/1 -> 56x56; (9 − 1)·64·56·56 compares
    (["pool", "--input", "64x112x112", "--kernel", "3", "--stride", "2", "--padding", "1"],
     "ops", 8 * 64 * 56 * 56),
    (["pool", "--type", "avg", "--input", "1024x7x7", "--kernel", "7"], "ops", 49 * 1024),
    (["pool", "--input", "512x14x14", "--output-size", "7", "--type", "avg"], "output_shape",
     [1, 512, 7, 7]),
    (["pool", "--input", "2048x7x7", "--global", "--type", "avg"], "output_shape",
     [1, 2048, 1, 1]),
    (["pool", "--input", "2048x7x7", "--global"], "kind", "adaptive_max_pool2d"),
    (["batchnorm", "--input", "64x56x56"], "params", 128),
    (["bn", "--input", "64x56x56", "--no-affine"], "params", 0),
    (["layernorm", "--input", "128x768"], "params", 1536),
    (["lrn", "--input", "96x55x55", "--size", "5"], "ops", 10 * 96 * 55 * 55),
    (["relu", "--input", "64x56x56"], "ops", 200_704),
    (["leaky_relu", "--input", "10", "--negative-slope", "0.2"], "ops", 10),
    (["gelu", "--input", "128x768"], "ops", 98_304),
    (["softmax", "--input", "1000"], "ops", 3000),
    (["dropout", "--input", "4096", "--p", "0.4"], "ops", 0),
    (["flatten", "--input", "512x7x7"], "output_shape", [1, 25_088]),
    (["add", "--input", "256x56x56", "--input", "256x56x56"], "ops", 802_816),
    (["concat", "--input", "64x28x28", "--input", "128x28x28"], "output_shape",
     [1, 192, 28, 28]),
    (["mul", "--input", "64x56x56", "--input", "64x1x1"], "ops", 200_704),
    (["convtranspose", "--input", "16x8x8", "--kernel", "4", "--stride", "2", "--padding", "1",
      "--filters", "8"], "output_shape", [1, 8, 16, 16]),
    (["linear", "--in", "100", "--out", "10"], "ops", 2000),
])
def test_other_kinds(capsys, args, key, value):
    assert record(capsys, *args)[key] == value


def test_backward_without_input_gradient(capsys):
    # a first layer: only the weight gradient, n·k = 4,096,000 MACs
    rec = record(capsys, "fc", "--in", "4096", "--out", "1000", "--no-input-grad")
    assert rec["backward_macs"] == 4_096_000


def test_table_for_elementwise_kind(capsys):
    code, out, _ = run(capsys, "pool", "--input", "64x112x112", "--kernel", "3", "--stride", "2",
                       "--padding", "1", "--explain")
    assert code == 0
    assert "compares = (k_h·k_w − 1)·C·out_h·out_w = (3·3 − 1)·64·56·56 = 1,605,632" in out
    assert "⌊(112 + 2·1 − 1·(3−1) − 1)/2⌋ + 1 = 56" in out


@pytest.mark.parametrize(("args", "words"), [
    (["conv", "--input", "3x224", "--kernel", "5", "--filters", "6"], "CxHxW"),
    (["conv", "--input", "3x0x224", "--kernel", "5", "--filters", "6"], "zero or negative"),
    (["conv", "--input", "3x-2x224", "--kernel", "5", "--filters", "6"], "zero or negative"),
    (["conv", "--input", "3xax224", "--kernel", "5", "--filters", "6"], "cannot read shape"),
    (["conv", "--input", "3x4x4", "--kernel", "5", "--filters", "6"], "larger than the padded"),
    (["conv", "--input", "3x8x8", "--kernel", "3", "--filters", "6", "--groups", "2"],
     "divisible by groups"),
    (["conv", "--input", "3x8x8", "--kernel", "3"], "--filters"),
    (["fc", "--in", "10", "--out", "0"], "--out must be positive"),
    (["fc", "--in", "0", "--out", "5"], "zero or negative"),
    (["fc", "--in", "10", "--out", "5", "--precision", "fp12"], "unknown precision 'fp12'"),
    (["fc", "--in", "10", "--out", "5", "--convention", "tops"], "unknown convention 'tops'"),
    (["fc", "--in", "10", "--out", "5", "--batch", "0"], "--batch must be positive"),
    (["pool", "--input", "3x8x8", "--kernel", "9"], "larger than the padded input"),
    (["pool", "--input", "3x8x8"], "exactly one of"),
    (["add", "--input", "3x4x4", "--input", "3x4x5"], "equal shape"),
    (["concat", "--input", "3x4x4"], "2 or more"),
    (["dropout", "--input", "10", "--p", "1.5"], "dropout p"),
    (["convolution3d", "--input", "3x8x8"], "unknown layer kind"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, args, words):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert words in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_console_script_no_traceback_and_no_torch():
    # the real process: exit 2 and one line for a bad shape; `layer` never imports torch
    bad = subprocess.run([sys.executable, "-m", "netcost", "layer", "conv", "--input", "3x224",
                          "--kernel", "5", "--filters", "6"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and bad.stderr.startswith("error:")
    code, out, imported = run_fresh("layer", "fc", "--in", "4096", "--out", "1000")
    assert code == 0 and "torch" not in imported
    assert "4,097,000" in out

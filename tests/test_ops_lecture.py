"""The lecture's worked examples (Lecture 41, 'Space and Computational Complexity in DNN'),
reproduced exactly, plus the hand-derived formulas of linear and conv layers."""

from __future__ import annotations

import pytest

from netcost.cost.conventions import backward_macs, backward_ops, forward_ops
from netcost.cost.counts import count, lecture_batch_space, lecture_space
from netcost.errors import InvalidArgument, ShapeError
from netcost.ops import get_op
from netcost.ops.single import one_layer_network


def layer(kind, inputs, **attrs):
    inputs = [inputs] if isinstance(inputs, (str, tuple)) else inputs
    return one_layer_network(kind, inputs, attrs).layers[0]


# --- fully connected -----------------------------------------------------------------------

def test_fc_100_to_10():
    # params (n+1)·k = 101·10 = 1,010; ops 2·n·k = 2·100·10 = 2,000
    fc = layer("linear", (100,), out_features=10)
    assert fc.cost.params == 1_010
    assert forward_ops(fc.cost, "lecture") == 2_000


def test_fc_4096_to_1000():
    # params (4096+1)·1000 = 4,097,000; fp32 storage 4 bytes each = 16,388,000;
    # ops 2·4096·1000 = 8,192,000 (the lecture's "8.2 million"); MACs n·k = 4,096,000
    fc = layer("linear", (4096,), out_features=1000)
    assert fc.cost.params == 4_097_000
    assert fc.cost.macs == 4_096_000
    assert forward_ops(fc.cost, "lecture") == 8_192_000
    assert forward_ops(fc.cost, "macs") == 4_096_000
    # flops: 2 per MAC + 1 per bias add = 8,192,000 + 1,000
    assert forward_ops(fc.cost, "flops") == 8_193_000
    assert count(one_layer_network("linear", [(4096,)], {"out_features": 1000})).totals[
        "param_bytes"] == 16_388_000


def test_fc_operational_space():
    # the lecture: 2·(n+1)·k + 2·n + 2·k (weights and their gradients, input and its
    # gradient, output and its gradient); n=4096, k=1000:
    # 2·4,097,000 + 8,192 + 2,000 = 8,204,192
    fc = layer("linear", (4096,), out_features=1000)
    assert lecture_space(fc) == 2 * (4096 + 1) * 1000 + 2 * 4096 + 2 * 1000 == 8_204_192
    # batch of 32: weights once, the rest per sample: 4,097,000 + 32·(4,097,000 + 8,192 + 2,000)
    assert lecture_batch_space(fc, 32) == 4_097_000 + 32 * (4_097_000 + 8_192 + 2_000)
    assert lecture_batch_space(fc, 1) == lecture_space(fc)


def test_fc_without_bias():
    # params n·k = 100·10 = 1,000; each output: n multiplies + n−1 adds = 199; ·10 = 1,990
    fc = layer("linear", (100,), out_features=10, bias=False)
    assert fc.cost.params == 1_000
    assert forward_ops(fc.cost, "lecture") == 1_990
    assert forward_ops(fc.cost, "flops") == 2_000


def test_fc_over_tokens():
    # a 128x768 sequence into 3072 features: every token row is one FC pass
    # MACs 128·768·3072 = 301,989,888; params (768+1)·3072 = 2,362,368
    fc = layer("linear", (128, 768), out_features=3072)
    assert fc.output_shape == (128, 3072)
    assert fc.cost.macs == 301_989_888
    assert fc.cost.params == 2_362_368
    assert forward_ops(fc.cost, "lecture") == 2 * 301_989_888


def test_fc_backward():
    # input gradient Wᵀ·g: n·k MACs; weight gradient g·xᵀ: n·k MACs; bias gradient k adds
    fc = layer("linear", (4096,), out_features=1000)
    assert backward_macs(fc.cost, True) == 8_192_000
    assert backward_macs(fc.cost, False) == 4_096_000
    assert backward_ops(fc.cost, "lecture", True) == 2 * 8_192_000 + 1_000
    assert fc.cost.saved_numel == 4096  # the input, for the weight gradient


# --- convolution ---------------------------------------------------------------------------

def test_conv_3x224x224_5x5_6_filters():
    # params (c·w·h+1)·k = (3·5·5+1)·6 = 456; output 224−5+1 = 220 per side;
    # ops 2·c·w·h·out_h·out_w·k = 2·75·220·220·6 = 43,560,000 (the lecture's "43 million")
    conv = layer("conv2d", (3, 224, 224), out_channels=6, kernel=5)
    assert conv.output_shape == (6, 220, 220)
    assert conv.cost.params == 456
    assert forward_ops(conv.cost, "lecture") == 43_560_000
    assert conv.cost.macs == 21_780_000


def test_conv_16_kernels_3x3():
    # params (3·3·3+1)·16 = 448; output 222x222; ops 2·27·222·222·16 = 42,581,376,
    # "about 1 million fewer" than the 5x5x6 layer: 43,560,000 − 42,581,376 = 978,624
    conv = layer("conv2d", (3, 224, 224), out_channels=16, kernel=3)
    assert conv.cost.params == 448
    assert forward_ops(conv.cost, "lecture") == 42_581_376


def test_conv_operational_space():
    # 2·params + 2·c·M·N + 2·(M−w+1)·(N−h+1)·k = 2·456 + 2·150,528 + 2·290,400 = 882,768
    conv = layer("conv2d", (3, 224, 224), out_channels=6, kernel=5)
    assert lecture_space(conv) == 882_768


@pytest.mark.parametrize(("attrs", "shape", "params", "macs"), [
    # stride 2, padding 3, 7x7, 64 filters (ResNet stem): out ⌊(224+6−7)/2⌋+1 = 112;
    # params (3·49+1)·64 = 9,472; MACs 3·49·112·112·64 = 118,013,952
    ({"out_channels": 64, "kernel": 7, "stride": 2, "padding": 3}, (64, 112, 112), 9_472,
     118_013_952),
    # 'same' padding keeps 56x56 for 3x3: params (64·9+1)·64 = 36,928; MACs 576·56·56·64
    ({"out_channels": 64, "kernel": 3, "padding": "same"}, (64, 56, 56), 36_928,
     576 * 56 * 56 * 64),
    # dilation 2 with padding 2: span 2·(3−1)+1 = 5, out 56+4−5+1 = 56
    ({"out_channels": 64, "kernel": 3, "padding": 2, "dilation": 2}, (64, 56, 56), 36_928,
     576 * 56 * 56 * 64),
    # groups 4: each filter sees 64/4 = 16 channels: params (16·9+1)·64 = 9,280
    ({"out_channels": 64, "kernel": 3, "padding": 1, "groups": 4}, (64, 56, 56), 9_280,
     144 * 56 * 56 * 64),
    # depthwise (groups = C = 64): params (1·9+1)·64 = 640; MACs C·k·k·outHW = 64·9·3136
    ({"out_channels": 64, "kernel": 3, "padding": 1, "groups": 64}, (64, 56, 56), 640,
     64 * 9 * 56 * 56),
    # no bias, 1x1: params 64·128 = 8,192
    ({"out_channels": 128, "kernel": 1, "bias": False}, (128, 56, 56), 8_192,
     64 * 128 * 56 * 56),
    # padding as (top, bottom, left, right) = (1, 0, 2, 0): out (56+1−3+1)x(56+2−3+1) = 55x56
    ({"out_channels": 8, "kernel": 3, "padding": (1, 0, 2, 0)}, (8, 55, 56), (64 * 9 + 1) * 8,
     576 * 55 * 56 * 8),
])
def test_conv_variants(attrs, shape, params, macs):
    # the stem reads the 3x224x224 image, the others a 64x56x56 feature map
    conv = layer("conv2d", (3, 224, 224) if attrs["kernel"] == 7 else (64, 56, 56), **attrs)
    assert conv.output_shape == shape
    assert conv.cost.params == params
    assert conv.cost.macs == macs


def test_conv_same_with_stride_is_tensorflow_same():
    # 'same' with stride 2 keeps ⌈224/2⌉ = 112: total padding (112−1)·2+3−224 = 1 -> (0, 1)
    conv = layer("conv2d", (3, 224, 224), out_channels=8, kernel=3, stride=2, padding="same")
    assert conv.output_shape == (8, 112, 112)
    assert conv.attrs["padding"] == (0, 1, 0, 1)


def test_conv_lecture_ops_without_bias():
    # each output: c·w·h multiplies and c·w·h − 1 adds: (2·75 − 1)·220·220·6 = 43,269,600
    conv = layer("conv2d", (3, 224, 224), out_channels=6, kernel=5, bias=False)
    assert forward_ops(conv.cost, "lecture") == 149 * 220 * 220 * 6 == 43_269_600


def test_conv_transpose():
    # 16x8x8 -> 8 channels, 4x4 kernel, stride 2, padding 1: out (8−1)·2 − 2 + 3 + 1 = 16
    # params 16·4·4·8 + 8 = 2,056; MACs: every input through 8·4·4 taps = 1024·128 = 131,072
    ct = layer("conv_transpose2d", (16, 8, 8), out_channels=8, kernel=4, stride=2, padding=1)
    assert ct.output_shape == (8, 16, 16)
    assert ct.cost.params == 2_056
    assert ct.cost.macs == 131_072
    # every output is reached by some tap: lecture 2·MACs − outputs + bias = 262,144
    assert forward_ops(ct.cost, "lecture") == 262_144


def test_conv_transpose_unreached_outputs():
    # kernel 1, stride 3: 8 inputs land on 8 of the 22 output positions per axis, so only
    # 8·8·8 = 512 outputs are dot products; lecture = 2·8,192 − 512 + 3,872 bias = 19,744
    ct = layer("conv_transpose2d", (16, 8, 8), out_channels=8, kernel=1, stride=3)
    assert ct.output_shape == (8, 22, 22)
    assert ct.cost.dot_outputs == 512
    assert forward_ops(ct.cost, "lecture") == 19_744


@pytest.mark.parametrize(("kind", "shape", "attrs", "error", "words"), [
    ("conv2d", (3, 4, 4), {"out_channels": 2, "kernel": 5}, ShapeError, "larger than the padded"),
    ("conv2d", (3, 8, 8), {"out_channels": 4, "kernel": 3, "groups": 2}, ShapeError,
     "divisible by groups"),
    ("conv2d", (3, 224), {"out_channels": 4, "kernel": 3}, ShapeError, "CxHxW"),
    ("conv2d", (3, 8, 8), {"out_channels": 0, "kernel": 3}, InvalidArgument, "positive"),
    ("conv2d", (3, 8, 8), {"out_channels": 2, "kernel": "3x3x3"}, InvalidArgument, "two"),
    ("conv2d", (3, 8, 8), {"out_channels": 2, "kernel": 3, "padding": -1}, InvalidArgument,
     "non-negative"),
    ("conv_transpose2d", (3, 8, 8), {"out_channels": 2, "kernel": 3, "padding": "same"},
     InvalidArgument, "same"),
    ("conv_transpose2d", (3, 8, 8), {"out_channels": 2, "kernel": 3, "stride": 2,
                                     "output_padding": 2}, InvalidArgument, "output_padding"),
    ("linear", (10,), {"out_features": 0}, InvalidArgument, "positive"),
    ("linear", (10,), {"out_features": 5, "in_features": 9}, ShapeError, "9 input features"),
])
def test_bad_attributes(kind, shape, attrs, error, words):
    with pytest.raises(error, match=words):
        layer(kind, shape, **attrs)


def test_explain_reads_like_the_lecture():
    fc = layer("linear", (4096,), out_features=1000)
    lines = [str(d) for d in get_op("linear").explain(fc.attrs, fc.input_shapes, fc.output_shape)]
    assert "ops (lecture) = 2·n·k = 2·4096·1000 = 8,192,000" in lines
    assert "params = (n+1)·k = (4096+1)·1000 = 4,097,000" in lines
    conv = layer("conv2d", (3, 224, 224), out_channels=6, kernel=5)
    lines = [str(d) for d in get_op("conv2d").explain(conv.attrs, conv.input_shapes,
                                                      conv.output_shape)]
    assert "ops (lecture) = 2·c·w·h·out_h·out_w·k = 2·3·5·5·220·220·6 = 43,560,000" in lines
    assert "params = (c·w·h+1)·k = (3·5·5+1)·6 = 456" in lines

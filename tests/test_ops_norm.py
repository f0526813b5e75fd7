"""Normalisation formulas, hand-derived."""

from __future__ import annotations

import pytest

from netcost.cost.conventions import backward_ops, forward_ops
from netcost.errors import InvalidArgument, ShapeError
from netcost.ops.single import one_layer_network


def layer(kind, shape, **attrs):
    return one_layer_network(kind, [shape], attrs).layers[0]


def test_batch_norm():
    # 64x56x56: params γ, β = 2·64 = 128; buffers running μ, σ² = 128;
    # inference ops 2 per element (folded scale and shift): 2·200,704 = 401,408;
    # backward 9 per element: 1,806,336; saved: the input + μ and 1/σ per channel
    bn = layer("batch_norm2d", (64, 56, 56))
    assert bn.output_shape == (64, 56, 56)
    assert bn.cost.params == 128
    assert bn.cost.buffers == 128
    assert forward_ops(bn.cost, "lecture") == forward_ops(bn.cost, "flops") == 401_408
    assert forward_ops(bn.cost, "macs") == 0
    assert backward_ops(bn.cost, "flops", True) == 1_806_336
    assert bn.cost.saved_numel == 200_704 + 128


def test_batch_norm_options():
    bn = layer("batch_norm2d", (64, 56, 56), affine=False, track_running_stats=False)
    assert bn.cost.params == 0 and bn.cost.buffers == 0
    with pytest.raises(ShapeError, match="expects 32 channels, got 64"):
        layer("batch_norm2d", (64, 56, 56), num_features=32)
    with pytest.raises(InvalidArgument, match="eps"):
        layer("batch_norm2d", (64, 56, 56), eps=0)


def test_layer_norm():
    # 128 tokens x 768: params 2·768 = 1,536; ops 7 per element (μ 1, centre 1, σ² 2,
    # scale 1, affine 2): 7·98,304 = 688,128; saved: input + μ and 1/σ per row (2·128)
    ln = layer("layer_norm", (128, 768))
    assert ln.cost.params == 1_536
    assert ln.cost.elementwise_ops == 688_128
    assert ln.cost.saved_numel == 98_304 + 256
    # without affine: 5 per element, no params
    plain = layer("layer_norm", (128, 768), affine=False)
    assert plain.cost.params == 0 and plain.cost.elementwise_ops == 491_520
    with pytest.raises(ShapeError, match="last dimension is 768"):
        layer("layer_norm", (128, 768), normalized_shape=512)


def test_lrn_alexnet():
    # AlexNet's LRN (size 5) on 96x55x55 = 290,400 numbers: (5 + 5) per element = 2,904,000
    # (x² 1, window sum 4, ·α/size 2, +k 1, ^β 1, ÷ 1); backward (5 + 11)·290,400;
    # saved: x, the padded x² (96 + 4)·55·55 = 302,500, and the base before and after ^β
    lrn = layer("lrn", (96, 55, 55), size=5)
    assert lrn.cost.params == 0
    assert lrn.cost.elementwise_ops == 2_904_000
    assert lrn.cost.backward_elementwise_ops == 16 * 290_400
    assert lrn.cost.saved_numel == 3 * 290_400 + 302_500


def test_lrn_needs_size():
    with pytest.raises(InvalidArgument, match="size"):
        layer("lrn", (96, 55, 55))


def test_batch_norm_statistics_are_kept_once_per_batch():
    # the input per sample by reference; μ and 1/σ (2·64 fp32) once per batch, not per sample
    from netcost.ops import get_op

    bn = layer("batch_norm2d", (64, 56, 56))
    saved = get_op("batch_norm2d").saves(bn.attrs, bn.input_shapes, bn.output_shape)
    assert saved.inputs == (0,) and not saved.output
    assert saved.new == () and saved.per_batch == (("fp32", 128),)

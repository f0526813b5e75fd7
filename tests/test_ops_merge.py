"""Residual add, broadcast multiply, concat and flatten."""

from __future__ import annotations

import pytest

from netcost.errors import InvalidArgument, ShapeError
from netcost.ops.single import one_layer_network


def layer(kind, shapes, **attrs):
    return one_layer_network(kind, shapes, attrs).layers[0]


def test_residual_add():
    # two 256x56x56 maps: one add per element, 802,816; the gradient passes through
    add = layer("add", [(256, 56, 56), (256, 56, 56)])
    assert add.output_shape == (256, 56, 56)
    assert add.cost.elementwise_ops == 802_816
    assert add.cost.backward_elementwise_ops == 0 and add.cost.saved_numel == 0
    # three inputs: 2 adds per element
    assert layer("add", [(4,), (4,), (4,)]).cost.elementwise_ops == 8


def test_add_needs_equal_shapes():
    with pytest.raises(ShapeError, match="equal shape, got 256x56x56, 256x28x28"):
        layer("add", [(256, 56, 56), (256, 28, 28)])
    with pytest.raises(InvalidArgument, match="2 or more"):
        layer("add", [(4,)])


def test_squeeze_excitation_mul():
    # 64x56x56 scaled by 64x1x1: 200,704 multiplies. Backward: g·s (200,704 multiplies)
    # for x, g·x (200,704) for s, summed down to its 64 numbers (200,704 − 64 adds):
    # 2·200,704 + 0 + (200,704 − 64) = 602,048. Saved: both inputs, 200,704 + 64
    mul = layer("mul", [(64, 56, 56), (64, 1, 1)])
    assert mul.output_shape == (64, 56, 56)
    assert mul.cost.elementwise_ops == 200_704
    assert mul.cost.backward_elementwise_ops == 602_048
    assert mul.cost.saved_numel == 200_768
    with pytest.raises(ShapeError, match="broadcast"):
        layer("mul", [(64, 56, 56), (32, 1, 1)])


def test_concat_inception_3a():
    # GoogLeNet 3a: 64 + 128 + 32 + 32 = 256 channels at 28x28; a copy, no arithmetic
    cat = layer("concat", [(64, 28, 28), (128, 28, 28), (32, 28, 28), (32, 28, 28)])
    assert cat.output_shape == (256, 28, 28)
    assert cat.cost.elementwise_ops == 0 and cat.cost.saved_numel == 0


def test_concat_checks():
    with pytest.raises(ShapeError, match="other dimensions to match"):
        layer("concat", [(64, 28, 28), (64, 14, 14)])
    assert layer("concat", [(2, 3), (2, 5)], dim=-1).output_shape == (2, 8)
    with pytest.raises(ShapeError, match="rank"):
        layer("concat", [(2, 3), (2, 3, 1)])


def test_flatten():
    # 512x7x7 -> 25,088 (VGG's classifier input); a view, free
    fl = layer("flatten", [(512, 7, 7)])
    assert fl.output_shape == (25_088,)
    assert fl.cost == type(fl.cost)()
    assert layer("flatten", [(8, 4, 4)], start_dim=1).output_shape == (8, 16)
    with pytest.raises(InvalidArgument, match="comes after"):
        layer("flatten", [(8, 4, 4)], start_dim=2, end_dim=1)

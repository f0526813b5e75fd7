"""Activations, softmax, dropout: one op per element (the lecture counts every arithmetic
operation alike), nothing learnable; what each keeps for backward is PyTorch's."""

from __future__ import annotations

import pytest

from netcost.cost.conventions import backward_ops, forward_ops
from netcost.errors import InvalidArgument
from netcost.ops import get_op
from netcost.ops.activation import ACTIVATIONS
from netcost.ops.single import one_layer_network


def layer(kind, shape, **attrs):
    return one_layer_network(kind, [shape], attrs).layers[0]


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activation(kind):
    # 64x56x56 = 200,704 elements: 200,704 ops forward, 200,704 backward, 200,704 saved
    act = layer(kind, (64, 56, 56))
    assert act.output_shape == (64, 56, 56)
    assert act.cost.params == 0
    assert forward_ops(act.cost, "lecture") == forward_ops(act.cost, "flops") == 200_704
    assert forward_ops(act.cost, "macs") == 0
    assert backward_ops(act.cost, "flops", True) == 200_704
    assert backward_ops(act.cost, "flops", False) == 0  # nothing upstream needs a gradient
    assert act.cost.saved_numel == 200_704


def test_relu_keeps_its_output_gelu_its_input():
    r = layer("relu", (10,))
    assert get_op("relu").saves(r.attrs, r.input_shapes, r.output_shape).output
    g = layer("gelu", (10,))
    assert get_op("gelu").saves(g.attrs, g.input_shapes, g.output_shape).inputs == (0,)


def test_softmax():
    # 1000 classes: exp, add, divide = 3·1000; backward y·(g − Σ g·y) = 4·1000
    sm = layer("softmax", (1000,))
    assert sm.cost.elementwise_ops == 3_000
    assert sm.cost.backward_elementwise_ops == 4_000
    assert sm.attrs["dim"] == 0  # −1 of a 1-d per-sample shape
    with pytest.raises(InvalidArgument, match="out of range"):
        layer("softmax", (1000,), dim=1)


def test_dropout():
    # inference identity: 0 ops; training keeps a bool mask of 4096 and multiplies the
    # gradient by it: 4096 backward ops
    do = layer("dropout", (4096,), p=0.4)
    assert forward_ops(do.cost, "flops") == 0
    assert do.cost.backward_elementwise_ops == 4096
    assert do.cost.saved_numel == 4096
    assert get_op("dropout").saves(do.attrs, do.input_shapes, do.output_shape).new == (
        ("bool", 4096),)
    with pytest.raises(InvalidArgument, match=r"\[0, 1\)"):
        layer("dropout", (10,), p=1.0)


def test_activation_attributes():
    assert layer("leaky_relu", (4,), negative_slope=0.2).attrs["negative_slope"] == 0.2
    with pytest.raises(InvalidArgument, match="approximate"):
        layer("gelu", (4,), approximate="fast")
    with pytest.raises(InvalidArgument, match="number"):
        layer("elu", (4,), alpha="big")

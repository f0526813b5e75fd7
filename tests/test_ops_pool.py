"""Pooling formulas, hand-derived. Shapes follow PyTorch's rules (checked against torch in
test_ops_torch.py)."""

from __future__ import annotations

import pytest

from netcost.cost.conventions import forward_ops
from netcost.errors import InvalidArgument, ShapeError
from netcost.ops.single import one_layer_network


def layer(kind, shape, **attrs):
    return one_layer_network(kind, [shape], attrs).layers[0]


def test_max_pool_resnet_stem():
    # 64x112x112, 3x3 stride 2 padding 1: ⌊(112 + 2 − 2 − 1)/2⌋ + 1 = 56
    # compares (3·3 − 1)·64·56·56 = 1,605,632; saved: the input 802,816 + 200,704 indices
    mp = layer("max_pool2d", (64, 112, 112), kernel=3, stride=2, padding=1)
    assert mp.output_shape == (64, 56, 56)
    assert mp.cost.params == 0 and mp.cost.macs == 0
    assert mp.cost.elementwise_ops == 1_605_632
    assert forward_ops(mp.cost, "lecture") == forward_ops(mp.cost, "flops") == 1_605_632
    assert forward_ops(mp.cost, "macs") == 0
    assert mp.cost.backward_elementwise_ops == 200_704  # one routed gradient per output
    assert mp.cost.saved_numel == 802_816 + 200_704


def test_pool_stride_defaults_to_kernel():
    # VGG's 2x2 max pool: 224 -> 112
    assert layer("max_pool2d", (64, 224, 224), kernel=2).output_shape == (64, 112, 112)


def test_max_pool_ceil_mode():
    # GoogLeNet: 64x112x112, 3x3/2, ceil: ⌈(112 − 3)/2⌉ + 1 = ⌈54.5⌉ + 1 = 56 (floor gives 55)
    assert layer("max_pool2d", (64, 112, 112), kernel=3, stride=2,
                 ceil_mode=True).output_shape == (64, 56, 56)
    assert layer("max_pool2d", (64, 112, 112), kernel=3, stride=2).output_shape == (64, 55, 55)


def test_ceil_mode_drops_a_window_starting_in_the_padding():
    # size 5, kernel 2, stride 2, padding 1: ⌈(5 + 2 − 2)/2⌉ + 1 = 4, but the 4th window would
    # start at (4−1)·2 = 6 ≥ 5 + 1, inside the right padding only, so 3 (PyTorch's rule)
    assert layer("max_pool2d", (1, 5, 5), kernel=2, stride=2, padding=1,
                 ceil_mode=True).output_shape == (1, 3, 3)


def test_ceil_mode_allows_a_window_wider_than_the_input():
    # size 2, kernel 4, stride 4, ceil: ⌈(2 − 4)/4⌉ + 1 = 0 + 1 = 1 (PyTorch agrees);
    # floor mode: ⌊−2/4⌋ + 1 = 0 -> refused
    assert layer("max_pool2d", (1, 2, 2), kernel=4, ceil_mode=True).output_shape == (1, 1, 1)
    with pytest.raises(ShapeError, match="larger than the padded input"):
        layer("max_pool2d", (1, 2, 2), kernel=4)


def test_max_pool_dilation():
    # dilation 2, kernel 3: span 5; (10 − 5)/1 + 1 = 6; compares (9 − 1)·1·6·6 = 288
    mp = layer("max_pool2d", (1, 10, 10), kernel=3, stride=1, dilation=2)
    assert mp.output_shape == (1, 6, 6)
    assert mp.cost.elementwise_ops == 288


def test_avg_pool():
    # GoogLeNet's 7x7/1 average pool on 1024x7x7 -> 1024x1x1; 49 adds+divide per output:
    # 49·1024 = 50,176; backward spreads each gradient over 49 cells: 50,176
    ap = layer("avg_pool2d", (1024, 7, 7), kernel=7, stride=1)
    assert ap.output_shape == (1024, 1, 1)
    assert ap.cost.elementwise_ops == 50_176
    assert ap.cost.backward_elementwise_ops == 50_176
    assert ap.cost.saved_numel == 1024 * 49  # PyTorch keeps the input


def test_avg_pool_has_no_dilation():
    with pytest.raises(InvalidArgument, match="no dilation"):
        layer("avg_pool2d", (1, 8, 8), kernel=2, dilation=2)


def test_adaptive_avg_pool_even_bins():
    # 512x14x14 -> 7x7: bins of 2 rows and 2 columns; cells 512·14·14 = 100,352
    ap = layer("adaptive_avg_pool2d", (512, 14, 14), output_size=7)
    assert ap.output_shape == (512, 7, 7)
    assert ap.cost.elementwise_ops == 100_352


def test_adaptive_pool_overlapping_bins():
    # 5 -> 3: bins [⌊0⌋,⌈5/3⌉) = [0,2), [1,4), [3,5): sizes 2, 3, 2, sum 7 per axis;
    # avg: C·7·7 = 2·49 = 98 cells; max: 98 − 2·9 outputs = 80 compares
    assert layer("adaptive_avg_pool2d", (2, 5, 5), output_size=3).cost.elementwise_ops == 98
    mx = layer("adaptive_max_pool2d", (2, 5, 5), output_size=3)
    assert mx.cost.elementwise_ops == 80
    assert mx.cost.saved_numel == 50 + 18  # the input and one index per output


def test_adaptive_pool_keeps_a_dim_with_none():
    assert layer("adaptive_avg_pool2d", (8, 6, 10),
                 output_size=(None, 5)).output_shape == (8, 6, 5)


def test_global_avg_pool():
    # ResNet-50's 2048x7x7 -> 2048x1x1: 2048·49 = 100,352 adds and divides; nothing saved
    gp = layer("global_avg_pool2d", (2048, 7, 7))
    assert gp.output_shape == (2048, 1, 1)
    assert gp.cost.elementwise_ops == 100_352
    assert gp.cost.saved_numel == 0


@pytest.mark.parametrize(("kind", "shape", "attrs", "error", "words"), [
    ("max_pool2d", (3, 8, 8), {"kernel": 9}, ShapeError, "larger than the padded input"),
    ("max_pool2d", (3, 8, 8), {"kernel": 2, "padding": 2}, InvalidArgument, "half"),
    ("max_pool2d", (3, 8), {"kernel": 2}, ShapeError, "CxHxW"),
    ("max_pool2d", (3, 8, 8), {}, InvalidArgument, "kernel"),
    ("avg_pool2d", (3, 8, 8), {"kernel": 0}, InvalidArgument, "positive"),
    ("adaptive_avg_pool2d", (3, 8, 8), {}, InvalidArgument, "output_size"),
    ("global_avg_pool2d", (8,), {}, ShapeError, "CxHxW"),
])
def test_bad_pools(kind, shape, attrs, error, words):
    with pytest.raises(error, match=words):
        layer(kind, shape, **attrs)

"""PyTorch as the oracle: output shapes, parameter counts, FlopCounterMode's FLOPs and the
tensors autograd saves must agree with the catalogue's formulas."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from netcost.errors import NetcostError
from netcost.ops import get_op
from netcost.ops.single import one_layer_network

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
pytestmark = pytest.mark.torch


def ours(kind, shapes, attrs):
    """Our layer, or None where we refuse the configuration."""
    try:
        return one_layer_network(kind, shapes, attrs).layers[0]
    except NetcostError:
        return None


def theirs(module, shape):
    """PyTorch's per-sample output shape, or None where it refuses or gives an empty tensor."""
    try:
        out = tuple(module(torch.zeros(1, *shape)).shape[1:])
    except (RuntimeError, ValueError):
        return None
    return None if 0 in out else out


sizes = st.tuples(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12))


@settings(max_examples=150, deadline=None)
@given(sizes, st.integers(1, 5), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3),
       st.booleans(), st.sampled_from(["max", "avg"]))
def test_pool_shapes_match_pytorch(shape, k, s, p, d, ceil, kind):
    if kind == "max":
        module = nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)
        attrs = {"kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil}
    else:
        module = nn.AvgPool2d(k, s, p, ceil_mode=ceil)
        attrs = {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil}
    lay = ours(f"{kind}_pool2d", [shape], attrs)
    assert (lay.output_shape if lay else None) == theirs(module, shape)


@settings(max_examples=100, deadline=None)
@given(sizes, st.integers(1, 4), st.integers(1, 4), st.sampled_from(["avg", "max"]))
def test_adaptive_pool_matches_pytorch(shape, oh, ow, kind):
    # same shape, and our window cells give PyTorch's averages: the mean of arange over
    # each bin computed from our bins equals AdaptiveAvgPool2d's output
    from netcost.ops.pool import _bins

    module = (nn.AdaptiveAvgPool2d if kind == "avg" else nn.AdaptiveMaxPool2d)((oh, ow))
    lay = ours(f"adaptive_{kind}_pool2d", [shape], {"output_size": (oh, ow)})
    assert lay.output_shape == theirs(module, shape)
    _, h, w = shape
    x = torch.arange(h * w, dtype=torch.float64).reshape(1, 1, h, w)
    y = nn.AdaptiveAvgPool2d((oh, ow))(x)[0, 0]
    bh, bw = _bins(h, oh), _bins(w, ow)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * h // oh, j * w // ow
            assert float(x[0, 0, r0:r0 + bh[i], c0:c0 + bw[j]].mean()) == pytest.approx(
                float(y[i, j]))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([1, 2, 4]), st.integers(1, 9), st.integers(1, 9),
       st.sampled_from([2, 4]), st.sampled_from([1, 2]), st.integers(1, 4), st.integers(1, 3),
       st.integers(0, 2), st.integers(1, 2), st.booleans(), st.booleans())
def test_conv_shapes_params_and_flops_match_pytorch(c, h, w, k, g, kernel, s, p, d, bias,
                                                    transposed):
    from torch.utils.flop_counter import FlopCounterMode

    assume(c % g == 0)
    attrs = {"out_channels": k, "kernel": kernel, "stride": s, "padding": p, "dilation": d,
             "groups": g, "bias": bias}
    if transposed:
        op = min(s, d) - 1  # output_padding must stay below the stride or dilation
        module = nn.ConvTranspose2d(c, k, kernel, s, p, op, g, bias, d)
        kind, attrs["output_padding"] = "conv_transpose2d", op
    else:
        module = nn.Conv2d(c, k, kernel, s, p, d, g, bias)
        kind = "conv2d"
    lay = ours(kind, [(c, h, w)], attrs)
    expected = theirs(module, (c, h, w))
    assert (lay.output_shape if lay else None) == expected
    if lay is None:
        return
    assert lay.cost.params == sum(t.numel() for t in module.parameters())
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, c, h, w))
    assert counter.get_total_flops() == 2 * lay.cost.macs


def test_linear_flops_and_params_match_pytorch():
    from torch.utils.flop_counter import FlopCounterMode

    module = nn.Linear(4096, 1000)
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, 4096))
    lay = ours("linear", [(4096,)], {"out_features": 1000})
    assert counter.get_total_flops() == 2 * lay.cost.macs == 8_192_000
    assert lay.cost.params == sum(t.numel() for t in module.parameters())


def test_norm_params_and_buffers_match_pytorch():
    bn = nn.BatchNorm2d(64)
    lay = ours("batch_norm2d", [(64, 56, 56)], {})
    assert lay.cost.params == sum(t.numel() for t in bn.parameters())
    # running mean and variance (num_batches_tracked is a counter, not a per-channel buffer)
    assert lay.cost.buffers == bn.running_mean.numel() + bn.running_var.numel()
    ln = nn.LayerNorm(768)
    assert ours("layer_norm", [(128, 768)], {}).cost.params == sum(
        t.numel() for t in ln.parameters())


def _saved_numel(fn, x, params=()):
    """Numbers autograd keeps for one call, each tensor once, leaving out the parameters and
    buffers it refers to (batch norm also keeps its running statistics, which exist anyway)."""
    kept = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: kept.append(t) or t, lambda t: t):
        fn(x)
    skip = {t.data_ptr() for t in params}
    if isinstance(fn, nn.Module):
        skip |= {t.data_ptr() for t in fn.buffers()}
    seen, total = set(), 0
    for t in kept:
        key = (t.data_ptr(), tuple(t.shape), t.dtype)
        if t.data_ptr() not in skip and key not in seen:
            seen.add(key)
            total += t.numel()
    return total


def _saved_cases():
    bn, ln, conv, fc = nn.BatchNorm2d(8), nn.LayerNorm(10), nn.Conv2d(8, 4, 3), nn.Linear(10, 3)
    return [
        ("relu", {}, F.relu, ()), ("relu6", {}, F.relu6, ()), ("leaky_relu", {}, F.leaky_relu, ()),
        ("elu", {}, F.elu, ()), ("sigmoid", {}, torch.sigmoid, ()), ("tanh", {}, torch.tanh, ()),
        ("gelu", {}, F.gelu, ()), ("silu", {}, F.silu, ()), ("hardswish", {}, F.hardswish, ()),
        ("hardsigmoid", {}, F.hardsigmoid, ()),
        ("softmax", {"dim": 0}, lambda x: F.softmax(x, 1), ()),
        ("dropout", {}, lambda x: F.dropout(x, 0.5, True), ()),
        ("max_pool2d", {"kernel": 2}, lambda x: F.max_pool2d(x, 2), ()),
        ("avg_pool2d", {"kernel": 2}, lambda x: F.avg_pool2d(x, 2), ()),
        ("adaptive_avg_pool2d", {"output_size": 3}, lambda x: F.adaptive_avg_pool2d(x, 3), ()),
        ("adaptive_max_pool2d", {"output_size": 3}, lambda x: F.adaptive_max_pool2d(x, 3), ()),
        ("global_avg_pool2d", {}, lambda x: F.adaptive_avg_pool2d(x, 1), ()),
        ("lrn", {"size": 5}, lambda x: F.local_response_norm(x, 5), ()),
        ("batch_norm2d", {}, bn, tuple(bn.parameters())),
        ("layer_norm", {}, ln, tuple(ln.parameters())),
        ("conv2d", {"out_channels": 4, "kernel": 3}, conv, tuple(conv.parameters())),
        ("linear", {"out_features": 3}, fc, tuple(fc.parameters())),
    ]


@pytest.mark.parametrize(("kind", "attrs", "fn", "params"), _saved_cases(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_saved_tensors_match_autograd(kind, attrs, fn, params):
    # batch of 1: autograd's saved numbers per sample, as LayerCost counts them
    x = torch.randn(1, 8, 10, 10, requires_grad=True)
    lay = ours(kind, [(8, 10, 10)], attrs)
    assert lay.cost.saved_numel == _saved_numel(fn, x, params)


def test_mul_saves_both_inputs():
    a = torch.randn(1, 8, 4, 4, requires_grad=True)
    s = torch.randn(1, 8, 1, 1, requires_grad=True)
    lay = ours("mul", [(8, 4, 4), (8, 1, 1)], {})
    assert lay.cost.saved_numel == _saved_numel(lambda t: t * s, a) == 128 + 8
    assert get_op("mul").saves(lay.attrs, lay.input_shapes, lay.output_shape).inputs == (0, 1)

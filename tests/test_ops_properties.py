"""Invariants of the formula catalogue, checked on random layers (hypothesis)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from netcost.cost.conventions import backward_macs, forward_ops
from netcost.errors import NetcostError
from netcost.ir import numel
from netcost.ops import all_ops, get_op
from netcost.ops.activation import ACTIVATIONS
from netcost.ops.single import one_layer_network

small = st.integers(1, 12)
chw = st.tuples(st.integers(1, 8), st.integers(1, 16), st.integers(1, 16))


def build(kind, shapes, attrs):
    try:
        return one_layer_network(kind, shapes, attrs).layers[0]
    except NetcostError:
        assume(False)


@st.composite
def any_layer(draw):
    """A random layer of any kind in the catalogue (invalid combinations are discarded)."""
    kind = draw(st.sampled_from(sorted(all_ops())))
    shape = draw(chw)
    k = draw(st.integers(1, 5))
    attrs: dict = {}
    shapes = [shape]
    if kind in ("conv2d", "conv_transpose2d"):
        attrs = {"out_channels": draw(st.integers(1, 8)), "kernel": k,
                 "stride": draw(st.integers(1, 3)), "padding": draw(st.integers(0, 2)),
                 "dilation": draw(st.integers(1, 2)), "groups": draw(st.sampled_from([1, 2])),
                 "bias": draw(st.booleans())}
    elif kind == "linear":
        attrs = {"out_features": draw(small), "bias": draw(st.booleans())}
    elif kind in ("max_pool2d", "avg_pool2d"):
        attrs = {"kernel": k, "stride": draw(st.integers(1, 3)),
                 "padding": draw(st.integers(0, 2)), "ceil_mode": draw(st.booleans())}
    elif kind.startswith("adaptive"):
        attrs = {"output_size": (draw(small), draw(small))}
    elif kind == "lrn":
        attrs = {"size": k}
    elif kind in ("add", "concat"):
        shapes = [shape] * draw(st.integers(2, 4))
    elif kind == "mul":
        shapes = [shape, (shape[0], 1, 1)]
    return build(kind, shapes, attrs)


@settings(max_examples=300, deadline=None)
@given(any_layer())
def test_every_op_is_consistent(lay):
    c = lay.cost
    # flops counts 2 per MAC and never less than that
    assert forward_ops(c, "flops") >= 2 * c.macs
    # the lecture's count lies between MACs and flops: it drops one add per dot product
    assert c.macs <= forward_ops(c, "lecture") <= forward_ops(c, "flops")
    assert c.dot_outputs <= c.macs or c.macs == 0
    # saved numbers are what OpSpec.saves lists
    saved = get_op(lay.kind).saves(lay.attrs, lay.input_shapes, lay.output_shape)
    assert c.saved_numel == saved.numel(lay.input_shapes, lay.output_shape)
    # the per-kind derivation ends in the same numbers as the cost
    for d in get_op(lay.kind).explain(lay.attrs, lay.input_shapes, lay.output_shape):
        if d.quantity == "params":
            assert d.value == c.params
        if d.quantity == "MACs":
            assert d.value == c.macs
        if d.quantity == "ops (lecture)":
            assert d.value == forward_ops(c, "lecture")
        if d.quantity == "saved for backward":
            assert d.value == c.saved_numel


@settings(max_examples=200, deadline=None)
@given(chw, st.integers(1, 64), st.booleans())
def test_fc_equals_conv_covering_the_whole_input(shape, k, bias):
    # an FC layer on the flattened C·H·W input is a conv whose H×W kernel sees it all
    c, h, w = shape
    fc = build("linear", [(c * h * w,)], {"out_features": k, "bias": bias})
    conv = build("conv2d", [shape], {"out_channels": k, "kernel": (h, w), "bias": bias})
    assert conv.output_shape == (k, 1, 1)
    assert fc.cost.params == conv.cost.params
    assert fc.cost.macs == conv.cost.macs
    for convention in ("lecture", "macs", "flops"):
        assert forward_ops(fc.cost, convention) == forward_ops(conv.cost, convention)
    assert backward_macs(fc.cost, True) == backward_macs(conv.cost, True)


@settings(max_examples=200, deadline=None)
@given(chw, st.integers(1, 5), st.integers(1, 3), st.integers(0, 2))
def test_depthwise_conv_macs(shape, k, stride, pad):
    # one k×k filter per channel: MACs = C·k·k·out_h·out_w
    c = shape[0]
    dw = build("conv2d", [shape], {"out_channels": c, "kernel": k, "stride": stride,
                                   "padding": pad, "groups": c})
    _, oh, ow = dw.output_shape
    assert dw.cost.macs == c * k * k * oh * ow
    assert dw.cost.params == c * (k * k + 1)


@settings(max_examples=200, deadline=None)
@given(chw, st.integers(1, 16), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 2))
def test_lecture_ops_of_biased_dot_layers_are_twice_the_macs(shape, k, kernel, stride, pad, d):
    conv = build("conv2d", [shape], {"out_channels": k, "kernel": kernel, "stride": stride,
                                     "padding": pad, "dilation": d})
    assert forward_ops(conv.cost, "lecture") == 2 * conv.cost.macs
    fc = build("linear", [(numel(shape),)], {"out_features": k})
    assert forward_ops(fc.cost, "lecture") == 2 * fc.cost.macs
    # without bias each dot product has one add fewer
    nb = build("conv2d", [shape], {"out_channels": k, "kernel": kernel, "stride": stride,
                                   "padding": pad, "dilation": d, "bias": False})
    assert forward_ops(nb.cost, "lecture") == 2 * nb.cost.macs - numel(nb.output_shape)


@settings(max_examples=200, deadline=None)
@given(chw, st.integers(1, 5), st.integers(1, 4), st.integers(0, 2), st.booleans())
def test_every_pool_window_starts_inside_input_or_left_padding(shape, k, s, p, ceil):
    mp = build("max_pool2d", [shape], {"kernel": k, "stride": s, "padding": p,
                                       "ceil_mode": ceil})
    _, h, w = shape
    _, oh, ow = mp.output_shape
    assert (oh - 1) * s < h + p and (ow - 1) * s < w + p


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(ACTIVATIONS)), st.lists(st.integers(1, 9), min_size=1,
                                                        max_size=4).map(tuple))
def test_activations_keep_any_shape(kind, shape):
    act = build(kind, [shape], {})
    assert act.output_shape == shape
    assert act.cost.elementwise_ops == numel(shape)


@settings(max_examples=150, deadline=None)
@given(any_layer(), st.sampled_from(["lecture", "macs", "flops"]), st.integers(1, 64),
       st.booleans())
def test_full_derivation_ends_in_the_reports_numbers(lay, convention, batch, input_grad):
    # every line of `netcost layer --explain` equals what count() puts in the report
    from netcost.cost.counts import count
    from netcost.ir import Network
    from netcost.ops.explain import layer_derivations

    names = lay.parents
    network = Network("one", dict(zip(names, lay.input_shapes, strict=True)), (lay,))
    row = count(network, batch=batch, convention=convention,
                input_requires_grad=input_grad).layers[0]
    values = {d.quantity: d.value for d in layer_derivations(
        lay, batch=batch, convention=convention, input_grad=input_grad)}
    assert values[f"ops ({convention})"] * batch == row.ops
    assert values[f"backward ops ({convention})"] * batch == row.backward_ops
    assert values.get("backward MACs", 0) * batch == row.backward_macs
    if lay.cost.params:
        assert values["storage (fp32, bytes)"] == row.param_bytes
    key = f"lecture space (batch {batch})" if batch > 1 else "lecture space (1 sample)"
    assert values[key] == row.lecture_space

"""--depth: rows summed up the dotted module path (fvcore-style)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netcost import NetworkBuilder, analyze
from netcost.cost.aggregate import BLOCK, check_depth, collapse, collapse_report, prefix
from netcost.errors import NetcostError
from netcost.report import LayerRow

INT_FIELDS = [f.name for f in dataclasses.fields(LayerRow) if f.type in ("int", int)]


def row(name: str, kind: str = "conv2d", n: int = 1, out: tuple[int, ...] = (1, 4)) -> LayerRow:
    """A row whose every integer column is n (so sums are easy to derive by hand)."""
    return LayerRow(name=name, kind=kind, input_shapes=((1, 2),), output_shape=out,
                    **{f: n for f in INT_FIELDS})


def test_prefix():
    assert prefix("layer1.0.conv1", 1) == "layer1"
    assert prefix("layer1.0.conv1", 2) == "layer1.0"
    assert prefix("layer1.0.conv1", 5) == "layer1.0.conv1"
    assert prefix("fc", 2) == "fc"


def test_groups_sum_and_take_first_input_last_output():
    rows = [row("a.x.conv", "conv2d", 1, (1, 8)), row("a.x.bn", "batch_norm2d", 2, (1, 9)),
            row("a.y", "relu", 4, (1, 10)), row("fc", "linear", 8, (1, 3))]
    got = collapse(rows, 1)
    assert [r.name for r in got] == ["a", "fc"]
    a = got[0]
    # every integer column: 1 + 2 + 4 = 7
    assert all(getattr(a, f) == 7 for f in INT_FIELDS)
    assert a.kind == BLOCK  # conv2d, batch_norm2d and relu differ
    assert a.input_shapes == ((1, 2),) and a.output_shape == (1, 10)
    assert got[1] is rows[3]  # a top-level row is kept as it is

    got2 = collapse(rows, 2)
    assert [r.name for r in got2] == ["a.x", "a.y", "fc"]
    assert got2[0].params == 3 and got2[0].kind == BLOCK


def test_group_of_one_kind_keeps_the_kind():
    got = collapse([row("features.0", "conv2d"), row("features.1", "conv2d")], 1)
    assert len(got) == 1 and got[0].kind == "conv2d" and got[0].macs == 2


def test_depth_beyond_the_names_changes_nothing():
    rows = (row("a.b"), row("c"))
    assert collapse(rows, 3) == rows


def test_scattered_members_are_summed_at_the_first_position():
    # A module called at two places of the forward order (a shared activation block).
    got = collapse([row("act.a", "relu", 1), row("conv", "conv2d", 2), row("act.b", "relu", 4)], 1)
    assert [(r.name, r.kind, r.macs) for r in got] == [("act", "relu", 5), ("conv", "conv2d", 2)]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_bad_depth_is_a_user_error(bad):
    with pytest.raises(NetcostError, match="depth must be a positive integer"):
        check_depth(bad)
    with pytest.raises(NetcostError):
        collapse([row("a.b")], bad)


def test_collapse_report_keeps_totals_and_records_depth():
    b = NetworkBuilder("two", (8,))
    with b.scope("enc"):
        x = b.add("linear", b.input, "fc1", out_features=4)  # (8+1)·4 = 36 params, 32 MACs
        x = b.add("relu", x, "act")
    b.add("linear", x, "head", out_features=2)  # (4+1)·2 = 10 params, 8 MACs
    report = analyze(b.build())
    got = collapse_report(report, 1)
    assert [(r.name, r.kind, r.params, r.macs) for r in got.layers] == [
        ("enc", BLOCK, 36, 32), ("head", "linear", 10, 8)]
    assert got.totals == report.totals and got.extra["depth"] == 1
    assert collapse_report(report, None) is report


names = st.lists(st.sampled_from("abc"), min_size=1, max_size=4).map(".".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, st.integers(0, 10**12)), min_size=1, max_size=12),
       st.integers(1, 4), st.integers(0, 3))
def test_sums_kept_and_depths_nest(items, d1, extra):
    """Collapsing keeps every column sum, and collapsing to d2 >= d1 and then to d1 is the
    same as collapsing to d1 directly (the hierarchy fvcore sums up)."""
    rows = [row(name, "relu" if n % 2 else "conv2d", n) for name, n in items]
    d2 = d1 + extra
    once = collapse(rows, d1)
    for f in INT_FIELDS:
        assert sum(getattr(r, f) for r in once) == sum(getattr(r, f) for r in rows)
    assert collapse(collapse(rows, d2), d1) == once
    assert all(len(r.name.split(".")) <= d1 for r in once)

"""Renderers: golden files, column sums equal the totals, the JSON contract.

Regenerate the golden files after an intended change with
    NETCOST_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_render.py
and read the diff before committing it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from netcost import NetworkBuilder, analyze
from netcost.cost.aggregate import collapse_report
from netcost.render import render
from netcost.render.layout import NUMERIC, TIED_LABEL, table_data
from netcost.render.sections import BUILDERS, Section, format_value, generic, sections

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NETCOST_UPDATE_GOLDEN") == "1"


def tiny_network():
    """A small residual network with every kind of row the table shows, tied weights too.

    Hand-derived, per sample (input 3x32x32):
      stem.conv   3->8, 3x3, pad 1, no bias: params 3·9·8 = 216,  MACs 27·8·32·32 = 221,184
      stem.bn     params 2·8 = 16 (+16 buffers)
      block.conv1 8->8, 3x3, pad 1, no bias: params 8·9·8 = 576,  MACs 72·8·32·32 = 589,824
      block.bn1 16, block.conv2 576 / 589,824, block.bn2 16
      pool        2x2 max pool -> 8x16x16 = 2048 numbers
      head.fc1    2048->16: params 2049·16 = 32,784, MACs 32,768
      head.fc2, head.fc3  16->16 sharing one weight: 17·16 = 272 each, MACs 256 each
    Column of params: 216+16+576+16+576+16+32,784+272+272 = 34,744; the total counts the
    shared weight once: 34,744 − 272 = 34,472. MACs: 221,184 + 2·589,824 + 32,768 + 2·256
    = 1,434,112 per sample.
    """
    b = NetworkBuilder("tinyres", (3, 32, 32), description="a residual toy for the renderers")
    with b.scope("stem"):
        x = b.add("conv2d", b.input, "conv", out_channels=8, kernel=3, padding=1, bias=False)
        x = b.add("batch_norm2d", x, "bn")
        stem = b.add("relu", x, "relu")
    with b.scope("block"):
        x = b.add("conv2d", stem, "conv1", out_channels=8, kernel=3, padding=1, bias=False)
        x = b.add("batch_norm2d", x, "bn1")
        x = b.add("relu", x, "relu1")
        x = b.add("conv2d", x, "conv2", out_channels=8, kernel=3, padding=1, bias=False)
        x = b.add("batch_norm2d", x, "bn2")
        x = b.add("add", [x, stem], "add")
        x = b.add("relu", x, "relu2")
    x = b.add("max_pool2d", x, "pool", kernel=2)
    with b.scope("head"):
        x = b.add("flatten", x, "flatten")
        x = b.add("linear", x, "fc1", out_features=16)
        x = b.add("linear", x, "fc2", out_features=16, weight_key="tied")
        x = b.add("linear", x, "fc3", out_features=16, weight_key="tied")
        b.add("softmax", x, "softmax")
    return b.build()


@pytest.fixture(scope="module")
def tiny():
    return analyze(tiny_network(), batch=2)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with NETCOST_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("fmt,suffix", [("table", "txt"), ("markdown", "md"), ("csv", "csv")])
def test_golden_tiny(tiny, fmt, suffix):
    check_golden(f"tinyres.{suffix}", render(tiny, fmt))


def test_golden_tiny_depth1_int4(tiny):
    report = analyze(tiny_network(), batch=3, precision="int4", convention="macs")
    check_golden("tinyres_depth1_int4.txt", render(collapse_report(report, 1), "table"))


@pytest.mark.parametrize("fmt,suffix", [("table", "txt"), ("markdown", "md"), ("csv", "csv")])
def test_golden_resnet18_depth1(fmt, suffix):
    report = collapse_report(analyze("resnet18"), 1)
    check_golden(f"resnet18_depth1.{suffix}", render(report, fmt))


def test_hand_derived_totals(tiny):
    # See tiny_network's docstring; batch 2 doubles MACs but not params.
    assert tiny.totals["params"] == 34_472
    assert sum(r.params for r in tiny.layers) == 34_744
    assert tiny.totals["macs"] == 2 * 1_434_112


def test_column_sums_equal_totals(tiny):
    data = table_data(tiny)
    for i, column in enumerate(NUMERIC):
        column_sum = sum(v[i] for v in data.values)
        if data.adjustment is not None:
            column_sum += data.adjustment[i]
        assert column_sum == data.totals[i], column.key
    # The tied weight (16->16 with bias, 272 params) is taken off once, visibly.
    assert data.adjustment is not None and data.adjustment[0] == -272
    table = render(tiny, "table")
    assert TIED_LABEL in table and "-272" in table
    total_line = next(line for line in table.splitlines() if line.strip().startswith("total"))
    assert "34,472" in total_line


@pytest.mark.parametrize("precision", ["fp32", "int4", "fp8"])
def test_column_sums_equal_totals_at_precisions(precision):
    report = analyze(tiny_network(), batch=3, precision=precision)
    data = table_data(report)
    for i, _ in enumerate(NUMERIC):
        adj = data.adjustment[i] if data.adjustment is not None else 0
        assert sum(v[i] for v in data.values) + adj == data.totals[i]


def test_no_adjustment_row_without_tied_weights():
    b = NetworkBuilder("plain", (4,))
    b.add("linear", b.input, "fc", out_features=3)
    report = analyze(b.build())
    assert table_data(report).adjustment is None
    assert TIED_LABEL not in render(report, "table")


def test_table_header_says_model_input_precision_convention_coverage(tiny):
    text = render(analyze(tiny_network(), batch=2, precision="bf16", convention="flops"))
    head = text.split("─")[0]
    assert "tinyres" in head
    assert "2x3x32x32" in head and "batch 2" in head
    assert "bf16 (2 bytes per number)" in head
    assert "flops: 2 per MAC" in head  # the convention's meaning, not only its name
    assert "complete" in head


def test_partial_coverage_is_shown(tiny):
    import dataclasses

    partial = dataclasses.replace(tiny, coverage={"status": "partial",
                                                  "unsupported": {"aten.roll": 3}})
    assert "partial: no formula for aten.roll ×3" in render(partial, "table")
    assert "aten.roll ×3" in render(partial, "markdown")


def test_csv_has_exact_integers_that_sum_to_totals(tiny):
    rows = list(csv.DictReader(io.StringIO(render(tiny, "csv"))))
    assert [r["name"] for r in rows] == [layer.name for layer in tiny.layers]
    assert rows[0]["input_shape"] == "2x3x32x32" and rows[0]["output_shape"] == "2x8x32x32"
    for key in ("macs", "ops", "flops", "activations", "activation_bytes", "backward_ops"):
        assert sum(int(r[key]) for r in rows) == tiny.totals[key], key
    # params per row: the shared weight appears in both rows that use it
    assert sum(int(r["params"]) for r in rows) == 34_744


def test_json_schema_and_exact_ints(tiny):
    d = json.loads(render(tiny, "json"))
    assert d["schema"] == "netcost.report/1"
    for key in ("model", "input", "batch", "precision", "convention", "totals", "layers",
                "coverage"):
        assert key in d, key
    assert d["model"] == "tinyres" and d["input"] == [2, 3, 32, 32] and d["batch"] == 2
    assert d["precision"] == "fp32" and d["convention"] == "lecture"
    for key in ("params", "param_bytes", "macs", "ops", "activations", "activation_bytes"):
        assert type(d["totals"][key]) is int, key
    assert d["totals"]["params"] == 34_472 and d["totals"]["param_bytes"] == 4 * 34_472
    assert set(d["coverage"]) >= {"status", "unsupported"}
    assert d["coverage"]["status"] == "complete" and d["coverage"]["unsupported"] == {}
    assert len(d["layers"]) == len(tiny.layers)
    for layer in d["layers"]:
        for key in ("name", "kind", "input_shape", "output_shape", "params", "macs", "ops"):
            assert key in layer, key
        for key, value in layer.items():
            if key not in ("name", "kind", "input_shape", "input_shapes", "output_shape"):
                assert type(value) is int, (layer["name"], key)
        assert all(type(n) is int for n in layer["output_shape"])
    conv = d["layers"][0]
    assert conv["input_shape"] == [2, 3, 32, 32] and conv["macs"] == 2 * 221_184


def test_json_depth_is_recorded(tiny):
    d = json.loads(render(collapse_report(tiny, 1), "json"))
    assert d["depth"] == 1
    assert [layer["name"] for layer in d["layers"]] == ["stem", "block", "pool", "head"]


def test_memory_and_time_sections_render_generically(tiny, monkeypatch):
    import dataclasses

    monkeypatch.delitem(BUILDERS, "memory")  # the memory and time builders are tested apart
    monkeypatch.delitem(BUILDERS, "time")
    report = dataclasses.replace(
        tiny,
        memory={"training": {"peak_bytes": 3 * 2**20, "terms": {"weights": 1536}}},
        time={"device": "cpu", "iteration_s": 0.0125, "layers": [{"name": "x"}]},
    )
    got = sections(report)
    assert [s.title for s in got] == ["memory", "time"]
    assert ("training.peak_bytes", "3.00 MiB (3,145,728 B)") in got[0].items
    assert ("training.terms.weights", "1,536") in got[0].items
    assert ("iteration_s", "12.5 ms") in got[1].items
    assert ("layers", "1 entries (see --format json)") in got[1].items
    table = render(report, "table")
    assert "\nmemory\n" in table and "3.00 MiB" in table and "12.5 ms" in table
    md = render(report, "markdown")
    assert "### memory" in md and "### time" in md
    assert json.loads(render(report, "json"))["memory"]["training"]["peak_bytes"] == 3 * 2**20
    bare = dataclasses.replace(tiny, memory=None)
    assert "memory" not in render(bare, "table").split("totals")[1]


def test_registered_section_builder_replaces_generic(tiny, monkeypatch):
    import dataclasses
    import sys
    import types

    module = types.ModuleType("netcost._test_sections")
    module.build = lambda report: [Section("memory (custom)", (("peak", "1 GiB"),))]
    monkeypatch.setitem(sys.modules, "netcost._test_sections", module)
    monkeypatch.setitem(BUILDERS, "memory", "_test_sections:build")
    report = dataclasses.replace(tiny, memory={"x": 1})
    assert [s.title for s in sections(report)] == ["memory (custom)"]


def test_format_value_units():
    assert format_value("peak_bytes", 1024) == "1.00 KiB (1,024 B)"
    assert format_value("forward_s", 2.5) == "2.50 s"
    assert format_value("ratio", 0.123456) == "0.1235"
    assert format_value("name", "a100") == "a100"
    assert generic("m", {"a": {"b": 1}}).items == (("a.b", "1"),)


def test_unknown_format_is_a_user_error(tiny):
    from netcost.errors import NetcostError

    with pytest.raises(NetcostError, match="unknown format 'yaml'"):
        render(tiny, "yaml")


def test_json_layout_is_plain_json(tiny):
    # One layer per line, objects indented: the same data json.dumps would give.
    import dataclasses

    report = dataclasses.replace(tiny, memory={"lecture": {}, "terms": [{"a": 1}]})
    text = render(report, "json")
    assert json.loads(text) == json.loads(json.dumps(report.to_dict()))
    layer_lines = [line for line in text.splitlines() if line.startswith('    {"name"')]
    assert len(layer_lines) == len(tiny.layers)

"""`netcost paper`: the table, markdown and JSON outputs, and bad input (exit 2)."""

from __future__ import annotations

import json

from cli_helpers import run, run_fresh


def test_googlenet_table(capsys):
    code, out, err = run(capsys, "paper", "googlenet")
    assert code == 0 and err == ""
    assert out.startswith("GoogLeNet, Table 1")
    lines = out.splitlines()
    row_3a = next(line for line in lines if "inception (3a)" in line).split()
    # 3a: printed 159K / 128M; computed 163,328/1024 = 159.5K and 128.05M
    assert row_3a[2:] == ["28×28×256", "159", "159.5", "+0.3%", "128", "128.0", "+0.0%"]
    # six flagged figures, each with a numbered explanation printed below the table
    assert out.count("⚑") == 6 + 1  # + the legend line
    for n in range(1, 7):
        assert f"[{n}]" in out
    assert "1,097,728 = 1072.0K" in out and "928" in out


def test_resnet_markdown(capsys):
    code, out, _ = run(capsys, "paper", "resnet", "--format", "markdown")
    assert code == 0 and out.startswith("## ResNet, Table 1")
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0] == "| row | FLOPs paper ×10^9 | FLOPs netcost ×10^9 | Δ |"
    # 18-layer: 1,814,073,344 multiply-adds = 1.81×10^9 against the printed 1.8: +0.8%
    assert table[1] == "| 18-layer | 1.8 | 1.81 | +0.8% |"
    assert len(table) == 1 + 5


def test_json(capsys):
    code, out, _ = run(capsys, "paper", "GoogLeNet", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["schema"] == "netcost.paper/1" and d["paper"] == "googlenet"
    assert [r["row"] for r in d["rows"]][:3] == ["convolution 7×7/2",
                                                 "convolution 3×3/1 (depth 2)",
                                                 "inception (3a)"]
    linear = d["rows"][-1]
    assert linear["macs"]["computed"] == 1_024_000 and linear["macs"]["flagged"]
    assert {(f["row"], f["quantity"]) for f in d["flagged"]} >= {("inception (5a)", "params")}


def test_output_file(capsys, tmp_path):
    target = tmp_path / "resnet.json"
    code, out, err = run(capsys, "paper", "resnet", "--format", "json", "-o", str(target))
    assert code == 0 and out == "" and "wrote" in err
    assert json.loads(target.read_text())["rows"][2]["macs"]["computed"] == 3_857_973_248


def test_unknown_table_exits_2(capsys):
    code, out, err = run(capsys, "paper", "googlenett")
    assert code == 2 and out == ""
    assert err == "error: no paper table for 'googlenett'; choose googlenet or resnet\n"


def test_bad_format_exits_2(capsys):
    code, _, err = run(capsys, "paper", "resnet", "--format", "csv")
    assert code == 2 and "Traceback" not in err


def test_no_torch_import():
    _, _, imported = run_fresh("paper", "googlenet")
    assert "torch" not in imported

"""`netcost report`, `compare` and `models`: output, formats, and bad input (exit 2)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from cli_helpers import run, run_fresh

from netcost.cli.report import parse_model_arg

# torchvision's resnet18 (the paper's ResNet-18 is the same network): 11,689,512 params
RESNET18_PARAMS = 11_689_512


def test_report_table(capsys):
    code, out, err = run(capsys, "report", "resnet18")
    assert code == 0 and err == ""
    assert out.startswith("netcost report · resnet18")
    assert "1x3x224x224 (batch 1" in out and "fp32 (4 bytes per number)" in out
    assert "layer4.1.conv2" in out and "conv2d" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    assert f"{RESNET18_PARAMS:,}" in total


def test_report_json_scales_with_batch_and_precision(capsys):
    _, out1, _ = run(capsys, "report", "resnet18", "--format", "json")
    code, out8, _ = run(capsys, "report", "resnet18", "--format", "json", "--batch", "8",
                        "--precision", "fp16", "--convention", "macs")
    one, eight = json.loads(out1), json.loads(out8)
    assert code == 0 and eight["batch"] == 8 and eight["input"] == [8, 3, 224, 224]
    assert eight["precision"] == "fp16" and eight["convention"] == "macs"
    assert eight["totals"]["params"] == one["totals"]["params"] == RESNET18_PARAMS
    assert eight["totals"]["param_bytes"] == 2 * RESNET18_PARAMS  # fp16: 2 bytes each
    assert eight["totals"]["macs"] == 8 * one["totals"]["macs"]
    assert eight["totals"]["ops"] == eight["totals"]["macs"]  # the macs convention


def test_report_depth_and_input(capsys):
    code, out, _ = run(capsys, "report", "resnet18", "--depth", "1", "--format", "csv",
                       "--input", "3x112x112")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [r["name"] for r in rows] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                        "layer3", "layer4", "avgpool", "flatten", "fc"]
    assert rows[0]["input_shape"] == "1x3x112x112"
    assert sum(int(r["params"]) for r in rows) == RESNET18_PARAMS
    assert rows[4]["kind"] == "block"


def test_report_output_file(capsys, tmp_path):
    target = tmp_path / "r.md"
    code, out, err = run(capsys, "report", "resnet18", "--format", "markdown", "-o", str(target))
    assert code == 0 and out == "" and str(target) in err
    assert target.read_text(encoding="utf-8").startswith("## netcost report: resnet18")


def test_compare(capsys):
    code, out, _ = run(capsys, "compare", "resnet18", "resnet50-v1.5", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["schema"] == "netcost.compare/1"
    assert [m["model"] for m in d["models"]] == ["resnet18", "resnet50-v1.5"]
    assert d["models"][1]["totals"]["params"] == 25_557_032  # torchvision resnet50
    assert "layers" not in d["models"][0]
    code, out, _ = run(capsys, "compare", "resnet18", "resnet50-v1.5")
    lines = out.splitlines()
    assert code == 0 and any(line.startswith("resnet18 ") and "11,689,512" in line
                             for line in lines)
    assert any(line.startswith("resnet50-v1.5 ") and "25,557,032" in line for line in lines)


def test_models_lists_the_zoo(capsys):
    from netcost.zoo import entries

    code, out, _ = run(capsys, "models")
    names = [line.split()[0] for line in out.splitlines()[2:]]
    assert code == 0 and names == list(entries())
    code, out, _ = run(capsys, "models", "--format", "json")
    assert {m["name"] for m in json.loads(out)} == set(entries())


def test_parse_model_arg_keeps_import_paths_whole():
    assert parse_model_arg("resnet50").model == "resnet50"
    assert parse_model_arg("torchvision:resnet50").model == "torchvision:resnet50"


@pytest.mark.parametrize("args,message", [
    (["report", "resnt50"], "unknown model 'resnt50'; did you mean resnet50"),
    (["report", "resnet18", "--precision", "fp12"], "unknown precision 'fp12'"),
    (["report", "resnet18", "--convention", "gflops"], "unknown convention 'gflops'"),
    (["report", "resnet18", "--depth", "0"], "depth must be a positive integer"),
    (["report", "resnet18", "--depth", "-2"], "depth must be a positive integer"),
    (["report", "resnet18", "--depth", "two"], "'two' is not a valid integer"),
    (["report", "resnet18", "--batch", "0"], "batch must be a positive integer"),
    (["report", "resnet18", "--input", "3x224"], "3x224"),
    (["report", "resnet18", "--format", "yaml"], "'yaml' is not one of"),
    (["compare", "resnet18", "vgg61"], "unknown model 'vgg61'"),
    (["compare"], "Missing argument"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert message in err and "Traceback" not in err and out == ""


def test_process_exit_code_no_traceback_and_no_torch():
    # The real console script path: a typo exits 2 with one line; a report imports no torch.
    bad = subprocess.run([sys.executable, "-m", "netcost", "report", "resnet5O"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: unknown model 'resnet5O'")
    _, _, imported = run_fresh("report", "resnet18", "--format", "json")
    assert imported == set()


def test_compare_zoo_name_with_bad_epochs_names_the_syntax(capsys):
    # 'resnet50' is a zoo name, so ':abc' can only be meant as epochs to converge
    code, out, err = run(capsys, "compare", "resnet50:abc")
    assert code == 2 and "Traceback" not in err
    assert "epochs in 'resnet50:abc' must be a positive integer, e.g. resnet50:90" in err

"""Plan arithmetic (iterations, epochs, time to train), compare's MODEL:EPOCHS ranking
with the lecture's example, and bad input (exit 2, one sentence)."""

from __future__ import annotations

import json

import pytest
from cli_helpers import run

import netcost
from netcost.cli.report import parse_model_arg
from netcost.cost import time as tm
from netcost.errors import NetcostError


def test_iterations_per_epoch_is_the_ceiling():
    # ImageNet: 1,281,167 / 256 = 5,004.56 -> 5,005 iterations (the last one partial)
    assert tm.iterations_per_epoch(1_281_167, 256) == 5005
    assert tm.iterations_per_epoch(1024, 256) == 4
    assert tm.iterations_per_epoch(1, 256) == 1


def test_plan_arithmetic():
    net = netcost.load("resnet18")
    p = tm.plan(net, device="t4", batch=256, epochs=90, dataset=1_281_167, memory=False)
    full = tm.estimate(net, batch=256, device="t4").iteration_s
    # the last batch holds 1,281,167 - 5,004 * 256 = 143 samples
    last = tm.estimate(net, batch=143, device="t4").iteration_s
    assert p.iterations_per_epoch == 5005
    assert p.epoch_s == pytest.approx(5004 * full + last)
    assert p.total_s == pytest.approx(90 * p.epoch_s)
    assert p.fits is None  # memory not asked


def test_plan_memory_fit_uses_the_memory_model():
    net = netcost.load("resnet18")
    small = tm.plan(net, device="a100-80gb", batch=32, epochs=1, dataset=32)
    assert small.fits is True and 0 < small.training_peak_bytes < small.memory_bytes
    huge = tm.plan(net, device="k80", batch=4096, epochs=1, dataset=4096)
    assert huge.fits is False  # 4096 images of 224x224 do not train in 12 GiB


def _plan(name, epochs, epoch_s):
    return tm.TrainingPlan(model=name, device="d", batch=1, dataset=1, epochs=epochs,
                           iterations_per_epoch=1, iteration_s=epoch_s, last_iteration_s=epoch_s)


def test_the_lectures_example_ranks_the_more_epochs_network_first():
    # The lecture: 10 epochs at 2.4 h each (24 h) against 100 epochs at 1.5 min each (2.5 h):
    # the network that needs ten times the epochs trains first.
    few = _plan("few-epochs", 10, 2.4 * 3600)
    many = _plan("many-epochs", 100, 1.5 * 60)
    assert few.total_s == pytest.approx(24 * 3600) and many.total_s == pytest.approx(2.5 * 3600)
    assert [p.model for p in tm.rank_by_time([few, many])] == ["many-epochs", "few-epochs"]


def test_compare_parses_epochs_after_the_last_colon():
    assert parse_model_arg("resnet50:90") == type(parse_model_arg("x"))("resnet50", 90)
    assert parse_model_arg("torchvision:resnet50:90").model == "torchvision:resnet50"
    assert parse_model_arg("torchvision:resnet50").epochs is None
    with pytest.raises(NetcostError, match="must be a positive integer"):
        parse_model_arg("resnet50:0")


def test_compare_ranks_by_wall_clock_time(capsys):
    code, out, err = run(capsys, "compare", "resnet18:100", "vgg16:10", "--device", "t4",
                         "--dataset", "50000", "--batch", "64", "--format", "json")
    assert code == 0, err
    plans = json.loads(out)["plans"]
    assert [p["total_s"] for p in plans] == sorted(p["total_s"] for p in plans)
    by_model = {p["model"]: p for p in plans}
    # 50,000 / 64 = 781.25 -> 782 iterations per epoch for both
    assert by_model["vgg16"]["iterations_per_epoch"] == 782
    assert by_model["resnet18"]["epochs"] == 100
    code, out, _ = run(capsys, "compare", "resnet18:100", "vgg16:10", "--device", "t4",
                       "--dataset", "50000")
    assert code == 0 and "time to train" in out


def test_plan_cli(capsys):
    code, out, err = run(capsys, "plan", "resnet50", "--device", "a100", "--batch", "256",
                         "--epochs", "90", "--dataset", "1281167", "--format", "json")
    assert code == 0, err
    p = json.loads(out)["plans"][0]
    assert p["iterations_per_epoch"] == 5005 and p["device"] == "a100-40gb"
    assert p["total_s"] == pytest.approx(90 * p["epoch_s"])


@pytest.mark.parametrize("args,match", [
    (["--batch", "0"], "--batch must be a positive integer"),
    (["--dataset", "-5"], "--dataset must be a positive integer"),
    (["--epochs", "0"], "--epochs must be a positive integer"),
    (["--device", "a1000"], "unknown device 'a1000'; did you mean"),
])
def test_plan_bad_input_is_one_sentence_exit_2(capsys, args, match):
    base = {"--device": "a100", "--batch": "256", "--epochs": "90", "--dataset": "1281167"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, out, err = run(capsys, "plan", "resnet50", *[x for kv in base.items() for x in kv])
    assert code == 2 and match in err and err.count("\n") == 1 and out == ""


def test_compare_by_time_needs_device_and_dataset(capsys):
    code, _, err = run(capsys, "compare", "resnet18:10", "vgg16:5", "--dataset", "100")
    assert code == 2 and "needs --device" in err
    code, _, err = run(capsys, "compare", "resnet18:10", "vgg16:5", "--device", "t4")
    assert code == 2 and "needs --dataset" in err
    code, _, err = run(capsys, "compare", "resnet18:10", "vgg16", "--device", "t4",
                       "--dataset", "100")
    assert code == 2 and "vgg16:90" in err

"""measure.memory: a real (tiny) model measured on CPU against netcost's prediction, and
`netcost measure` on good and bad input."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from cli_helpers import run  # noqa: E402

from netcost.cost.memory import estimate  # noqa: E402
from netcost.importers.torch import load  # noqa: E402
from netcost.measure.memory import MeasureOutOfMemory, compare, measure_memory  # noqa: E402


def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(inplace=True), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(inplace=True),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Dropout(0.2),
        torch.nn.Linear(16, 10))


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_tiny_model_predicted_matches_measured(optimizer):
    model = tiny()
    network = load(model, input_shape=(1, 3, 32, 32))
    x = torch.randn(4, 3, 32, 32)
    measured = measure_memory(model, x, optimizer=optimizer, device="cpu")
    predicted = estimate(network, batch=4, optimizer=optimizer, backend="cpu")
    rows = {what: (p, m) for what, p, m in compare(predicted, measured)}
    # What is alive throughout is known exactly: (8·3·9+8) + 16 + (16·8·9+16) + (16·10+10)
    # = 224 + 16 + 1,168 + 170 = 1,578 params -> 6,312 B; buffers 2·8 fp32 + one int64
    # counter = 72 B.
    assert rows["weights"] == (6312, 6312)
    assert rows["buffers"] == (72, 72)
    assert rows["weight gradients (all)"] == (6312, 6312)
    state = 6312 if optimizer == "momentum" else 2 * 6312 + 4 * 8  # Adam: 8 step counters
    assert rows["optimizer state"] == (state, state)
    # Inputs 4·3·32·32·4 = 49,152 B and int64 labels 32 B.
    assert rows["inputs and labels"] == (49_184, 49_184)
    for what in ("training peak", "inference peak", "activations held into backward"):
        p, m = rows[what]
        assert abs(p / m - 1) < 0.02, (what, p, m)


def test_out_of_memory_is_reported_not_raised():
    class Greedy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to "
                               "allocate 1099511627776 bytes.")

    with pytest.raises(MeasureOutOfMemory, match="ran out of memory on cpu"):
        measure_memory(Greedy(), torch.randn(2, 4))


def test_measure_cli_prints_predicted_against_measured(capsys):
    # this file is importable under pytest, so `tiny` above serves as an import path
    code, out, err = run(capsys, "measure", "test_measure:tiny", "--batch", "2",
                         "--input", "3x32x32", "--optimizer", "sgd")
    assert code == 0, err
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines()[2:]}
    assert "training peak" in lines and "inference peak" in lines
    assert lines["weights"].rstrip().endswith("+0.00%")
    assert "%" in lines["training peak"]


@pytest.mark.parametrize("args, message", [
    (("resnet18", "--batch", "0"), "batch must be a positive integer"),
    (("resnet18", "--optimizer", "rmsprop"), "unknown optimizer"),
    (("resnet18", "--device", "tpu"), "measure runs on cpu or cuda"),
    (("lenet5",), "has no PyTorch twin"),
])
def test_measure_bad_input_exit_2(capsys, args, message):
    code, _, err = run(capsys, "measure", *args)
    assert code == 2 and message in err and "Traceback" not in err

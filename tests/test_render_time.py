"""The time section of a report, rendered from cost/time.py's dict."""

from netcost.cost.counts import count
from netcost.ir import NetworkBuilder
from netcost.render.time import sections


def _report_with_time():
    b = NetworkBuilder("toy", (8,))
    b.add("linear", b.input, "fc", out_features=4)
    report = count(b.build(), batch=2)
    report.time = {
        "device": "t4", "device_name": "NVIDIA T4", "method": "catalogue", "batch": 2,
        "iteration_s": 0.004, "forward_s": 0.001, "backward_s": 0.002, "optimizer_s": 0.001,
        "inference_s": 0.0009,
        "layers": [
            {"name": "a", "kind": "conv2d", "forward_s": 0.0006, "backward_s": 0.0012,
             "bound": "compute"},
            {"name": "b", "kind": "relu", "forward_s": 0.0001, "backward_s": 0.0001,
             "bound": "memory"},
        ],
    }
    return report


def test_phases_shares_and_bounds():
    (section,) = sections(_report_with_time())
    items = dict(section.items)
    assert section.title == "time (batch 2, NVIDIA T4)"
    assert items["training iteration"] == "4.0 ms"
    # forward 1 ms of a 4 ms iteration = 25%; backward 2 of 4 = 50%
    assert items["  forward"] == "1.0 ms (25%)"
    assert items["  backward"] == "2.0 ms (50%)"
    # layer time: a = 1.8 ms, b = 0.2 ms; compute share 1.8/2.0 = 90%
    assert items["compute-bound layers"] == "1, 90% of layer time"
    assert items["memory-bound layers"] == "1, 10% of layer time"
    assert items["  a"] == "1.8 ms (conv2d, compute-bound)"
    labels = [label for label, _ in section.items]
    assert labels.index("  a") < labels.index("  b")  # slowest first

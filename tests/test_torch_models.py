"""Every classification model torchvision ships analyses at its own input size, with every
op covered, exact params, and MACs matching the published _ops at the weights' crop size."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
tvm = pytest.importorskip("torchvision.models")

from netcost import load  # noqa: E402
from netcost.importers.torch import _build  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]

MODELS = tvm.list_models(module=tvm)


def test_the_catalogue_is_all_there():
    assert len(MODELS) >= 80


@pytest.mark.filterwarnings("ignore::FutureWarning")  # googlenet/inception init notice
@pytest.mark.parametrize("name", MODELS)
def test_torchvision_model(name):
    net = load(f"torchvision:{name}")
    model = _build(f"torchvision:{name}", {})  # the importer's own fast build, on meta
    assert net.params == sum(p.numel() for p in model.parameters())
    assert net.params == net.extra["params_total"]
    assert net.extra["unsupported"] == {}, "ops without a formula"
    weights = tvm.get_model_weights(name).DEFAULT
    size = weights.transforms().crop_size
    size = size[0] if isinstance(size, (list, tuple)) else size
    if name != "googlenet":  # the published googlenet has no auxiliary heads
        # aux_logits default to the published model's for inception_v3
        if net.inputs["input"] == (3, size, size):
            assert net.params == weights.meta["num_params"]
            macs = sum(layer.cost.macs for layer in net.layers)
            # within 0.5%, or within the rounding of the published figure (3 decimals)
            error = abs(macs / 1e9 - weights.meta["_ops"])
            assert error < max(0.005 * weights.meta["_ops"], 0.0005)
    # backward traced for every model: weight gradients cost as much as the forward MACs
    # of every layer with weights (conv, linear), so they are never zero
    assert sum(layer.cost.backward_weight_macs for layer in net.layers) > 0


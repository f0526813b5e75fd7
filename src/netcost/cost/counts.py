"""Counts for a whole network at a batch, precision and convention: the Report's core."""

from __future__ import annotations

from ..ir import Layer, Network, format_shape, numel
from ..report import LayerRow, Report
from ..units import check_precision, nbytes
from .conventions import backward_macs, backward_ops, check_convention, forward_ops


def needs_input_grad(network: Network, *, input_requires_grad: bool = False) -> dict[str, bool]:
    """Autograd's rule: a layer computes its input gradient only if some input of it
    depends on a trainable parameter (or on an input that requires grad)."""
    requires = {name: input_requires_grad for name in network.inputs}
    needs: dict[str, bool] = {}
    for layer in network.layers:
        needs[layer.name] = any(requires[p] for p in layer.parents)
        requires[layer.name] = needs[layer.name] or layer.cost.params > 0
    return needs


def lecture_space(layer: Layer) -> int:
    """The lecture's operational space for one sample, in numbers: weights and their
    gradients, the input and its gradient, the output and its gradient."""
    return 2 * layer.cost.params + 2 * layer.input_numel + 2 * layer.output_numel


def lecture_batch_space(layer: Layer, batch: int) -> int:
    """The lecture's batch model as stated: weights once; weight gradients, inputs,
    outputs and their gradients once per sample."""
    p = layer.cost.params
    return p + batch * (p + 2 * layer.input_numel + 2 * layer.output_numel)


def layer_row(layer: Layer, *, batch: int, precision: str, convention: str,
              needs_grad: bool) -> LayerRow:
    c = layer.cost
    return LayerRow(
        name=layer.name,
        kind=layer.kind,
        input_shapes=tuple((batch, *s) for s in layer.input_shapes),
        output_shape=(batch, *layer.output_shape),
        params=c.params,
        param_bytes=nbytes(c.params, precision),
        macs=batch * c.macs,
        ops=batch * forward_ops(c, convention, layer),
        flops=batch * forward_ops(c, "flops"),
        activations=batch * layer.output_numel,
        activation_bytes=nbytes(batch * layer.output_numel, precision),
        backward_macs=batch * backward_macs(c, needs_grad),
        backward_ops=batch * backward_ops(c, convention, needs_grad),
        lecture_space=lecture_batch_space(layer, batch),
    )


def count(network: Network, *, batch: int = 1, precision: str = "fp32",
          convention: str = "lecture", input_requires_grad: bool = False) -> Report:
    precision = check_precision(precision)
    convention = check_convention(convention)
    needs = needs_input_grad(network, input_requires_grad=input_requires_grad)
    rows = tuple(
        layer_row(layer, batch=batch, precision=precision, convention=convention,
                  needs_grad=needs[layer.name])
        for layer in network.layers
    )
    params = network.params  # tied weights once, unlike the column sum
    totals = {
        "params": params,
        "param_bytes": nbytes(params, precision),
        "buffers": network.buffers,
        "buffer_bytes": nbytes(network.buffers, precision),
        "macs": sum(r.macs for r in rows),
        "ops": sum(r.ops for r in rows),
        "flops": sum(r.flops for r in rows),
        "activations": sum(r.activations for r in rows),
        # each activation is its own tensor, rounded up to whole bytes (int4) on its own
        "activation_bytes": sum(r.activation_bytes for r in rows),
        "backward_macs": sum(r.backward_macs for r in rows),
        "backward_ops": sum(r.backward_ops for r in rows),
        "lecture_space": sum(r.lecture_space for r in rows),
    }
    totals["training_ops"] = totals["ops"] + totals["backward_ops"]
    unsupported = dict(network.extra.get("unsupported", {}))
    return Report(
        model=network.name,
        inputs={k: (batch, *v) for k, v in network.inputs.items()},
        batch=batch,
        precision=precision,
        convention=convention,
        totals=totals,
        layers=rows,
        coverage={"status": "partial" if unsupported else "complete",
                  "unsupported": unsupported},
        source=network.source,
        description=network.description,
    )


__all__ = ["count", "format_shape", "lecture_space", "needs_input_grad", "numel"]

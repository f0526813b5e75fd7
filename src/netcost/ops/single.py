"""A Network of one layer, for `netcost layer` and for tests that cost a layer alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidArgument
from ..ir import Layer, Network, Shape, parse_shape
from .registry import get_op


def one_layer_network(kind: str, inputs: Sequence[Shape | str], attrs: Mapping[str, Any],
                      *, name: str | None = None) -> Network:
    """Validate, infer the output shape and cost one layer of `kind` on per-sample `inputs`."""
    if not inputs:
        raise InvalidArgument(f"{kind} needs an input shape")
    shapes = tuple(parse_shape(s) for s in inputs)
    op = get_op(kind)
    normalized = op.normalize(dict(attrs), shapes)
    output = op.output_shape(normalized, shapes)
    cost = op.cost(normalized, shapes, output)
    names = ("input",) if len(shapes) == 1 else tuple(f"input{i}" for i in range(len(shapes)))
    layer = Layer(name or kind, kind, normalized, shapes, output, names, cost)
    return Network(name or kind, dict(zip(names, shapes, strict=True)), (layer,), source="layer")

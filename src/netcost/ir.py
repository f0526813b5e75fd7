"""The one intermediate representation: a network of named layers with shapes and costs.

Shapes are per sample (the batch dimension is left out); every count in a Layer's cost is
for one sample, and reports scale by the batch. Importers build a Network; cost models
and renderers only read it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidArgument, ShapeError

Shape = tuple[int, ...]


def numel(shape: Shape) -> int:
    return math.prod(shape)


def format_shape(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def parse_shape(text: str | Sequence[int], *, dims: int | None = None) -> Shape:
    """'3x224x224' -> (3, 224, 224); checks positivity and, if given, the number of dims."""
    if isinstance(text, str):
        parts = text.lower().replace("×", "x").replace(",", "x").split("x")
        try:
            shape = tuple(int(p) for p in parts)
        except ValueError:
            raise ShapeError(
                f"cannot read shape {text!r}; write sizes joined by 'x', e.g. 3x224x224"
            ) from None
    else:
        shape = tuple(int(d) for d in text)
    if dims is not None and len(shape) != dims:
        example = "x".join(["3", "224", "224", "224"][:dims]) if dims > 1 else "4096"
        raise ShapeError(
            f"shape {format_shape(shape)!r} has {len(shape)} dimension(s); "
            f"expected {dims}, e.g. {example}"
        )
    if any(d <= 0 for d in shape):
        raise ShapeError(f"shape {format_shape(shape)!r} has a zero or negative size")
    return shape


@dataclass(frozen=True)
class LayerCost:
    """What one layer costs for one sample. MACs are stored; every op count is derived
    from these terms by a convention (see cost/conventions.py)."""

    params: int = 0  # trainable numbers owned by this layer
    macs: int = 0  # multiply-accumulates of conv / matmul, bias excluded
    dot_outputs: int = 0  # outputs of a dot-product layer (each is one dot product)
    bias_ops: int = 0  # one addition per output of a biased dot-product layer
    elementwise_ops: int = 0  # other arithmetic: activations, norms, pools, adds, softmax
    backward_input_macs: int = 0  # MACs to compute the gradient w.r.t. the input
    backward_weight_macs: int = 0  # MACs to compute the gradient w.r.t. the weights
    backward_elementwise_ops: int = 0
    saved_numel: int = 0  # numbers autograd keeps from forward for this layer's backward
    buffers: int = 0  # non-trainable state (batch-norm running statistics ...)

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidArgument(f"cost term {name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True)
class Layer:
    name: str  # unique; dotted module path, e.g. "layer1.0.conv1"
    kind: str  # key of the op registry, e.g. "conv2d"
    attrs: Mapping[str, Any]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    parents: tuple[str, ...]  # producer layers, or input names
    cost: LayerCost
    weight_key: str | None = None  # layers sharing a key share (tied) weights
    # Set by importers that count backward from a real trace: the first layer's input needs no
    # gradient, so cost models leave its backward_input_macs out unless told otherwise.

    @property
    def input_numel(self) -> int:
        return sum(numel(s) for s in self.input_shapes)

    @property
    def output_numel(self) -> int:
        return numel(self.output_shape)


@dataclass(frozen=True)
class Network:
    name: str
    inputs: Mapping[str, Shape]  # per-sample shape of each network input
    layers: tuple[Layer, ...]
    description: str = ""
    source: str = "zoo"  # zoo | torch | spec
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: set[str] = set(self.inputs)
        for layer in self.layers:
            if layer.name in seen:
                raise InvalidArgument(f"layer name {layer.name!r} is used twice")
            missing = [p for p in layer.parents if p not in seen]
            if missing:
                raise InvalidArgument(
                    f"layer {layer.name!r} reads {missing[0]!r}, which is not defined before it"
                )
            seen.add(layer.name)

    @property
    def input_shape(self) -> Shape:
        return next(iter(self.inputs.values()))

    @property
    def params(self) -> int:
        """Trainable parameters, tied weights counted once."""
        total, seen = 0, set()
        for layer in self.layers:
            if layer.weight_key is not None:
                if layer.weight_key in seen:
                    continue
                seen.add(layer.weight_key)
            total += layer.cost.params
        return total

    @property
    def buffers(self) -> int:
        return sum(layer.cost.buffers for layer in self.layers)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {name: [] for name in self.inputs}
        for layer in self.layers:
            out.setdefault(layer.name, [])
            for p in layer.parents:
                out[p].append(layer.name)
        return out


class NetworkBuilder:
    """Builds a Network layer by layer, inferring shapes and costs from the op registry.

    Tensors are referred to by the name of the layer (or input) that produced them.
    """

    def __init__(self, name: str, input_shape: Sequence[int], *, input_name: str = "input",
                 description: str = ""):
        self.name = name
        self.description = description
        self._inputs: dict[str, Shape] = {input_name: parse_shape(input_shape)}
        self._shapes: dict[str, Shape] = dict(self._inputs)
        self._layers: list[Layer] = []
        self._scope: list[str] = []
        self.input = input_name

    def shape(self, tensor: str) -> Shape:
        return self._shapes[tensor]

    @contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Layers added inside get the module path prefix `name.`."""
        self._scope.append(name)
        try:
            yield
        finally:
            self._scope.pop()

    def add(self, kind: str, inputs: str | Sequence[str], name: str, *,
            weight_key: str | None = None, **attrs: Any) -> str:
        from .ops.registry import get_op  # the registry imports ir; import late

        parents = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        full = ".".join([*self._scope, name])
        op = get_op(kind)
        shapes = tuple(self._shapes[p] for p in parents)
        try:
            attrs = op.normalize(dict(attrs), shapes)
            out = op.output_shape(attrs, shapes)
            cost = op.cost(attrs, shapes, out)
        except ShapeError as exc:
            raise ShapeError(f"layer {full!r} ({kind}): {exc}") from None
        layer = Layer(full, kind, attrs, shapes, out, parents, cost, weight_key)
        self._layers.append(layer)
        self._shapes[full] = out
        return full

    def build(self) -> Network:
        return Network(self.name, dict(self._inputs), tuple(self._layers), self.description)

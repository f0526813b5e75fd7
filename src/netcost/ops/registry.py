"""The formula catalogue: one OpSpec per layer kind, registered by name.

Each spec is a set of plain functions of shapes and attributes (as in PyTorch's
flop_counter): output shape, cost for one sample, and the derivation shown by --explain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import InvalidArgument, NetcostError
from ..ir import LayerCost, Shape, numel
from ..units import nearest

_REGISTRY: dict[str, OpSpec] = {}


@dataclass(frozen=True)
class Derivation:
    """One line of --explain: `quantity = formula = substituted = value`."""

    quantity: str  # e.g. "params"
    formula: str  # e.g. "(n+1)·k"
    substituted: str  # e.g. "(4096+1)·1000"
    value: int

    def __str__(self) -> str:
        return f"{self.quantity} = {self.formula} = {self.substituted} = {self.value:,}"


@dataclass(frozen=True)
class Saved:
    """What autograd keeps from the forward pass for this layer's backward, as PyTorch does
    (parameters and buffers left out); checked against autograd in tests/test_ops_torch.py.

    Inputs and output are kept by reference, so a memory model can count a tensor once when
    several layers keep it (a ReLU's output is the next conv's input). `new` are tensors made
    only for the backward, (dtype, numel per sample); `per_batch` likewise but one per batch,
    whatever its size (batch norm's per-channel statistics). dtype "act" is the activations'
    precision, else a fixed one: "int64" indices, "bool" masks, "fp32" statistics."""

    inputs: tuple[int, ...] = ()  # positions in the layer's inputs
    output: bool = False
    new: tuple[tuple[str, int], ...] = ()
    per_batch: tuple[tuple[str, int], ...] = ()

    def numel(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """Numbers kept for one sample (a batch of 1): LayerCost.saved_numel."""
        return (sum(numel(inputs[i]) for i in self.inputs)
                + (numel(output) if self.output else 0)
                + sum(n for _, n in self.new) + sum(n for _, n in self.per_batch))


class OpSpec:
    """Base of every layer kind. Subclasses override the three shape functions."""

    kind: ClassVar[str]
    summary: ClassVar[str] = ""
    n_inputs: ClassVar[int | None] = 1  # None: any number (add, concat)

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        """Validate attributes and fill defaults; raise InvalidArgument/ShapeError."""
        if self.n_inputs is not None and len(inputs) != self.n_inputs:
            raise InvalidArgument(f"{self.kind} takes {self.n_inputs} input(s), got {len(inputs)}")
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        raise NotImplementedError

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        """The tensors kept for backward; LayerCost.saved_numel is their total numel."""
        return Saved()

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        """Formulas with the numbers substituted; the default shows the cost terms only."""
        cost = self.cost(attrs, inputs, output)
        return [Derivation(k, k, "", v) for k, v in vars(cost).items() if v]


def register(kind: str) -> Callable[[type[OpSpec]], type[OpSpec]]:
    def wrap(cls: type[OpSpec]) -> type[OpSpec]:
        if kind in _REGISTRY:
            raise RuntimeError(f"op kind {kind!r} registered twice")
        cls.kind = kind
        _REGISTRY[kind] = cls()
        return cls

    return wrap


def _load_catalogue() -> None:
    # Always import (a dict lookup once loaded): one family imported on its own leaves the
    # registry non-empty but incomplete.
    from . import catalogue  # noqa: F401  (imports every family module, which registers)


def get_op(kind: str) -> OpSpec:
    _load_catalogue()
    try:
        return _REGISTRY[kind]
    except KeyError:
        hint = nearest(kind, list(_REGISTRY))
        more = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise UnknownOp(f"unknown layer kind {kind!r}{more}") from None


def all_ops() -> dict[str, OpSpec]:
    _load_catalogue()
    return dict(_REGISTRY)


class UnknownOp(NetcostError, LookupError):
    pass

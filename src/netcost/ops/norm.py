"""Normalisation: batch norm, layer norm and local response norm (AlexNet, GoogLeNet).

Forward ops are counted for inference, as every other layer: batch norm with its statistics
folded into one scale and shift (2 ops per element). The backward counts are for training.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument, ShapeError
from ..ir import LayerCost, Shape, numel
from ._attrs import positive, real
from .registry import Derivation, OpSpec, Saved, register

# Backward of a normalisation per element, from x̂ = (x − μ)·σ⁻¹ and y = γ·x̂ + β:
# recompute x̂ (2), Σg for dβ (1), Σ g·x̂ for dγ (2), and
# dx = γ·σ⁻¹·(g − Σg/m − x̂·Σ(g·x̂)/m): one multiply, two subtractions, one scale (4).
NORM_BACKWARD_PER_ELEMENT = 9


def _dims(shape: Shape) -> str:
    return "·".join(map(str, shape))


@register("batch_norm2d")
class BatchNorm2d(OpSpec):
    summary = "batch normalisation per channel: γ·(x − μ)/σ + β; running μ and σ² as buffers"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        shape = inputs[0]
        if not 1 <= len(shape) <= 3:
            raise ShapeError(f"batch_norm2d expects a CxHxW input, got {'x'.join(map(str, shape))}")
        c = shape[0]
        if attrs.get("num_features") is not None and positive("num_features",
                                                                attrs["num_features"]) != c:
            raise ShapeError(f"expects {attrs['num_features']} channels, got {c}")
        attrs["num_features"] = c
        attrs["affine"] = bool(attrs.get("affine", True))
        attrs["track_running_stats"] = bool(attrs.get("track_running_stats", True))
        attrs["eps"] = real("eps", attrs.get("eps", 1e-5), low=0.0, low_open=True)
        attrs["momentum"] = real("momentum", attrs.get("momentum", 0.1), low=0.0, high=1.0)
        return attrs

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        c, n = attrs["num_features"], numel(output)
        return LayerCost(
            params=2 * c if attrs["affine"] else 0,
            elementwise_ops=2 * n,  # inference: statistics folded into one scale and shift
            backward_elementwise_ops=NORM_BACKWARD_PER_ELEMENT * n,
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
            buffers=2 * c if attrs["track_running_stats"] else 0,
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        # the input, and the batch mean and 1/σ per channel (kept in fp32 under autocast)
        return Saved(inputs=(0,), per_batch=(("fp32", 2 * attrs["num_features"]),))

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        c, n, d = attrs["num_features"], numel(output), _dims(output)
        lines = [
            Derivation("params", "2·C (γ and β)", f"2·{c}", 2 * c) if attrs["affine"]
            else Derivation("params", "0 (affine=False)", "0", 0),
            Derivation("elementwise ops", "2·C·H·W (folded scale and shift)", f"2·{d}", 2 * n),
            Derivation("backward elementwise", "9·C·H·W (x̂ 2, Σg 1, Σg·x̂ 2, dx 4)", f"9·{d}", 9 * n),
            Derivation("saved for backward", "C·H·W + 2·C (input, batch μ and 1/σ)",
                       f"{d} + 2·{c}", n + 2 * c),
        ]
        if attrs["track_running_stats"]:
            lines.append(Derivation("buffers", "2·C (running μ and σ²)", f"2·{c}", 2 * c))
        return lines


@register("layer_norm")
class LayerNorm(OpSpec):
    summary = "layer normalisation over the last dimension D: γ·(x − μ)/σ + β per row"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        d = inputs[0][-1]
        given = attrs.get("normalized_shape")
        if isinstance(given, (tuple, list)):
            if len(given) != 1:
                raise InvalidArgument("layer_norm normalises the last dimension only; "
                                      f"got normalized_shape={tuple(given)}")
            given = given[0]
        if given is not None and positive("normalized_shape", given) != d:
            raise ShapeError(f"normalises {given} features, but the last dimension is {d}")
        attrs["normalized_shape"] = d
        attrs["affine"] = bool(attrs.get("affine", attrs.get("elementwise_affine", True)))
        attrs.pop("elementwise_affine", None)
        attrs["eps"] = real("eps", attrs.get("eps", 1e-5), low=0.0, low_open=True)
        return attrs

    @staticmethod
    def _per_element(affine: bool) -> int:
        # mean (1 add), centre (1), variance (square, add: 2), scale by 1/σ (1); affine 2 more
        return 7 if affine else 5

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        d, n, affine = attrs["normalized_shape"], numel(output), attrs["affine"]
        return LayerCost(
            params=2 * d if affine else 0,
            elementwise_ops=self._per_element(affine) * n,
            backward_elementwise_ops=NORM_BACKWARD_PER_ELEMENT * n,
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        rows = numel(output) // attrs["normalized_shape"]
        return Saved(inputs=(0,), new=(("fp32", 2 * rows),))  # the input, μ and 1/σ per row

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        d, n, affine = attrs["normalized_shape"], numel(output), attrs["affine"]
        per, dims = self._per_element(affine), _dims(output)
        return [
            Derivation("params", "2·D (γ and β)", f"2·{d}", 2 * d) if affine
            else Derivation("params", "0 (no affine)", "0", 0),
            Derivation("elementwise ops", f"{per}·numel (μ 1, centre 1, σ² 2, scale 1"
                       + (", affine 2)" if affine else ")"), f"{per}·{dims}", per * n),
            Derivation("backward elementwise", "9·numel", f"9·{dims}", 9 * n),
            Derivation("saved for backward", "numel + 2·rows (input, μ and 1/σ per row)",
                       f"{n} + 2·{n // d}", n + 2 * (n // d)),
        ]


@register("lrn")
class LocalResponseNorm(OpSpec):
    summary = "local response norm: x / (k + α/size·Σ x² over `size` channels)^β; no params"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        if len(inputs[0]) < 2:
            raise ShapeError(f"lrn expects a CxHxW input, got {'x'.join(map(str, inputs[0]))}")
        if attrs.get("size") is None:
            raise InvalidArgument("lrn needs size, the number of neighbouring channels, e.g. 5")
        attrs["size"] = positive("lrn size", attrs["size"])
        attrs["alpha"] = real("alpha", attrs.get("alpha", 1e-4))
        attrs["beta"] = real("beta", attrs.get("beta", 0.75))
        attrs["k"] = real("k", attrs.get("k", 1.0))
        return attrs

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        size, n = attrs["size"], numel(output)
        return LayerCost(
            # x² 1, window sum size−1, ·α/size 2, +k 1, ^β 1, x/· 1
            elementwise_ops=(size + 5) * n,
            # ÷ 4 (both operands), ^β 3, ·α/size 1, window sum size, x² 2, join the two paths 1
            backward_elementwise_ops=(size + 11) * n,
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        # PyTorch's composite keeps x, the channel-padded x² (for its average), and the base
        # before and after ^β
        size, n, c = attrs["size"], numel(output), output[0]
        return Saved(inputs=(0,), new=(("act", (c + size - 1) * (n // c)), ("act", n), ("act", n)))

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        size, n, c, dims = attrs["size"], numel(output), output[0], _dims(output)
        cost = self.cost(attrs, inputs, output)
        return [
            Derivation("params", "0 (no weights)", "0", 0),
            Derivation("elementwise ops", "(size + 5)·numel (x² 1, Σ size−1, ·α/size 2, +k 1, ^β 1, ÷ 1)",
                       f"({size} + 5)·{dims}", (size + 5) * n),
            Derivation("backward elementwise", "(size + 11)·numel", f"({size} + 11)·{dims}", (size + 11) * n),
            Derivation("saved for backward", "3·numel + (C + size − 1)·numel/C",
                       f"3·{n} + ({c} + {size} − 1)·{n // c}", cost.saved_numel),
        ]

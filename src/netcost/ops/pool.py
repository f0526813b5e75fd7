"""Pooling: max, average, adaptive and global. No parameters; the cost is comparisons
(max) or additions and one division (average) per window, counted as elementwise work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument, ShapeError
from ..ir import LayerCost, Shape, numel
from ._attrs import pair, rank
from .registry import Derivation, OpSpec, Saved, register


def pooled_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool, axis: str) -> int:
    """PyTorch's rule: ⌊ or ⌈(size + 2p − d·(k−1) − 1)/s⌉ + 1; in ceil mode a last window
    that would start inside the right padding is dropped. Python's // rounds toward −∞, as
    PyTorch's div_rtn, so a window wider than the input is refused in floor mode only."""
    num = size + 2 * p - d * (k - 1) - 1
    out = (num + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    if out < 1:
        raise ShapeError(
            f"pooling window {k} (dilation {d}) is larger than the padded input {axis} "
            f"{size + 2 * p}"
        )
    return out


def _window_formula(attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                    output: Shape) -> list[Derivation]:
    _, H, W = inputs[0]
    _, oh, ow = output
    (kh, kw), (sh, sw), (ph, pw) = attrs["kernel"], attrs["stride"], attrs["padding"]
    dh, dw = attrs.get("dilation", (1, 1))
    ceil = attrs["ceil_mode"]
    rnd = ("⌈", "⌉") if ceil else ("⌊", "⌋")

    def line(axis: str, size: int, p: int, d: int, k: int, s: int, out: int) -> Derivation:
        # ceil mode drops a last window that would start in the right padding: say so
        dropped = ceil and out != -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
        tail = " − 1 (last window would start in the padding)" if dropped else ""
        return Derivation(f"out_{axis}",
                          f"{rnd[0]}({axis.upper()} + 2p − d·(k−1) − 1)/s{rnd[1]} + 1",
                          f"{rnd[0]}({size} + 2·{p} − {d}·({k}−1) − 1)/{s}{rnd[1]} + 1{tail}",
                          out)

    return [line("h", H, ph, dh, kh, sh, oh), line("w", W, pw, dw, kw, sw, ow)]


class _Pool2d(OpSpec):
    has_dilation = True

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        rank(self.kind, inputs[0], 3)
        if attrs.get("kernel") is None:
            raise InvalidArgument(f"{self.kind} needs a kernel size, e.g. kernel=2 or 3x3")
        attrs["kernel"] = kernel = pair("kernel", attrs["kernel"])
        stride = attrs.get("stride")
        attrs["stride"] = kernel if stride is None else pair("stride", stride)
        attrs["padding"] = pad = pair("padding", attrs.get("padding", 0), zero_ok=True)
        if self.has_dilation:
            attrs["dilation"] = pair("dilation", attrs.get("dilation", 1))
        else:
            if "dilation" in attrs and pair("dilation", attrs["dilation"]) != (1, 1):
                raise InvalidArgument(f"{self.kind} has no dilation")
            attrs.pop("dilation", None)
        for p, k in zip(pad, kernel, strict=True):
            if 2 * p > k:  # PyTorch's rule (on the undilated kernel)
                raise InvalidArgument(f"padding {p} is more than half the pooling kernel {k}")
        attrs["ceil_mode"] = bool(attrs.get("ceil_mode", False))
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        c, h, w = inputs[0]
        dil = attrs.get("dilation", (1, 1))
        return (c,) + tuple(
            pooled_size(size, k, s, p, d, attrs["ceil_mode"], axis)
            for size, k, s, p, d, axis in zip((h, w), attrs["kernel"], attrs["stride"],
                                              attrs["padding"], dil, ("height", "width"), strict=True)
        )


@register("max_pool2d")
class MaxPool2d(_Pool2d):
    summary = "max pooling: the largest of each k×k window (k·k−1 comparisons per output)"

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        kh, kw = attrs["kernel"]
        outs = numel(output)
        return LayerCost(
            elementwise_ops=(kh * kw - 1) * outs,
            backward_elementwise_ops=outs,  # each output gradient goes to its argmax
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0,), new=(("int64", numel(output)),))  # input and argmax indices

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        (kh, kw), (c, oh, ow) = attrs["kernel"], output
        outs = numel(output)
        return [
            *_window_formula(attrs, inputs, output),
            Derivation("params", "0 (no weights)", "0", 0),
            Derivation("compares", "(k_h·k_w − 1)·C·out_h·out_w",
                       f"({kh}·{kw} − 1)·{c}·{oh}·{ow}", (kh * kw - 1) * outs),
            Derivation("backward elementwise", "C·out_h·out_w (route each gradient to its argmax)",
                       f"{c}·{oh}·{ow}", outs),
            Derivation("saved for backward", "C·H·W input + C·out_h·out_w argmax indices",
                       f"{'·'.join(map(str, inputs[0]))} + {c}·{oh}·{ow}",
                       numel(inputs[0]) + outs),
        ]


@register("avg_pool2d")
class AvgPool2d(_Pool2d):
    summary = "average pooling: the mean of each k×k window (k·k−1 adds + 1 division per output)"
    has_dilation = False

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        attrs = super().normalize(attrs, inputs)
        attrs["count_include_pad"] = bool(attrs.get("count_include_pad", True))
        return attrs

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        kh, kw = attrs["kernel"]
        outs = numel(output)
        return LayerCost(
            elementwise_ops=kh * kw * outs,
            # each output gradient, divided, is added to the k·k inputs of its window
            backward_elementwise_ops=kh * kw * outs,
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0,))  # PyTorch keeps the input (it reads only its size)

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        (kh, kw), (c, oh, ow) = attrs["kernel"], output
        ops = kh * kw * numel(output)
        return [
            *_window_formula(attrs, inputs, output),
            Derivation("params", "0 (no weights)", "0", 0),
            Derivation("adds + divides", "k_h·k_w·C·out_h·out_w", f"{kh}·{kw}·{c}·{oh}·{ow}", ops),
            Derivation("backward elementwise", "k_h·k_w·C·out_h·out_w (spread each gradient over its window)",
                       f"{kh}·{kw}·{c}·{oh}·{ow}", ops),
        ]


def _bins(size: int, out: int) -> list[int]:
    """PyTorch's adaptive bins: bin i spans [⌊i·size/out⌋, ⌈(i+1)·size/out⌉)."""
    return [-(-(i + 1) * size // out) - (i * size // out) for i in range(out)]


class _Adaptive(OpSpec):
    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        rank(self.kind, inputs[0], 3)
        size = attrs.get("output_size")
        if size is None:
            raise InvalidArgument(f"{self.kind} needs output_size, e.g. 7 or 7x7")
        if isinstance(size, (tuple, list)) and len(size) == 2:
            # None keeps that input dimension, as in PyTorch
            size = tuple(dim if s is None else s for s, dim in zip(size, inputs[0][1:], strict=True))
        attrs["output_size"] = pair("output_size", size)
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        return (inputs[0][0], *attrs["output_size"])

    @staticmethod
    def window_sum(inputs: tuple[Shape, ...], output: Shape) -> int:
        """Σ over outputs of the window size: C·(Σ bin heights)·(Σ bin widths)."""
        c, h, w = inputs[0]
        return c * sum(_bins(h, output[1])) * sum(_bins(w, output[2]))

    def _explain_windows(self, inputs: tuple[Shape, ...], output: Shape) -> Derivation:
        c, h, w = inputs[0]
        bh, bw = _bins(h, output[1]), _bins(w, output[2])
        return Derivation("window cells", "C·Σ bin_h·Σ bin_w (bin i spans ⌊i·H/o⌋..⌈(i+1)·H/o⌉)",
                          f"{c}·{sum(bh)}·{sum(bw)}", c * sum(bh) * sum(bw))


@register("adaptive_avg_pool2d")
class AdaptiveAvgPool2d(_Adaptive):
    summary = "adaptive average pooling to a fixed output size (PyTorch's bins)"

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        cells = self.window_sum(inputs, output)
        return LayerCost(elementwise_ops=cells, backward_elementwise_ops=cells,
                         saved_numel=self.saves(attrs, inputs, output).numel(inputs, output))

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0,))  # PyTorch keeps the input (it reads only its size)

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        w = self._explain_windows(inputs, output)
        return [w, Derivation("adds + divides", "window cells (n−1 adds + 1 divide per window)",
                              f"{w.value}", w.value),
                Derivation("backward elementwise", "window cells", f"{w.value}", w.value)]


@register("adaptive_max_pool2d")
class AdaptiveMaxPool2d(_Adaptive):
    summary = "adaptive max pooling to a fixed output size (PyTorch's bins)"

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        outs = numel(output)
        return LayerCost(elementwise_ops=self.window_sum(inputs, output) - outs,
                         backward_elementwise_ops=outs,
                         saved_numel=self.saves(attrs, inputs, output).numel(inputs, output))

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0,), new=(("int64", numel(output)),))  # input and argmax indices

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        w = self._explain_windows(inputs, output)
        outs = numel(output)
        return [w, Derivation("compares", "window cells − C·out_h·out_w", f"{w.value} − {outs}",
                              w.value - outs),
                Derivation("saved for backward", "C·H·W input + C·out_h·out_w argmax indices",
                           f"{numel(inputs[0])} + {outs}", numel(inputs[0]) + outs)]


@register("global_avg_pool2d")
class GlobalAvgPool2d(OpSpec):
    summary = "global average pooling: C×H×W → C×1×1 (H·W−1 adds + 1 division per channel)"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        rank(self.kind, inputs[0], 3)
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        return (inputs[0][0], 1, 1)

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        n = numel(inputs[0])
        return LayerCost(elementwise_ops=n, backward_elementwise_ops=n)

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        c, h, w = inputs[0]
        n = c * h * w
        return [Derivation("params", "0 (no weights)", "0", 0),
                Derivation("adds + divides", "C·H·W", f"{c}·{h}·{w}", n),
                Derivation("backward elementwise", "C·H·W (each input gets its channel's gradient / H·W)",
                           f"{c}·{h}·{w}", n)]

"""2-D convolution and transposed convolution (stride, padding, dilation, groups, bias)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument, ShapeError
from ..ir import LayerCost, Shape, numel
from ._attrs import pair, positive, rank
from .registry import Derivation, OpSpec, Saved, register


def _padding(value: Any, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int], hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """Padding as (top, bottom, left, right). 'same' keeps ceil(size/stride), as TensorFlow
    does (for stride 1 that is PyTorch's 'same'); 'valid' is no padding."""
    if isinstance(value, str) and value.lower() in ("same", "valid"):
        if value.lower() == "valid":
            return (0, 0, 0, 0)
        pads = []
        for size, k, s, d in zip(hw, kernel, stride, dilation, strict=True):
            out = -(-size // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return (pads[0], pads[1], pads[2], pads[3])
    if isinstance(value, (tuple, list)) and len(value) == 4:
        return tuple(positive("padding", v, zero_ok=True) for v in value)  # type: ignore[return-value]
    ph, pw = pair("padding", value, zero_ok=True)
    return (ph, ph, pw, pw)


def _conv_common(kind: str, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
    rank(kind, inputs[0], 3)
    c = inputs[0][0]
    attrs["in_channels"] = c
    attrs["out_channels"] = positive("out_channels (filters)", attrs.get("out_channels"))
    attrs["kernel"] = pair("kernel", attrs.get("kernel"))
    attrs["stride"] = pair("stride", attrs.get("stride", 1))
    attrs["dilation"] = pair("dilation", attrs.get("dilation", 1))
    attrs["groups"] = g = positive("groups", attrs.get("groups", 1))
    attrs["bias"] = bool(attrs.get("bias", True))
    if c % g or attrs["out_channels"] % g:
        raise ShapeError(
            f"{c} input and {attrs['out_channels']} output channels must both be divisible "
            f"by groups={g}"
        )
    return attrs


def _fmt_pad(p: tuple[int, int, int, int]) -> str:
    return str(p[0]) if len(set(p)) == 1 else "x".join(map(str, p))


@register("conv2d")
class Conv2d(OpSpec):
    summary = "2-D convolution: k filters of c×w×h over a C×H×W input"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        attrs = _conv_common(self.kind, attrs, inputs)
        attrs["padding"] = _padding(attrs.get("padding", 0), attrs["kernel"], attrs["stride"],
                                    attrs["dilation"], inputs[0][1:])
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        _, h, w = inputs[0]
        pt, pb, pl, pr = attrs["padding"]
        (kh, kw), (sh, sw), (dh, dw) = attrs["kernel"], attrs["stride"], attrs["dilation"]
        span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        if span_h > h + pt + pb or span_w > w + pl + pr:
            raise ShapeError(
                f"kernel {kh}x{kw} (dilation {dh}x{dw}) is larger than the padded input "
                f"{h + pt + pb}x{w + pl + pr}"
            )
        return (attrs["out_channels"], (h + pt + pb - span_h) // sh + 1,
                (w + pl + pr - span_w) // sw + 1)

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        c, k, g, bias = attrs["in_channels"], attrs["out_channels"], attrs["groups"], attrs["bias"]
        kh, kw = attrs["kernel"]
        per_output = (c // g) * kh * kw  # length of each dot product
        outs = numel(output)
        macs = per_output * outs
        return LayerCost(
            params=(per_output + bias) * k,
            macs=macs,
            dot_outputs=outs,
            bias_ops=outs if bias else 0,
            backward_input_macs=macs,
            backward_weight_macs=macs,
            backward_elementwise_ops=outs if bias else 0,
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0,))  # the input, for the weight gradient

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        c, k, g, bias = attrs["in_channels"], attrs["out_channels"], attrs["groups"], attrs["bias"]
        (kh, kw), (sh, sw) = attrs["kernel"], attrs["stride"]
        (dh, dw), pad = attrs["dilation"], attrs["padding"]
        _, H, W = inputs[0]
        _, oh, ow = output
        cg, cgs = ("(c/g)", f"({c}/{g})") if g > 1 else ("c", f"{c}")
        plus, plus_s = ("+1", "+1") if bias else ("", "")
        n = (c // g) * kh * kw
        out_h = Derivation(
            "out_h", "⌊(H + pad − d·(h−1) − 1)/s⌋ + 1",
            f"⌊({H} + {pad[0] + pad[1]} − {dh}·({kh}−1) − 1)/{sh}⌋ + 1", oh)
        out_w = Derivation(
            "out_w", "⌊(W + pad − d·(w−1) − 1)/s⌋ + 1",
            f"⌊({W} + {pad[2] + pad[3]} − {dw}·({kw}−1) − 1)/{sw}⌋ + 1", ow)
        macs = n * oh * ow * k
        lecture = (2 * n if bias else 2 * n - 1) * oh * ow * k
        lec_formula = f"{'2' if bias else '(2'}·{cg}·w·h{'' if bias else '−1)'}·out_h·out_w·k"
        lec_subst = f"{'2' if bias else '(2'}·{cgs}·{kw}·{kh}{'' if bias else '−1)'}·{oh}·{ow}·{k}"
        return [
            out_h, out_w,
            Derivation("params", f"({cg}·w·h{plus})·k", f"({cgs}·{kw}·{kh}{plus_s})·{k}",
                       (n + bias) * k),
            Derivation("MACs", f"{cg}·w·h·out_h·out_w·k", f"{cgs}·{kw}·{kh}·{oh}·{ow}·{k}", macs),
            Derivation("ops (lecture)", lec_formula, lec_subst, lecture),
            Derivation("backward MACs", "2·MACs (input and weight gradients)", f"2·{macs:,}",
                       2 * macs),
        ]


@register("conv_transpose2d")
class ConvTranspose2d(OpSpec):
    summary = "transposed 2-D convolution (the gradient of a conv): upsamples by the stride"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        attrs = _conv_common(self.kind, attrs, inputs)
        pad = attrs.get("padding", 0)
        if isinstance(pad, str) and pad.lower() in ("same", "valid"):
            raise InvalidArgument(
                f"transposed convolution takes a number for padding, not {pad!r}")
        attrs["padding"] = pair("padding", pad, zero_ok=True)
        attrs["output_padding"] = pair("output_padding", attrs.get("output_padding", 0),
                                       zero_ok=True)
        for op, st, d in zip(attrs["output_padding"], attrs["stride"], attrs["dilation"],
                             strict=True):
            if op >= max(st, d):
                raise InvalidArgument(
                    f"output_padding {op} must be smaller than the stride {st} or the dilation {d}"
                )
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        _, h, w = inputs[0]
        dims = []
        for size, k, s, p, d, op in zip((h, w), attrs["kernel"], attrs["stride"],
                                        attrs["padding"], attrs["dilation"],
                                        attrs["output_padding"], strict=True):
            out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
            if out <= 0:
                raise ShapeError(f"padding {p} leaves no output from a {size}-wide input")
            dims.append(out)
        return (attrs["out_channels"], dims[0], dims[1])

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        c, k, g, bias = attrs["in_channels"], attrs["out_channels"], attrs["groups"], attrs["bias"]
        kh, kw = attrs["kernel"]
        # Every input element is scattered through a (k/g)·kh·kw kernel slice (as PyTorch's
        # flop counter: taps cropped by the padding are computed too).
        macs = numel(inputs[0]) * (k // g) * kh * kw
        outs = numel(output)
        return LayerCost(
            params=(c // g) * kh * kw * k + (k if bias else 0),
            macs=macs,
            # The lecture's n−1 adds per output hold for outputs that some tap reaches; with a
            # stride larger than the kernel the others receive nothing (only the bias).
            dot_outputs=k * _reached(attrs, inputs[0], output, 0)
            * _reached(attrs, inputs[0], output, 1),
            bias_ops=outs if bias else 0,
            backward_input_macs=macs,
            backward_weight_macs=macs,
            backward_elementwise_ops=outs if bias else 0,
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0,))  # the input, for the weight gradient

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        c, k, g, bias = attrs["in_channels"], attrs["out_channels"], attrs["groups"], attrs["bias"]
        (kh, kw), (sh, sw), (ph, pw) = attrs["kernel"], attrs["stride"], attrs["padding"]
        (dh, dw), (oph, opw) = attrs["dilation"], attrs["output_padding"]
        _, H, W = inputs[0]
        _, oh, ow = output
        kg, kgs = ("(k/g)", f"({k}/{g})") if g > 1 else ("k", f"{k}")
        cg, cgs = ("(c/g)", f"({c}/{g})") if g > 1 else ("c", f"{c}")
        macs = c * H * W * (k // g) * kh * kw
        cost = self.cost(attrs, inputs, output)
        return [
            Derivation("out_h", "(H−1)·s − 2p + d·(h−1) + output_padding + 1",
                       f"({H}−1)·{sh} − 2·{ph} + {dh}·({kh}−1) + {oph} + 1", oh),
            Derivation("out_w", "(W−1)·s − 2p + d·(w−1) + output_padding + 1",
                       f"({W}−1)·{sw} − 2·{pw} + {dw}·({kw}−1) + {opw} + 1", ow),
            Derivation("params", f"{cg}·w·h·k{' + k' if bias else ''}",
                       f"{cgs}·{kw}·{kh}·{k}{f' + {k}' if bias else ''}", cost.params),
            Derivation("MACs", f"c·H·W·{kg}·w·h (each input scattered through its kernels)",
                       f"{c}·{H}·{W}·{kgs}·{kw}·{kh}", macs),
            Derivation("ops (lecture)", "2·MACs − reached outputs + bias adds",
                       f"2·{macs:,} − {cost.dot_outputs:,} + {cost.bias_ops:,}",
                       2 * macs - cost.dot_outputs + cost.bias_ops),
            Derivation("backward MACs", "2·MACs (input and weight gradients)", f"2·{macs:,}",
                       2 * macs),
        ]


def _reached(attrs: Mapping[str, Any], in_shape: Shape, output: Shape, axis: int) -> int:
    """Output positions along one axis that at least one (input, tap) pair lands on."""
    size, out = in_shape[1 + axis], output[1 + axis]
    s, p, d, kk = (attrs[a][axis] for a in ("stride", "padding", "dilation", "kernel"))
    return len({i * s - p + j * d for i in range(size) for j in range(kk)} & set(range(out)))

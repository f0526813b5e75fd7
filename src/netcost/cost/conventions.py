"""How a layer's stored terms become one "ops" number. Tools disagree only here.

Terms stored per layer (ir.LayerCost): MACs of conv/matmul, the outputs of dot-product
layers, the bias additions, and the other (elementwise) arithmetic.

Besides netcost's own conventions (lecture, macs, flops), four reproduce other tools'
totals from the same layers, without running them: fvcore, ptflops, thop, flopcounter.
Those count per layer kind, and the hook-based tools (ptflops, thop) also by the class of
the module an op ran in: a torch import records it (attrs "module_type"); a zoo or
one-layer network stands for the kind's standard torch module (nn.Conv2d, nn.ReLU ...),
with residual adds and concatenations written as `+` and torch.cat, as torchvision does.
`terms()` splits each count into labelled parts, so a difference between tools can be
read off by kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ..errors import InvalidArgument
from ..ir import Layer, LayerCost, numel


@dataclass(frozen=True)
class Convention:
    name: str
    description: str
    summary: str = ""  # one line, for `netcost tools`
    tool: str = ""  # for a tool's convention: the call whose total it reproduces


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "lecture",
            "the lecture's count: every multiply and every add is one op; a dot product of "
            "length n with its bias is n multiplies + (n−1) adds + 1 bias add = 2·n "
            "(2·n−1 without bias); activations, norms, pools and residual adds count their "
            "arithmetic as in 'flops'",
            summary="multiplies and adds of dot products (2·n with bias, 2·n−1 without), "
                    "plus all elementwise arithmetic",
        ),
        Convention(
            "macs",
            "multiply-accumulates of convolutions and matrix products only, bias and all "
            "elementwise work excluded: what the ResNet and GoogLeNet papers and torchvision's "
            "_ops call FLOPs",
            summary="multiply-accumulates of conv and matmul only",
        ),
        Convention(
            "flops",
            "2 per MAC (as PyTorch's FlopCounterMode), plus 1 per bias add, plus elementwise "
            "work: 1 per element for activations (exp and tanh included), residual adds and "
            "products, 2 per element for batch norm (folded scale and shift), 7 for layer "
            "norm (5 without affine), size+5 for local response norm, k·k−1 compares per "
            "max-pool output, k·k per average-pool output (adaptive and global pools: one per "
            "window cell), 3 per element for softmax; dropout (inference), flatten and concat "
            "0",
            summary="2 per MAC, 1 per bias add, plus all elementwise arithmetic",
        ),
        Convention(
            "fvcore",
            "fvcore's FlopCountAnalysis with its default handles, model in eval mode: MACs of "
            "conv, linear, matmul, bmm and einsum (no bias); batch norm 2 per element (1 "
            "without affine); layer and group norm 5 per element (4 without affine); "
            "adaptive average pooling 1 per input element; nearest upsampling 1 and bilinear "
            "4 per output; everything else 0 (ReLU, max and average pools, adds, softmax, "
            "scaled dot-product attention, nn.MultiheadAttention's products)",
            summary="conv/matmul MACs, batch norm 2 per element, adaptive avg pool 1 per "
                    "input element; ReLU, pools, adds free",
            tool="fvcore.nn.FlopCountAnalysis(model.eval(), x).total()",
        ),
        Convention(
            "ptflops",
            "ptflops' get_model_complexity_info with its default pytorch backend: hooks on "
            "nn modules plus patched functionals. Conv and nn.Linear MACs plus bias; batch "
            "norm 2 per element (1 without affine); nn.ReLU, nn.GELU, nn.ELU and pool modules "
            "twice per element (the hook, then the patched F.relu / F.max_pool2d they call), "
            "F.relu and functional pools once; ReLU6 and softmax once; upsampling per "
            "output; nn.MultiheadAttention by ptflops' own formula; other matrix products "
            "read as torch.matmul (patched, counted); residual `+`, `*` and torch.cat 0 "
            "(operators are not patched); F.conv2d, F.linear, F.batch_norm and "
            "F.scaled_dot_product_attention 0",
            summary="conv/linear MACs + bias, batch norm 2 per element, nn.ReLU and pool "
                    "modules counted twice (hook + patched functional); `+` free",
            tool="ptflops.get_model_complexity_info(model, (C, H, W), as_strings=False)[0]",
        ),
        Convention(
            "thop",
            "thop's profile (hooks on leaf nn modules only): conv MACs (output·c/g·k·k, so "
            "transposed convs differ from MACs) and nn.Linear MACs, no bias; batch, layer and "
            "instance norm 4 per element (2 without affine); average pool 1 per output; "
            "adaptive average pool (H·W/(h·w) + 1) per output; nn.Softmax 3·n−1 per row; "
            "ReLU, max pools and dropout 0; every functional call 0 (F.relu, "
            "F.adaptive_avg_pool2d, matmul, `+`)",
            summary="conv/linear MACs, batch norm 4 per element, adaptive avg pool module "
                    "(k+1) per output; ReLU, max pool and functionals free",
            tool="thop.profile(model, inputs=(x,))[0]",
        ),
        Convention(
            "flopcounter",
            "PyTorch's torch.utils.flop_counter.FlopCounterMode, forward pass: 2 per MAC of "
            "the ops in its registry (mm, addmm, bmm, baddbmm, convolution, attention), bias "
            "and all elementwise work excluded",
            summary="2 per conv/matmul MAC, nothing else",
            tool="FlopCounterMode(display=False).get_total_flops() around model(x)",
        ),
    )
}

TOOLS = ("fvcore", "ptflops", "thop", "flopcounter")


def check_convention(name: str) -> str:
    key = name.lower()
    if key not in CONVENTIONS:
        raise InvalidArgument(
            f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}"
        )
    return key


def forward_ops(cost: LayerCost, convention: str, layer: Layer | None = None) -> int:
    """Ops of one layer for one sample. The tools' conventions count by the layer's kind
    and shapes: pass `layer` (its cost is `cost`)."""
    if convention in TOOLS:
        return sum(tool_terms(_need_layer(layer, convention), convention, cost).values())
    if convention == "macs":
        return cost.macs
    if convention == "flops":
        return 2 * cost.macs + cost.bias_ops + cost.elementwise_ops
    # lecture: a dot product of length n has n−1 adds, and its bias completes the n-th.
    return 2 * cost.macs - cost.dot_outputs + cost.bias_ops + cost.elementwise_ops


def backward_macs(cost: LayerCost, needs_input_grad: bool) -> int:
    return cost.backward_weight_macs + (cost.backward_input_macs if needs_input_grad else 0)


def backward_ops(cost: LayerCost, convention: str, needs_input_grad: bool) -> int:
    """FlopCounterMode counts 2 per backward MAC (conv and matmul gradients only); fvcore,
    ptflops and thop count no backward: their unit, one per MAC, is kept."""
    macs = backward_macs(cost, needs_input_grad)
    if convention == "flopcounter":
        return 2 * macs
    if convention == "macs" or convention in TOOLS:
        return macs
    elementwise = cost.backward_elementwise_ops if (needs_input_grad or cost.params) else 0
    return 2 * macs + elementwise


def _need_layer(layer: Layer | None, convention: str) -> Layer:
    if layer is None:
        raise InvalidArgument(f"the {convention} convention counts by layer kind and shape: "
                              f"pass the layer")
    return layer


# ------------------------------------------------------------------ labelled terms
MACS = "conv and matmul MACs"


def terms(layer: Layer, convention: str, cost: LayerCost | None = None) -> dict[str, int]:
    """One layer's ops for one sample under `convention`, split into labelled parts that
    sum to forward_ops. The part labelled MACS is always the layer's MACs; the others are
    the convention's difference from `macs`."""
    c = layer.cost if cost is None else cost
    if convention in TOOLS:
        return tool_terms(layer, convention, c)
    out = {MACS: c.macs}
    if convention == "macs":
        return _nonzero(out)
    out["the add of every MAC (2 per MAC)"] = c.macs
    if convention == "lecture":
        out["one add fewer per dot product (n−1 adds)"] = -c.dot_outputs
    out["bias adds (1 per output)"] = c.bias_ops
    out[f"{_display(layer.kind)} (elementwise)"] = c.elementwise_ops
    return _nonzero(out)


def tool_terms(layer: Layer, convention: str, cost: LayerCost | None = None) -> dict[str, int]:
    c = layer.cost if cost is None else cost
    return _nonzero(_RULES[convention](layer, c))


def _nonzero(parts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in parts.items() if v}


_DISPLAY = {"batch_norm2d": "batch norm", "batch_norm1d": "batch norm",
            "batch_norm3d": "batch norm", "relu": "ReLU", "relu6": "ReLU6", "add": "residual add",
            "mul": "elementwise product", "max_pool2d": "max pool", "avg_pool2d": "average pool",
            "adaptive_avg_pool2d": "adaptive average pool", "global_avg_pool2d": "global average pool",
            "adaptive_max_pool2d": "adaptive max pool", "layer_norm": "layer norm",
            "lrn": "local response norm", "attention": "attention (softmax)"}


def _display(kind: str) -> str:
    return _DISPLAY.get(kind, kind)


# ------------------------------------------------------------------ what a layer is
# The module class each zoo kind stands for (torch's nn.<class>); None: a functional op.
_STANDARD_MODULE = {
    "conv1d": "Conv1d", "conv2d": "Conv2d", "conv3d": "Conv3d",
    "conv_transpose1d": "ConvTranspose1d", "conv_transpose2d": "ConvTranspose2d",
    "conv_transpose3d": "ConvTranspose3d", "linear": "Linear",
    "batch_norm1d": "BatchNorm1d", "batch_norm2d": "BatchNorm2d", "batch_norm3d": "BatchNorm3d",
    "layer_norm": "LayerNorm", "group_norm": "GroupNorm", "lrn": "LocalResponseNorm",
    "relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
    "silu": "SiLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "hardswish": "Hardswish",
    "hardsigmoid": "Hardsigmoid", "softmax": "Softmax", "dropout": "Dropout",
    "max_pool2d": "MaxPool2d", "avg_pool2d": "AvgPool2d",
    "adaptive_avg_pool2d": "AdaptiveAvgPool2d", "adaptive_max_pool2d": "AdaptiveMaxPool2d",
    "global_avg_pool2d": "AdaptiveAvgPool2d", "flatten": "Flatten",
}
_CONV = {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
         "conv_transpose3d"}
_CONV_MODULES = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                 "ConvTranspose3d"}
_BN = {"batch_norm1d", "batch_norm2d", "batch_norm3d"}
_POOLS = {"max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
          "adaptive_avg_pool2d", "adaptive_max_pool2d", "global_avg_pool2d"}
_POOL_MODULES = {f"{a}Pool{d}d" for a in ("Max", "Avg", "AdaptiveMax", "AdaptiveAvg")
                 for d in (1, 2, 3)}
_UPSAMPLE_PER_OUTPUT = {"upsample_nearest2d": 1, "upsample_bilinear2d": 4}  # fvcore's handles


def module_type(layer: Layer) -> str | None:
    """The class of the module the layer's op ran in: recorded by a torch import (its
    innermost module; the model's own class for code in its forward), else the standard
    module of the kind (a zoo or one-layer network)."""
    if "module_type" in layer.attrs:
        return layer.attrs["module_type"] or None
    return _STANDARD_MODULE.get(layer.kind)


def _affine(layer: Layer) -> bool:
    if "affine" in layer.attrs:
        return bool(layer.attrs["affine"])
    return bool(layer.attrs.get("params_read") or layer.cost.params)


def _in(layer: Layer) -> int:
    return numel(layer.input_shapes[0]) if layer.input_shapes else 0


def _pooled_by_adaptive(layer: Layer) -> bool:
    """An adaptive average pool, not a plain mean: ATen lowers adaptive_avg_pool2d to 1×1
    into mean(keepdim=True), so a global pool keeping its 1×1 spatial dims is read as one
    (a `x.mean((2, 3))` drops them; one with keepdim=True would be misread)."""
    return layer.kind == "adaptive_avg_pool2d" or (
        layer.kind == "global_avg_pool2d" and len(layer.output_shape) == 3)


# ------------------------------------------------------------------ the four tools
def _fvcore(layer: Layer, c: LayerCost) -> dict[str, int]:
    kind, mt, out = layer.kind, module_type(layer), {MACS: c.macs}
    if kind == "attention" or (kind == "matmul" and mt == "MultiheadAttention"):
        # nn.MultiheadAttention's products are one scaled_dot_product_attention op to fvcore
        out["attention (no scaled_dot_product_attention handle)"] = -c.macs
    elif layer.attrs.get("op") == "aten.baddbmm":
        out["baddbmm (no fvcore handle)"] = -c.macs
    if kind in _BN:
        if _affine(layer):
            out["batch norm (2 per element, eval)"] = 2 * _in(layer)
        else:
            out["batch norm without affine (1 per element)"] = _in(layer)
    elif kind in ("layer_norm", "group_norm"):
        per = 5 if _affine(layer) else 4
        out[f"layer/group norm ({per} per element)"] = per * _in(layer)
    elif _pooled_by_adaptive(layer):
        out["adaptive average pool (1 per input element)"] = _in(layer)
    elif kind in _UPSAMPLE_PER_OUTPUT:
        per = _UPSAMPLE_PER_OUTPUT[kind]
        out[f"{kind} ({per} per output)"] = per * layer.output_numel
    return out


# kind -> (module, functional): modules whose forward calls a functional ptflops patches too
_PT_TWICE = {"relu": ("ReLU", "relu"), "gelu": ("GELU", "gelu"), "elu": ("ELU", "elu"),
             "prelu": ("PReLU", "prelu"), "_prelu_kernel": ("PReLU", "prelu")}
_PT_NORM_MODULES = ({f"BatchNorm{d}d" for d in (1, 2, 3)} | {f"InstanceNorm{d}d" for d in (1, 2, 3)}
                    | {"GroupNorm"})


def _ptflops(layer: Layer, c: LayerCost) -> dict[str, int]:
    kind, mt, n_out = layer.kind, module_type(layer), layer.output_numel
    out = {MACS: c.macs}
    if mt == "MultiheadAttention":
        return _ptflops_attention(layer, c)
    if kind in _CONV:
        if mt in _CONV_MODULES:
            out["conv bias (1 per output)"] = c.bias_ops
        else:
            out["F.conv (no module hook)"] = -c.macs
    elif kind == "linear" or (kind == "matmul" and mt == "Linear"):
        if mt == "Linear":
            out["nn.Linear bias (1 per output)"] = c.bias_ops
        else:
            out["F.linear outside nn.Linear (not patched)"] = -c.macs
    elif kind == "add" and mt == "Linear":  # nn.Linear's bias, added apart from its matmul
        out["nn.Linear bias (1 per output)"] = n_out
    elif kind == "attention":
        out["attention (F.scaled_dot_product_attention is not patched)"] = -c.macs
    elif kind in _PT_TWICE:
        name, fn = _PT_TWICE[kind]
        if mt == name:
            out[f"nn.{name} (2 per element: hook + F.{fn})"] = 2 * n_out
        else:
            out[f"F.{fn} (1 per element)"] = n_out
    elif kind in ("relu6", "silu", "softmax"):  # one count: the hook or the patched call
        out[f"{_display(kind)} (1 per element)"] = n_out
    elif kind == "leaky_relu" and mt == "LeakyReLU":
        out["nn.LeakyReLU (1 per element)"] = n_out
    elif kind in _POOLS:
        fn = "adaptive_avg_pool2d" if kind == "global_avg_pool2d" else kind
        if mt in _POOL_MODULES:
            out[f"nn.{mt} (2 per input element: hook + F.{fn})"] = 2 * _in(layer)
        elif kind != "global_avg_pool2d" or _pooled_by_adaptive(layer):
            out[f"F.{fn} (1 per input element)"] = _in(layer)
    elif kind in _BN or kind in ("group_norm", "layer_norm"):
        if mt in _PT_NORM_MODULES:
            per = 2 if _affine(layer) else 1
            out[f"{_display(kind)} ({per} per element)"] = per * _in(layer)
        elif mt == "LayerNorm":  # no `affine` attribute: ptflops counts 1
            out["layer norm (1 per element)"] = _in(layer)
    elif kind.startswith("upsample"):
        if mt == "Upsample":
            out["nn.Upsample (2 per output: hook + F.interpolate)"] = 2 * n_out
        else:
            out["F.interpolate (1 per output)"] = n_out
    return out


def _ptflops_attention(layer: Layer, c: LayerCost) -> dict[str, int]:
    """ptflops' own nn.MultiheadAttention formula (need_weights=False, the scaled dot-product
    path), spread over the layers netcost sees inside it: projections with their bias, the
    two products, query scaling (1 per query element) and 1 per attention score."""
    out = {MACS: c.macs}
    if layer.kind == "linear":
        out["nn.MultiheadAttention projection bias (1 per output)"] = c.bias_ops
    elif layer.kind == "matmul":
        if _kind_of(layer.parents[0]) != "softmax":  # q·kᵀ, not scores·v
            out["nn.MultiheadAttention query scaling (1 per element)"] = _in(layer)
    elif layer.kind == "softmax":
        out["nn.MultiheadAttention scores (1 per score)"] = layer.output_numel
    elif c.macs:
        out["inside nn.MultiheadAttention, outside its formula"] = -c.macs
    return out


def _kind_of(name: str) -> str:
    """The kind in a torch import's layer name '<module path>/<kind>[#i]'."""
    return name.rpartition("/")[2].partition("#")[0]


_THOP_NORM_MODULES = ({f"BatchNorm{d}d" for d in (1, 2, 3)} | {f"InstanceNorm{d}d" for d in (1, 2, 3)}
                      | {"LayerNorm", "SyncBatchNorm"})
_THOP_UPSAMPLE = {"upsample_nearest2d": 1, "upsample_linear1d": 5, "upsample_bilinear2d": 11,
                  "upsample_bicubic2d": 259}


def _thop(layer: Layer, c: LayerCost) -> dict[str, int]:
    kind, mt, attrs, n_out = layer.kind, module_type(layer), layer.attrs, layer.output_numel
    out = {MACS: c.macs}
    if kind in _CONV and mt in _CONV_MODULES:
        # output · (c_in/g) · kernel: a conv's MACs; a transposed conv's differ
        count = n_out * (attrs["in_channels"] // attrs["groups"]) * math.prod(attrs["kernel"])
        out["transposed conv (thop: output·c/g·k·k)"] = count - c.macs
    elif c.macs and not (mt == "Linear" and kind in ("linear", "matmul")):
        out["functional conv/matmul (thop hooks modules only)"] = -c.macs
    if mt in _THOP_NORM_MODULES and (kind in _BN or kind == "layer_norm"):
        per, why = (4, ": 2, doubled when affine") if _affine(layer) else (2, "")
        out[f"{_display(kind)} ({per} per element{why})"] = per * _in(layer)
    elif mt in {f"AvgPool{d}d" for d in (1, 2, 3)} and kind in _POOLS:
        out["average pool (1 per output)"] = n_out
    elif mt in {f"AdaptiveAvgPool{d}d" for d in (1, 2, 3)} and kind in _POOLS:
        # thop: int((Π in/out + 1)·outputs), which is C·(H·W + h·w) per sample. thop takes
        # the product in floats: where a bin does not divide (7/3) it may round 1 lower.
        spatial = zip(layer.input_shapes[0][1:], layer.output_shape[1:], strict=True)
        kernel = math.prod((Fraction(i, o) for i, o in spatial), start=Fraction(1))
        out["adaptive average pool ((k+1) per output)"] = math.floor((kernel + 1) * n_out)
    elif mt == "Softmax" and kind == "softmax":
        shape = layer.output_shape
        dim = attrs.get("dim", len(shape) - 1)
        width = shape[dim] if shape else 1
        out["softmax (3·n−1 per row)"] = (n_out // width) * (3 * width - 1)
    elif mt == "PReLU" and kind in ("prelu", "_prelu_kernel"):
        out["PReLU (1 per element)"] = n_out
    elif mt in ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d") \
            and kind in _THOP_UPSAMPLE:
        per = _THOP_UPSAMPLE[kind]
        out[f"{kind} ({per} per output)"] = per * n_out
    return out


def _flopcounter(layer: Layer, c: LayerCost) -> dict[str, int]:
    return {MACS: c.macs, "the add of every MAC (2 per MAC)": c.macs}


_RULES = {"fvcore": _fvcore, "ptflops": _ptflops, "thop": _thop, "flopcounter": _flopcounter}

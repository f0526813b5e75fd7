"""What each ATen op costs, as a plain function of its arguments' shapes.

Every op the tracer sees falls in one class:

- SKIP: metadata queries (size, stride ...); not ops at all.
- VIEW: aliases of their input (view, permute, expand, detach ...): folded away, zero cost.
- FACTORY: new tensors whose values depend on no activation (empty, ones_like, arange ...).
- COST: a formula below; matmul, convolution and attention reuse
  torch.utils.flop_counter.flop_registry (FLOPs = 2·MACs; MACs are stored).
- anything else is *unsupported*: kept in the graph with zero cost and listed by name.

Elementwise counts follow netcost's conventions (cost/conventions.py and ops/): 1 per
output element for activations and arithmetic, 2 per element for batch norm (folded scale
and shift), 7 (5 without affine) for layer/group norm, k·k−1 compares per max-pool output,
k·k adds per average-pool output, 3 per element for softmax, 1 per input element for
reductions. Backward-only ops: an activation's backward 1 per element, a normalisation's
backward ops.norm.NORM_BACKWARD_PER_ELEMENT per element, softmax's 4, pooling's as its
forward, scatter-style backward (max-pool, embedding) 1 per gradient element.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from ..ops.norm import NORM_BACKWARD_PER_ELEMENT

SKIP, VIEW, FACTORY, COST, UNSUPPORTED = "skip", "view", "factory", "cost", "unsupported"


class OpCost(NamedTuple):
    kind: str  # netcost kind, or the aten op name
    macs: int = 0  # for a backward op: MACs of all its outputs together
    elementwise: int = 0
    dot_outputs: int = 0
    bias_ops: int = 0
    attrs: dict[str, Any] | None = None
    output_macs: tuple[int, ...] | None = None  # backward ops: MACs per output (grad split)


class Rule(NamedTuple):
    cls: str
    formula: Callable[[tuple, dict, Any], OpCost] | None = None


def _numel(t: Any) -> int:
    return t.numel() if hasattr(t, "numel") else 0


def _first(out: Any) -> Any:
    return out[0] if isinstance(out, (tuple, list)) else out


# ---------------------------------------------------------------- matmul, conv, attention
def _registry_macs(packet: Any, args: tuple, kwargs: dict, out: Any) -> int:
    from torch.utils.flop_counter import flop_registry

    return int(flop_registry[packet](*args, out_val=out, **kwargs)) // 2


def _matmul(bias_index: int | None) -> Callable[[tuple, dict, Any], OpCost]:
    def formula(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
        macs = _registry_macs(packet, args, kwargs, out)
        outs = _numel(out)
        has_bias = bias_index is not None and args[bias_index] is not None
        return OpCost("matmul", macs, 0, outs, outs if has_bias else 0)

    return formula


def _conv(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    x, w, bias, stride, padding, dilation, transposed = args[:7]
    groups = args[8] if len(args) > 8 else kwargs.get("groups", 1)
    macs = _registry_macs(packet, args, kwargs, out)
    outs = _numel(out)
    nd = w.dim() - 2
    kind = f"conv{'_transpose' if transposed else ''}{nd}d"
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    attrs = {"in_channels": x.shape[1], "out_channels": out_channels,
             "kernel": tuple(w.shape[2:]), "stride": tuple(stride), "padding": tuple(padding),
             "dilation": tuple(dilation), "groups": groups, "bias": bias is not None}
    return OpCost(kind, macs, 0, outs, outs if bias is not None else 0, attrs)


def _conv_backward(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    """MACs of grad_input and grad_weight apart, so the importer can tell them apart."""
    from torch.utils.flop_counter import conv_flop_count

    grad_out, x, w = args[:3]
    transposed, mask = args[7], args[10]

    def t(shape: Any) -> list[int]:
        return [shape[1], shape[0], *shape[2:]]

    gi = conv_flop_count(grad_out.shape, w.shape, x.shape, not transposed) // 2 if mask[0] else 0
    if not mask[1]:
        gw = 0
    elif transposed:
        gw = conv_flop_count(t(grad_out.shape), t(x.shape), t(w.shape), transposed=False) // 2
    else:
        gw = conv_flop_count(t(x.shape), t(grad_out.shape), t(w.shape), transposed=False) // 2
    bias = _numel(grad_out) if mask[2] else 0  # grad_bias: a sum over all but channels
    return OpCost("convolution_backward", gi + gw, bias, output_macs=(gi, gw, 0))


def _sdpa(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    from torch.utils.flop_counter import sdpa_flop_count

    q, k, v = args[:3]
    macs = sdpa_flop_count(q.shape, k.shape, v.shape) // 2
    scores = q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2]
    return OpCost("attention", macs, 3 * scores, _numel(_first(out)))  # + softmax of scores


def _registry_backward(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    return OpCost(packet.__name__, _registry_macs(packet, args, kwargs, out))


# ---------------------------------------------------------------- elementwise families
def _per_out(kind: str | None, factor: int = 1) -> Callable[..., OpCost]:
    def formula(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
        name = kind or packet.__name__.rstrip("_")
        return OpCost(name, 0, factor * _numel(_first(out)))

    return formula


def _per_in(kind: str | None, factor: int = 1) -> Callable[..., OpCost]:
    def formula(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
        return OpCost(kind or packet.__name__.rstrip("_"), 0, factor * _numel(args[0]))

    return formula


def _zero(kind: str | None = None) -> Callable[..., OpCost]:
    def formula(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
        return OpCost(kind or packet.__name__.rstrip("_"))

    return formula


def _mean(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    x = args[0]
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    spatial = x.dim() == 4 and dims is not None and {d % 4 for d in dims} == {2, 3}
    return OpCost("global_avg_pool2d" if spatial else "mean", 0, _numel(x))


def _embedding_bag(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    """One add per looked-up element: indices · embedding width (weight first, indices next,
    in the forward; gradient first in the backward)."""
    weight, indices = (args[0], args[1]) if packet.__name__ == "_embedding_bag" else (None, args[1])
    width = weight.shape[1] if weight is not None else args[0].shape[-1]
    kind = "embedding_bag" if weight is not None else packet.__name__
    return OpCost(kind, 0, _numel(indices) * width)


def _hardtanh(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    lo = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
    hi = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
    return OpCost("relu6" if (lo, hi) == (0.0, 6.0) else "hardtanh", 0, _numel(out))


def _batch_norm(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    x = args[0]
    kind = {4: "batch_norm2d", 5: "batch_norm3d"}.get(x.dim(), "batch_norm1d")
    return OpCost(kind, 0, 2 * _numel(x), attrs={"num_features": x.shape[1]})


def _layer_norm(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    affine = len(args) > 2 and args[2] is not None
    return OpCost("layer_norm", 0, (7 if affine else 5) * _numel(args[0]))


def _group_norm(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    affine = len(args) > 1 and args[1] is not None
    return OpCost("group_norm", 0, (7 if affine else 5) * _numel(args[0]))


def _pool_window(args: tuple, kwargs: dict) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    kernel = tuple(args[1])
    stride = tuple(args[2]) if len(args) > 2 and args[2] else kernel
    padding = tuple(args[3]) if len(args) > 3 else (0,)
    nd = args[0].dim() - 2
    return ((kernel * nd)[:nd], (stride * nd)[:nd], (padding * nd)[:nd])


def _max_pool(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    kernel, stride, padding = _pool_window(args, kwargs)
    outs = _numel(_first(out))
    kind = f"max_pool{len(kernel)}d"
    return OpCost(kind, 0, (math.prod(kernel) - 1) * outs,
                  attrs={"kernel": kernel, "stride": stride, "padding": padding})


def _avg_pool(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
    kernel, stride, padding = _pool_window(args, kwargs)
    return OpCost(f"avg_pool{len(kernel)}d", 0, math.prod(kernel) * _numel(out),
                  attrs={"kernel": kernel, "stride": stride, "padding": padding})


def _window_total(size: int, out: int) -> int:
    """Sum of adaptive-pool window lengths along one dim (PyTorch's start/end rule)."""
    return sum(-(-(i + 1) * size // out) - (i * size // out) for i in range(out))


def _adaptive(kind: str, compares: bool) -> Callable[..., OpCost]:
    def formula(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
        x, o = args[0], _first(out)
        nd = len(args[1])
        cells = math.prod(x.shape[:-nd]) * math.prod(
            _window_total(x.shape[-nd + i], o.shape[-nd + i]) for i in range(nd))
        ops = cells - _numel(o) if compares else cells
        return OpCost(kind, 0, ops, attrs={"output_size": tuple(o.shape[-nd:])})

    return formula


def _pool_backward(kind_factor: str) -> Callable[..., OpCost]:
    def formula(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
        grad_out = args[0]
        if kind_factor == "avg":
            kernel = tuple(args[2])
            nd = grad_out.dim() - 2
            return OpCost(packet.__name__, 0, math.prod((kernel * nd)[:nd]) * _numel(grad_out))
        if kind_factor == "adaptive":
            return OpCost(packet.__name__, 0, _numel(out))
        return OpCost(packet.__name__, 0, _numel(grad_out))

    return formula


def _upsample(kind: str, per_out: int) -> Callable[..., OpCost]:
    def formula(args: tuple, kwargs: dict, out: Any, *, packet: Any = None) -> OpCost:
        return OpCost(kind, 0, per_out * _numel(out))

    return formula


# ---------------------------------------------------------------- the table
_UNARY = ("relu gelu silu sigmoid tanh hardswish hardsigmoid leaky_relu elu selu celu mish "
          "softplus log_sigmoid_forward exp exp2 expm1 log log2 log10 log1p sqrt rsqrt abs neg "
          "sin cos tan erf erfc erfinv reciprocal sign sgn floor ceil round trunc frac square "
          "clamp clamp_min clamp_max threshold pow logical_not bitwise_not isnan isinf "
          "nan_to_num sigmoid_ logit glu prelu _prelu_kernel").split()
_BINARY = ("add sub rsub mul div true_divide floor_divide remainder fmod maximum minimum "
           "fmax fmin eq ne lt gt le ge logical_and logical_or logical_xor bitwise_and "
           "bitwise_or bitwise_xor where masked_fill atan2 hypot copysign xlogy "
           "heaviside").split()
_TERNARY = ("addcmul addcdiv lerp").split()  # two ops per element
_REDUCE = ("sum mean amax amin max min prod argmax argmin any all logsumexp cumsum cumprod "
           "nansum norm linalg_vector_norm count_nonzero topk sort kthvalue median "
           "cummax cummin").split()
_REDUCE3 = "var std var_mean std_mean".split()
_ZERO = ("cat stack clone copy _copy_from _to_copy contiguous constant_pad_nd reflection_pad1d "
         "reflection_pad2d reflection_pad3d replication_pad1d replication_pad2d "
         "replication_pad3d index index_select gather embedding index_put _index_put_impl "
         "_unsafe_index roll flip repeat fill zero select_scatter slice_scatter "
         "diagonal_scatter as_strided_scatter scatter pixel_shuffle pixel_unshuffle "
         "channel_shuffle native_channel_shuffle tril triu masked_scatter masked_select "
         "nonzero upsample_nearest1d upsample_nearest2d upsample_nearest3d "
         "_upsample_nearest_exact1d _upsample_nearest_exact2d _upsample_nearest_exact3d "
         "im2col col2im select_backward slice_backward lift_fresh_copy "
         "index_add scatter_add scatter_reduce index_fill").split()
_KIND = {"cat": "concat", "stack": "stack", "relu": "relu", "add": "add", "mul": "mul",
         "sub": "sub", "div": "div", "embedding": "embedding", "mean": "mean", "sum": "sum"}
_ACT_BACKWARD = ("threshold_backward hardtanh_backward gelu_backward silu_backward "
                 "sigmoid_backward tanh_backward hardswish_backward hardsigmoid_backward "
                 "leaky_relu_backward elu_backward softplus_backward mish_backward "
                 "native_dropout_backward log_sigmoid_backward glu_backward "
                 "_prelu_kernel_backward logit_backward").split()
_NORM_BACKWARD = ("native_batch_norm_backward native_layer_norm_backward "
                  "native_group_norm_backward cudnn_batch_norm_backward "
                  "_native_batch_norm_legit_backward batch_norm_backward").split()
_META = ("size sym_size stride sym_stride dim numel sym_numel storage_offset "
         "sym_storage_offset is_contiguous sym_is_contiguous is_strides_like_format "
         "is_non_overlapping_and_dense device layout _local_scalar_dense is_same_size "
         "_has_compatible_shallow_copy_type record_stream").split()
_VIEWS = ("unsafe_split unsafe_split_with_sizes unsafe_chunk detach alias lift_fresh view _unsafe_view _reshape_alias reshape t transpose "
          "permute expand squeeze unsqueeze select slice as_strided split split_with_sizes "
          "unbind chunk narrow unflatten view_as expand_as diagonal unfold movedim "
          "_unsafe_view_copy numpy_T real imag view_as_real view_as_complex").split()
_FACTORY = ("empty empty_like empty_strided zeros zeros_like ones ones_like full full_like "
            "rand rand_like randn randn_like randint randint_like randperm arange linspace "
            "logspace scalar_tensor new_empty new_empty_strided new_zeros new_ones new_full "
            "eye bernoulli normal uniform").split()


def _build_table() -> dict[str, Callable[..., OpCost]]:
    table: dict[str, Callable[..., OpCost]] = {}

    def put(names: list[str] | tuple[str, ...], formula: Callable[..., OpCost]) -> None:
        for name in names:
            table[name] = formula
            table[name + "_"] = formula  # the in-place variant costs the same

    for name in _UNARY + _BINARY:
        put([name], _per_out(_KIND.get(name)))
    put(_TERNARY, _per_out(None, 2))
    for name in _REDUCE:
        put([name], _per_in(_KIND.get(name)))
    put(_REDUCE3, _per_in(None, 3))
    for name in _ZERO:
        put([name], _zero(_KIND.get(name)))
    put(["relu"], _per_out("relu"))
    put(["mean"], _mean)
    put(["_embedding_bag", "_embedding_bag_backward", "_embedding_bag_dense_backward"],
        _embedding_bag)
    put(["hardtanh"], _hardtanh)
    put(["native_dropout"], _per_out("dropout"))
    put(["native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
         "_native_batch_norm_legit_functional", "cudnn_batch_norm", "_batch_norm_with_update",
         "_batch_norm_no_update"], _batch_norm)
    put(["native_layer_norm"], _layer_norm)
    put(["native_group_norm"], _group_norm)
    put(["_softmax", "_safe_softmax", "_log_softmax"], _per_out(None, 3))
    table["_softmax"] = _per_out("softmax", 3)
    table["_safe_softmax"] = _per_out("softmax", 3)
    table["_log_softmax"] = _per_out("log_softmax", 3)
    put(["max_pool2d_with_indices", "max_pool3d_with_indices", "max_pool1d_with_indices",
         "max_pool2d", "max_pool1d", "max_pool3d"], _max_pool)
    put(["avg_pool2d", "avg_pool3d", "avg_pool1d"], _avg_pool)
    put(["_adaptive_avg_pool2d", "adaptive_avg_pool2d", "_adaptive_avg_pool3d"],
        _adaptive("adaptive_avg_pool2d", False))
    put(["adaptive_max_pool2d", "adaptive_max_pool3d"], _adaptive("adaptive_max_pool2d", True))
    put(["upsample_bilinear2d", "_upsample_bilinear2d_aa", "upsample_linear1d"],
        _upsample("upsample_bilinear2d", 7))
    put(["upsample_bicubic2d"], _upsample("upsample_bicubic2d", 31))
    # backward-only ops
    put(_ACT_BACKWARD, _per_out(None))
    for name in _NORM_BACKWARD:
        table[name] = lambda a, k, o, packet=None: OpCost(
            packet.__name__, 0, NORM_BACKWARD_PER_ELEMENT * _numel(a[1]))
    put(["_softmax_backward_data", "_log_softmax_backward_data"], _per_out(None, 4))
    put(["max_pool2d_with_indices_backward", "max_pool3d_with_indices_backward",
         "adaptive_max_pool2d_backward", "adaptive_max_pool3d_backward",
         "embedding_dense_backward", "embedding_backward"], _pool_backward("max"))
    put(["avg_pool2d_backward", "avg_pool3d_backward"], _pool_backward("avg"))
    put(["_adaptive_avg_pool2d_backward", "_adaptive_avg_pool3d_backward"],
        _pool_backward("adaptive"))
    put(["upsample_bilinear2d_backward", "upsample_nearest2d_backward",
         "_upsample_nearest_exact2d_backward"], _per_out(None))
    # matmul, convolution, attention: torch's formulas
    put(["mm", "bmm"], _matmul(None))
    put(["addmm", "baddbmm"], _matmul(0))
    table["convolution"] = table["_convolution"] = _conv
    table["convolution_backward"] = _conv_backward
    put(["_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
         "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention_for_cpu"],
        _sdpa)
    put(["_scaled_dot_product_efficient_attention_backward",
         "_scaled_dot_product_flash_attention_backward",
         "_scaled_dot_product_cudnn_attention_backward"], _registry_backward)
    return table


_TABLE: dict[str, Callable[..., OpCost]] | None = None
_META_SET, _VIEW_SET, _FACTORY_SET = set(_META), set(_VIEWS), set(_FACTORY)


def classify(func: Any) -> Rule:
    """The rule for one OpOverload (the tracer caches the answer per overload)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _build_table()
    name = func._overloadpacket.__name__
    base = name.rstrip("_")
    if name in _META_SET or func.namespace == "prim":
        return Rule(SKIP)
    if name in _VIEW_SET or base in _VIEW_SET or (func.is_view and name not in _TABLE):
        return Rule(VIEW)
    if name in _FACTORY_SET or base in _FACTORY_SET:
        return Rule(FACTORY)
    formula = _TABLE.get(name) or _TABLE.get(base)
    if formula is None:
        return Rule(UNSUPPORTED)
    packet = func._overloadpacket

    def bound(args: tuple, kwargs: dict, out: Any) -> OpCost:
        return formula(args, kwargs, out, packet=packet)

    return Rule(COST, bound)

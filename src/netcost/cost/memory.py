"""Memory that inference and training really hold: an allocation walk over the graph.

Inference peak: a liveness walk in forward order. Each layer allocates its output (views and
in-place ops reuse their input's storage); a tensor's storage is freed after its last
consumer, or later when Python still holds it: a module's input until the module returns,
a result computed in a composite module's own forward until that forward returns (the
importer's module paths tell). The peak is the largest total alive at any layer, its
output, its inputs and its kernel's temporaries counted.

Training peak: the same forward walk, but a tensor also stays alive while a later backward
needs it (what autograd saves per op kind: conv/linear keep their input, ReLU its output,
batch norm its input and per-channel statistics, max-pool its int64 indices, dropout its
mask ...), then the loss (cross entropy: log-softmax keeps its output), then backward in
reverse order as PyTorch's engine runs it: each layer allocates its input gradients and
weight gradients, then frees its output gradient and what it saved; gradients from several
consumers are summed in place when the engine holds the only reference (else out of place);
add, view and concat pass their gradient through without a copy. Last, optimizer.step()
with PyTorch's foreach implementations (Adam's foreach step holds one temporary per
parameter: the square root of the second moment). Weights, buffers, optimizer state and the
inputs are alive throughout.

Mixed precision (`amp`) follows torch.autocast on CUDA: convolutions and matrix products run
on half-precision copies of their inputs and weights (the weight copies are cached for the
forward and saved for backward), their outputs and what follows them are half precision,
softmax / layer norm / the loss run in fp32; weights, gradients and optimizer state stay
fp32 (master weights).

Kernel temporaries (`backend="cpu"`, the default) are those of PyTorch's CPU kernels
(oneDNN), measured op by op (see _workspace); with `backend="cuda"` none are modelled.

Every figure is an exact integer number of bytes; terms of each peak sum to the peak.
Not modelled: oneDNN's buffers for channels-last depthwise convolution backward (ConvNeXt),
fused eval-only kernels (nn.TransformerEncoderLayer's fast path), cuDNN workspaces and the
CUDA caching allocator's rounding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from ..ir import Layer, Network, numel
from ..units import PRECISION_BITS, check_precision, nbytes
from .counts import lecture_batch_space, needs_input_grad

OPTIMIZERS: dict[str, tuple[int, str]] = {
    # name -> (state buffers per parameter, description)
    "sgd": (0, "plain SGD: no state"),
    "momentum": (1, "SGD with momentum: one momentum buffer per parameter"),
    "adam": (2, "Adam: first and second moments per parameter"),
    "adamw": (2, "AdamW: first and second moments per parameter"),
}
AMP = ("fp16", "bf16")
BACKENDS = ("cpu", "cuda")

# Terms, in the order renderers show them.
TRAINING_TERMS = ("weights", "buffers", "gradients", "optimizer_state", "inputs",
                  "activations", "transient")
INFERENCE_TERMS = ("weights", "buffers", "inputs", "activations", "transient")

# Layer kinds whose output is a view of (or writes into) their first input.
_VIEW_KINDS = {"flatten", "reshape", "view", "identity"}
# Kinds whose backward hands the output gradient on without computing a new tensor.
_PASS_KINDS = {"add", "flatten", "reshape", "view", "identity", "concat"}
# Kinds autocast runs in half precision, and kinds it runs in fp32 (CUDA lists).
_AMP_LOWER = {"conv2d", "conv_transpose2d", "linear", "matmul", "mm", "bmm", "addmm",
              "baddbmm", "einsum", "scaled_dot_product_attention", "conv1d", "conv3d"}
_AMP_FP32 = {"softmax", "log_softmax", "layer_norm", "group_norm", "cross_entropy",
             "nll_loss", "sum", "mean", "norm", "exp", "log", "pow", "cumsum"}


@dataclass(frozen=True)
class Peak:
    """One peak: its total, its named terms (summing to it) and where it falls."""

    peak_bytes: int
    terms: dict[str, int]
    at: str  # "forward: layer1.0.conv1", "backward: fc", "optimizer step"

    def to_dict(self) -> dict[str, Any]:
        return {"peak_bytes": self.peak_bytes, "terms": dict(self.terms), "at": self.at}


@dataclass(frozen=True)
class MemoryEstimate:
    batch: int
    precision: str
    optimizer: str
    amp: str | None
    inference: Peak
    training: Peak
    lecture: dict[str, Any]
    phases: dict[str, int] = field(default_factory=dict)  # training peak per phase
    # Activations (and the loss's own tensors) alive when backward starts.
    after_forward: int = 0
    backend: str = "cpu"  # whose kernel temporaries are modelled

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "precision": self.precision, "backend": self.backend,
                "inference": self.inference.to_dict(), "training": self.training.to_dict(),
                "training_phases": dict(self.phases),
                "activations_after_forward_bytes": self.after_forward,
                "lecture": dict(self.lecture), "optimizer": self.optimizer, "amp": self.amp}


def check_optimizer(name: str) -> str:
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise InvalidArgument(
            f"unknown optimizer {name!r}; netcost models {', '.join(OPTIMIZERS)}"
        )
    return key


def check_amp(amp: str | None) -> str | None:
    if amp is None or str(amp).lower() in ("", "none", "off", "fp32"):
        return None
    key = str(amp).lower()
    if key not in AMP:
        raise InvalidArgument(f"unknown mixed precision {amp!r}; choose fp16 or bf16")
    return key


# --- the allocation pool --------------------------------------------------------------


class _Pool:
    """Storages with their holders; a storage is freed when its last holder lets go.
    Tracks the live bytes per term and the worst moment seen."""

    def __init__(self, base: Mapping[str, int]):
        self.base = dict(base)  # persistent terms, alive throughout
        self.size: dict[str, int] = {}
        self.term: dict[str, str] = {}
        self.holds: dict[str, set[str]] = {}
        self.live: dict[str, int] = defaultdict(int)
        self.peak = -1
        self.peak_terms: dict[str, int] = {}
        self.peak_at = ""
        self.phase = "forward"
        self.phase_peak: dict[str, int] = {}
        self.views: set[str] = set()  # gradient storages held as slices (concat backward)
        self.after_forward = 0
        # When a list: every allocation, free and op temporary in order, for the allocator
        # simulation of cost.pagefaults: ("alloc", sid, bytes), ("free", sid),
        # ("temp", bytes) and ("op", label) after each op's own allocations.
        self.log: list[tuple[Any, ...]] | None = None

    def alloc(self, sid: str, nbytes: int, term: str, holds: Iterable[str]) -> str:
        holds = set(holds)
        if sid in self.size:
            raise RuntimeError(f"storage {sid} allocated twice")
        self.size[sid], self.term[sid], self.holds[sid] = nbytes, term, holds
        self.live[term] += nbytes
        if self.log is not None:
            self.log.append(("alloc", sid, nbytes))
        return sid

    def hold(self, sid: str | None, holder: str) -> None:
        if sid is not None and sid in self.holds:
            self.holds[sid].add(holder)

    def release(self, sid: str | None, holder: str) -> None:
        if sid is None or sid not in self.holds:
            return
        self.holds[sid].discard(holder)
        if not self.holds[sid]:
            self.free(sid)

    def free(self, sid: str) -> None:
        self.live[self.term[sid]] -= self.size.pop(sid)
        del self.holds[sid], self.term[sid]
        if self.log is not None:
            self.log.append(("free", sid))

    def sole(self, sid: str, holder: str) -> bool:
        return self.holds.get(sid) == {holder}

    def total(self) -> int:
        return sum(self.base.values()) + sum(self.live.values())

    def mark(self, at: str, transient: int = 0) -> int:
        if self.log is not None:
            if transient:
                self.log.append(("temp", transient))
            self.log.append(("op", at))
        now = self.total() + transient
        self.phase_peak[self.phase] = max(self.phase_peak.get(self.phase, 0), now)
        if now > self.peak:
            self.peak, self.peak_at = now, at
            terms = dict(self.base)
            for k, v in self.live.items():
                terms[k] = terms.get(k, 0) + v
            terms["transient"] = terms.get("transient", 0) + transient
            self.peak_terms = terms
        return now

    def result(self, order: tuple[str, ...]) -> Peak:
        terms = {k: self.peak_terms.get(k, 0) for k in order}
        extra = set(self.peak_terms) - set(order)
        if extra:
            raise RuntimeError(f"unnamed memory terms {sorted(extra)}")
        return Peak(self.peak, terms, self.peak_at)


# --- per-layer facts ------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    alias: bool  # the output shares the first input's storage (view or in-place)
    passthrough: bool  # backward hands the output gradient on unchanged (no new tensor)
    grad_is_view: bool  # ... as a slice that cannot be summed into in place
    saved: tuple[str, ...]  # tensor names kept for backward
    extra_bytes: int  # saved tensors that are no layer's output (indices, stats, masks)


def _attr_kind(layer: Layer) -> str:
    return str(layer.attrs.get("op", layer.kind)).split(".")[-1].split("::")[-1]


def _facts(layer: Layer, batch: int, training: bool, act_bytes: int = 4,
           backend: str = "cpu") -> _Facts:
    kind = layer.kind
    inplace = bool(layer.attrs.get("inplace", False))
    alias = kind in _VIEW_KINDS or inplace or (kind == "dropout" and not training)
    passthrough = kind in _PASS_KINDS or (inplace and kind == "add")
    grad_is_view = kind == "concat" and batch > 1
    if "saved" in layer.attrs:  # recorded by the importer from autograd itself, at batch 1
        saved = tuple(layer.attrs["saved"])
        # Batch norm's statistics are per channel; other extras (indices, masks) per sample.
        scale = 1 if "batch_norm" in _attr_kind(layer) else batch
        extra = sum(int(n) * int(size) * scale for n, size in layer.attrs.get("saved_extra", ()))
        return _Facts(alias, passthrough, grad_is_view, saved, extra)
    # Zoo layers: what the ops catalogue says PyTorch keeps (ops/registry.py: Saved).
    from ..ops.registry import get_op

    kept = get_op(kind).saves(layer.attrs, layer.input_shapes, layer.output_shape)
    saved = tuple(layer.parents[i] for i in kept.inputs) + ((layer.name,) if kept.output else ())
    extra = (sum(_DTYPE_BYTES.get(d, act_bytes) * n * batch for d, n in kept.new)
             + sum(_DTYPE_BYTES.get(d, act_bytes) * n for d, n in kept.per_batch))
    if kind == "dropout" and backend == "cpu":  # CPU keeps a mask in the input's type
        extra = act_bytes * numel(layer.output_shape) * batch
    return _Facts(alias, passthrough, grad_is_view, saved, extra)


_DTYPE_BYTES = {"int64": 8, "bool": 1, "fp32": 4}


class _Dtypes:
    """Bytes per element of every tensor: the precision, or autocast's choice under amp."""

    def __init__(self, network: Network, precision: str, amp: str | None):
        self.precision = precision
        self.precision_bits = PRECISION_BITS[precision]
        self.amp = amp
        self.half: dict[str, bool] = {name: False for name in network.inputs}
        for layer in network.layers:
            self.half[layer.name] = self._is_half(layer)
        self.itemsize_attr = {layer.name: layer.attrs.get("dtype") for layer in network.layers}
        self.itemsize_attr.update(network.extra.get("input_dtypes", {}))  # int64 token ids
        self.act_bytes = 2 if amp else max(1, self.precision_bits // 8)

    def _is_half(self, layer: Layer) -> bool:
        if self.amp is None:
            return False
        kind = _attr_kind(layer)
        if layer.kind in _AMP_LOWER or kind in _AMP_LOWER:
            return True
        if layer.kind in _AMP_FP32 or kind in _AMP_FP32:
            return False
        # Elementwise ops promote: half only if every floating input is half.
        return bool(layer.parents) and all(self.half.get(p, False) for p in layer.parents)

    def nbytes(self, name: str, count: int) -> int:
        size = self.itemsize_attr.get(name)
        if size in (1, 8):  # bool masks, int64 indices keep their type
            return count * int(size)
        if self.half.get(name):
            return count * 2
        return nbytes(count, self.precision)


def _workspace(layer: Layer, batch: int, dtypes: _Dtypes, sizes: Mapping[str, int],
               backend: str, *, training: bool, backward: bool, input_grad: bool = True) -> int:
    """Temporaries a kernel allocates and frees within one op, beyond its results.
    Measured on PyTorch's CPU kernels (oneDNN) op by op:
    - convolution forward: max(O, I + W) (a reordered copy of the input and of the weights,
      or a second output buffer, whose channels oneDNN pads to a multiple of 16);
    - convolution backward: max(I + O, W) beyond the input and weight gradients;
    - batch-norm backward (training): one tensor the size of its input;
    - max-pool forward without grad: its int64 indices, computed then dropped.
    CUDA's kernels (cuDNN workspaces) are not modelled: 0."""
    if backend != "cpu":
        return 0
    kind = layer.kind
    op = _attr_kind(layer)
    name = layer.name
    out = dtypes.nbytes(name, batch * sizes[name])
    parent = layer.parents[0] if layer.parents else None
    inp = dtypes.nbytes(parent, batch * sizes[parent]) if parent in sizes else 0
    if kind in ("conv2d", "conv_transpose2d") or "convolution" in op:
        weight = (2 * layer.cost.params if dtypes.half.get(name)  # autocast's half copy
                  else nbytes(layer.cost.params, dtypes.precision))
        if not backward:
            # oneDNN's blocked layout pads the channels to a multiple of 16 (AVX-512).
            k = layer.output_shape[0] if layer.output_shape else 16
            return max(out * (-(-k // 16) * 16) // k, inp + weight)
        return max(inp + out, weight) if input_grad else max(out, weight)
    if kind == "batch_norm2d" or "batch_norm" in op:
        return inp if backward and training else 0
    if (kind in ("max_pool2d", "adaptive_max_pool2d") or "max_pool" in op) and not training:
        return 8 * batch * sizes[name]
    return 0


# --- the walk -------------------------------------------------------------------------


def _tensor_numel(network: Network) -> dict[str, int]:
    sizes = {name: numel(shape) for name, shape in network.inputs.items()}
    sizes.update({layer.name: layer.output_numel for layer in network.layers})
    return sizes


def output_storage(name: str) -> str:
    """The pool's id (and the allocation log's) of the storage a layer's output gets when
    it is no view or in-place result."""
    return f"t:{name}"


def saved_bytes(network: Network, *, batch: int, precision: str = "fp32",
                amp: str | None = None) -> dict[str, int]:
    """Per layer, the bytes it keeps for its backward (the tensors it saved, each in its own
    type as the walk sizes it, and its indices, masks and statistics): what its backward
    reads back."""
    dtypes = _Dtypes(network, check_precision(precision), amp)
    sizes = _tensor_numel(network)
    out = {}
    for layer in network.layers:
        f = _facts(layer, batch, True, dtypes.act_bytes)
        out[layer.name] = f.extra_bytes + sum(dtypes.nbytes(t, sizes[t] * batch)
                                              for t in f.saved if t in sizes)
    return out


def _outputs(network: Network) -> list[str]:
    """The network's outputs: as the importer recorded them, else the unconsumed layers."""
    if network.extra.get("outputs"):
        return list(network.extra["outputs"])
    consumers = network.consumers()
    outs = [layer.name for layer in network.layers
            if not consumers[layer.name] and layer.kind != "parameters"]
    return outs or [network.layers[-1].name]


def _param_tensors(layer: Layer) -> int:
    """How many parameter tensors a layer owns (weight, and bias if any)."""
    if not layer.cost.params:
        return 0
    if "params" in layer.attrs:  # the importer lists the parameters an op reads
        return len(layer.attrs["params"])
    if layer.kind in ("batch_norm2d", "layer_norm"):
        return 2
    return 1 + bool(layer.attrs.get("bias", False))


def _unique_param_layers(network: Network) -> list[Layer]:
    seen: set[str] = set()
    out = []
    for layer in network.layers:
        if not layer.cost.params:
            continue
        if layer.weight_key is not None:
            if layer.weight_key in seen:
                continue
            seen.add(layer.weight_key)
        out.append(layer)
    return out


def _buffer_bytes(network: Network, precision: str) -> int:
    if "buffer_bytes" in network.extra:
        return int(network.extra["buffer_bytes"])
    # Batch norm also counts its batches in an int64 buffer (num_batches_tracked): the zoo
    # leaves it out, the torch importer counts it as one number.
    n_bn = sum(1 for layer in network.layers if layer.kind == "batch_norm2d")
    return nbytes(network.buffers, precision) + (4 if network.source == "torch" else 8) * n_bn


def _input_bytes(network: Network, batch: int, dtypes: _Dtypes, with_target: bool) -> int:
    total = sum(dtypes.nbytes(name, batch * numel(shape))
                for name, shape in network.inputs.items())
    if with_target and loss_kind(network) == "cross_entropy":
        total += 8 * batch  # int64 class labels
    return total


def loss_kind(network: Network) -> str:
    """The loss netcost assumes (measure uses the same): cross entropy on (batch, classes)
    logits, else the sum of the output."""
    out = network.layer(_outputs(network)[0])
    return "cross_entropy" if len(out.output_shape) == 1 else "sum"


def _all_facts(network: Network, batch: int, training: bool, dtypes: _Dtypes,
               backend: str) -> dict[str, _Facts]:
    return {layer.name: _facts(layer, batch, training, dtypes.act_bytes, backend)
            for layer in network.layers}


def _forward(network: Network, pool: _Pool, batch: int, dtypes: _Dtypes, *,
             training: bool, requires: Mapping[str, bool], amp: str | None,
             backend: str, facts: Mapping[str, _Facts]) -> dict[str, str | None]:
    """Walk forward; returns the storage of every tensor (None for the persistent inputs)."""
    consumers = network.consumers()
    sizes = _tensor_numel(network)
    saved_by: dict[str, list[str]] = defaultdict(list)
    if training:
        for layer in network.layers:
            if requires[layer.name]:
                for t in facts[layer.name].saved:
                    saved_by[t].append(layer.name)
    outputs = set(_outputs(network))
    sid_of: dict[str, str | None] = {name: None for name in network.inputs}
    frames = _frame_holds(network)
    released_after: dict[str, list[str]] = defaultdict(list)
    for tensor, last in frames.items():
        released_after[last].append(tensor)

    def holders(name: str) -> set[str]:
        h = {f"fwd:{c}" for c in consumers.get(name, [])}
        if name in frames:
            h.add(f"py:{frames[name]}")
        h |= {f"bwd:{m}" for m in saved_by.get(name, [])}
        if name in outputs:
            h.add("out")
        return h

    for layer in network.layers:
        f = facts[layer.name]
        if not training and not consumers[layer.name] and layer.name not in outputs:
            for p in set(layer.parents):  # autograd's own copies (an in-place op's saved
                pool.release(sid_of[p], f"fwd:{layer.name}")  # input): not run without grad
            continue
        if f.alias and layer.parents:
            sid = sid_of[layer.parents[0]]
            for h in holders(layer.name):
                pool.hold(sid, h)
        else:
            sid = pool.alloc(output_storage(layer.name),
                             dtypes.nbytes(layer.name, batch * sizes[layer.name]),
                             "activations", holders(layer.name))
        sid_of[layer.name] = sid
        if training and requires[layer.name] and f.extra_bytes:
            pool.alloc(f"x:{layer.name}", f.extra_bytes, "activations", {f"bwd:{layer.name}"})
        transient = _workspace(layer, batch, dtypes, sizes, backend, training=training,
                               backward=False)
        if amp is not None and dtypes.half[layer.name] and (
                layer.kind in _AMP_LOWER or _attr_kind(layer) in _AMP_LOWER):
            transient += _amp_casts(layer, pool, batch, dtypes, sizes, training,
                                    requires[layer.name])
        elif amp is not None and (layer.kind in _AMP_FP32 or _attr_kind(layer) in _AMP_FP32):
            # autocast runs it on fp32 copies of its half inputs
            transient += sum(4 * batch * sizes[p] for p in set(layer.parents)
                             if dtypes.half.get(p, False))
        pool.mark(f"forward: {layer.name}", transient)
        for p in set(layer.parents):
            pool.release(sid_of[p], f"fwd:{layer.name}")
        for t in released_after.get(layer.name, ()):
            pool.release(sid_of[t], f"py:{layer.name}")
        if sid is not None and sid in pool.holds and not pool.holds[sid]:
            pool.free(sid)  # an output nobody reads or keeps
    return sid_of


def _frame_holds(network: Network) -> dict[str, str]:
    """Python keeps a module's input alive until the module returns (the caller's frame
    holds it): a tensor read inside module M but made outside it lives until M's last op.
    Needs the importer's module paths; zoo networks have none. Returns tensor -> the layer
    after which the last such frame lets it go."""
    module = {layer.name: layer.attrs.get("module") for layer in network.layers}
    if not any(module.values()):
        return {}
    last_in: dict[str, int] = {}
    for i, layer in enumerate(network.layers):
        path = module[layer.name] or ""
        parts = path.split(".") if path else []
        for k in range(1, len(parts) + 1):
            last_in[".".join(parts[:k])] = i
        for k in range(1, len(parts)):  # mark the ancestors as composite
            last_in[".".join(parts[:k]) + ".__child__"] = i
    held: dict[str, int] = {}
    for layer in network.layers:
        # An op called in a composite module's own forward (torch.cat in a DenseNet layer)
        # has its result in a local variable there: held until that forward returns.
        path = module[layer.name] or ""
        if path and last_in.get(path + ".__child__") is not None:
            held[layer.name] = last_in[path]
    for i, layer in enumerate(network.layers):
        path = module[layer.name] or ""
        parts = path.split(".") if path else []
        for t in layer.parents:
            src = module.get(t) or ""
            for k in range(1, len(parts)):  # proper ancestors of the op's own module
                scope = ".".join(parts[:k])
                if src == scope or src.startswith(scope + "."):
                    continue
                if last_in[scope] > held.get(t, i):
                    held[t] = last_in[scope]
    return {t: network.layers[i].name for t, i in held.items()}


def _amp_casts(layer: Layer, pool: _Pool, batch: int, dtypes: _Dtypes,
               sizes: Mapping[str, int], training: bool, requires: bool) -> int:
    """Half copies autocast makes for a conv/matmul: its weights (cached until the forward
    ends and, when training, saved for backward) and any fp32 input (saved for backward)."""
    keep = {f"bwd:{layer.name}"} if training and requires else set()
    if layer.cost.params:
        pool.alloc(f"w16:{layer.name}", 2 * layer.cost.params, "activations",
                   keep | {"autocast"})
    transient = 0
    for p in layer.parents[:1]:
        if not dtypes.half.get(p, False):
            n = 2 * batch * sizes[p]
            if keep:
                pool.alloc(f"in16:{layer.name}", n, "activations", keep)
            else:
                transient += n
    return transient


def _backward(network: Network, pool: _Pool, batch: int, dtypes: _Dtypes,
              sid_of: Mapping[str, str | None], requires: Mapping[str, bool],
              master: str, amp: str | None, backend: str,
              facts: Mapping[str, _Facts]) -> None:
    sizes = _tensor_numel(network)
    grads: dict[str, str] = {}  # tensor -> storage of its gradient buffer
    out = _outputs(network)[0]
    counter = iter(range(1 << 62))

    def new_grad(tensor: str, nbytes_: int) -> str:
        return pool.alloc(f"g{next(counter)}:{tensor}", nbytes_, "transient", {f"grad:{tensor}"})

    # The loss: cross entropy = log_softmax (fp32, keeps its output) then nll_loss.
    out_bytes = dtypes.nbytes(out, batch * sizes[out])
    kind_of_loss = loss_kind(network)
    if kind_of_loss == "cross_entropy":
        ls = pool.alloc("loss:log_softmax", 4 * batch * sizes[out], "activations", {"bwd:loss"})
        pool.alloc("loss:value", 8, "activations", {"loss"})  # the loss and total_weight
        pool.mark("loss")
        pool.phase = "backward"
        pool.release(sid_of[out], "out")
        pool.release("loss:value", "loss")
        pool.after_forward = pool.live["activations"]
        # backward of nll_loss, then of log_softmax
        g_ls = pool.alloc("g:log_softmax", 4 * batch * sizes[out], "transient", {"g"})
        pool.mark("backward: loss")
        grads[out] = new_grad(out, out_bytes)
        pool.mark("backward: loss")
        pool.release(g_ls, "g")
        pool.release(ls, "bwd:loss")
    else:
        pool.alloc("loss:value", 4, "activations", {"loss"})
        pool.mark("loss")
        pool.phase = "backward"
        pool.release(sid_of[out], "out")
        pool.release("loss:value", "loss")
        pool.after_forward = pool.live["activations"]
        grads[out] = new_grad(out, 4)  # the expanded gradient of a sum is a broadcast view
    for name in _outputs(network)[1:]:
        pool.release(sid_of[name], "out")
    pool.release("autocast", "autocast")
    for sid in [s for s, h in pool.holds.items() if "autocast" in h]:
        pool.release(sid, "autocast")

    seen_keys: set[str] = set()
    for layer in reversed(network.layers):
        name, f = layer.name, facts[layer.name]
        g = grads.pop(name, None)
        if not requires[name] or g is None:
            _release_saved(pool, layer, f, sid_of, grads)
            if g is not None:
                pool.release(g, f"grad:{name}")
            continue
        new: list[tuple[str, str]] = []
        for p in dict.fromkeys(layer.parents):
            if not requires.get(p, False):
                continue
            if f.passthrough:
                pool.hold(g, f"grad:{p}")
                new.append((p, g))
            else:
                new.append((p, new_grad(p, dtypes.nbytes(p, batch * sizes[p]))))
        transient = _workspace(layer, batch, dtypes, sizes, backend, training=True,
                               backward=True, input_grad=bool(new))
        if name == out and kind_of_loss == "sum" and not f.passthrough:
            # the broadcast gradient of a sum is made contiguous for the kernels
            transient += dtypes.nbytes(out, batch * sizes[out])
        key = layer.weight_key or name
        if layer.cost.params:
            first = key not in seen_keys
            seen_keys.add(key)
            pbytes = nbytes(layer.cost.params, master)
            if amp is not None and dtypes.half[name]:
                transient += 2 * layer.cost.params  # the half gradient before its fp32 copy
            if first:
                pool.alloc(f"pg:{key}", pbytes, "gradients", {"param"})
            else:  # a tied weight: the second gradient is summed into .grad
                transient += pbytes
        pool.mark(f"backward: {name}", transient)
        pool.release(g, f"grad:{name}")
        _release_saved(pool, layer, f, sid_of, grads)
        for p, sid in new:
            _accumulate(pool, grads, p, sid, f.grad_is_view,
                        dtypes.nbytes(p, batch * sizes[p]))
    for t, sid in list(grads.items()):
        pool.release(sid, f"grad:{t}")


def _release_saved(pool: _Pool, layer: Layer, f: _Facts, sid_of: Mapping[str, str | None],
                   grads: Mapping[str, str]) -> None:
    for t in f.saved:
        pool.release(sid_of.get(t), f"bwd:{layer.name}")
    for sid in (f"x:{layer.name}", f"w16:{layer.name}", f"in16:{layer.name}"):
        pool.release(sid, f"bwd:{layer.name}")


def _accumulate(pool: _Pool, grads: dict[str, str], tensor: str, sid: str,
                is_view: bool, nbytes_: int) -> None:
    """The engine's InputBuffer: sum into a buffer it alone holds, else out of place."""
    holder = f"grad:{tensor}"
    old = grads.get(tensor)
    if is_view:
        pool.views.add(sid)
    if old is None:
        grads[tensor] = sid
        return
    views = pool.views
    if old not in views and pool.sole(old, holder):
        pool.release(sid, holder)
    elif sid not in views and pool.sole(sid, holder):
        pool.release(old, holder)
        grads[tensor] = sid
    else:
        total = pool.alloc(f"sum:{tensor}:{len(pool.size)}:{old}", nbytes_, "transient",
                           {holder})
        pool.mark(f"backward: sum of gradients of {tensor}")
        pool.release(old, holder)
        pool.release(sid, holder)
        grads[tensor] = total


def _step_transient(layers: list[Layer], optimizer: str, master: str) -> int:
    """Temporaries of PyTorch's foreach optimizer step: Adam/AdamW build sqrt(v) for every
    parameter at once; SGD (with or without momentum) works in place."""
    if optimizer in ("adam", "adamw"):
        return sum(nbytes(layer.cost.params, master) for layer in layers)
    return 0


def estimate(network: Network, *, batch: int, precision: str = "fp32",
             optimizer: str = "momentum", amp: str | None = None,
             backend: str = "cpu") -> MemoryEstimate:
    """Inference and training peaks at `batch`. `backend` picks the kernel library whose
    temporaries are modelled: 'cpu' (oneDNN, as PyTorch uses on x86 CPUs) or 'cuda'."""
    precision = check_precision(precision)
    if backend not in BACKENDS:
        raise InvalidArgument(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    optimizer = check_optimizer(optimizer)
    amp = check_amp(amp)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch <= 0:
        raise InvalidArgument(f"batch must be a positive integer, got {batch!r}")
    inference = _inference_walk(network, batch, precision, amp, backend).result(
        INFERENCE_TERMS)
    pool = _training_walk(network, batch, precision, optimizer, amp, backend)
    training = pool.result(TRAINING_TERMS)
    phases = dict(pool.phase_peak)

    numbers = sum(lecture_batch_space(layer, batch) for layer in network.layers)
    lecture = {"numbers": numbers, "bytes": nbytes(numbers, precision),
               "formula": "Σ layers: params + batch·(params + 2·inputs + 2·outputs)"}
    return MemoryEstimate(batch, precision, optimizer, amp, inference, training, lecture,
                          phases, pool.after_forward, backend)


def _inference_walk(network: Network, batch: int, precision: str, amp: str | None,
                    backend: str, log: list[tuple[Any, ...]] | None = None) -> _Pool:
    """One forward without gradients: no gradients, no state, the input only (no labels)."""
    master = "fp32" if amp else precision
    dtypes = _Dtypes(network, precision, amp)
    pool = _Pool({"weights": nbytes(network.params, master),
                  "buffers": _buffer_bytes(network, master),
                  "inputs": _input_bytes(network, batch, dtypes, with_target=False)})
    pool.log = log
    requires_none = {layer.name: False for layer in network.layers}
    _forward(network, pool, batch, dtypes, training=False, requires=requires_none,
             facts=_all_facts(network, batch, False, dtypes, backend), amp=amp, backend=backend)
    return pool


def _training_walk(network: Network, batch: int, precision: str, optimizer: str,
                   amp: str | None, backend: str,
                   log: list[tuple[Any, ...]] | None = None) -> _Pool:
    """One training step: forward with what autograd saves, backward, optimizer step."""
    master = "fp32" if amp else precision
    dtypes = _Dtypes(network, precision, amp)
    weights = nbytes(network.params, master)
    layers = _unique_param_layers(network)
    n_state, _ = OPTIMIZERS[optimizer]
    state = n_state * weights
    if optimizer in ("adam", "adamw"):  # a float32 step counter per parameter tensor
        state += 4 * sum(_param_tensors(layer) for layer in layers)
    requires = needs_input_grad(network)
    requires = {layer.name: requires[layer.name] or layer.cost.params > 0
                for layer in network.layers}
    requires.update({name: False for name in network.inputs})
    pool = _Pool({"weights": weights, "buffers": _buffer_bytes(network, master),
                  "optimizer_state": state,
                  "inputs": _input_bytes(network, batch, dtypes, with_target=True)})
    pool.log = log
    facts = _all_facts(network, batch, True, dtypes, backend)  # shared by both walks
    sid_of = _forward(network, pool, batch, dtypes, training=True, requires=requires, amp=amp,
                      backend=backend, facts=facts)
    _backward(network, pool, batch, dtypes, sid_of, requires, master, amp, backend, facts)
    pool.phase = "step"
    pool.mark("optimizer step", _step_transient(layers, optimizer, master))
    return pool


def allocation_log(network: Network, *, batch: int, training: bool, precision: str = "fp32",
                   optimizer: str = "momentum", amp: str | None = None,
                   backend: str = "cpu") -> list[tuple[Any, ...]]:
    """The allocations, frees and op temporaries of one inference forward (or one training
    step) in order, as `_Pool.log` records them, with two kinds for a loop of them:
    ("keep", sid, bytes) - the optimizer's state, allocated by the first step and kept -
    and ("carry", sid) - what is still alive at the end (the output, the parameters'
    gradients), freed early in the next iteration (by zero_grad, or as the caller's
    variable takes the next output)."""
    log: list[tuple[Any, ...]] = []
    if training:
        pool = _training_walk(network, batch, precision, optimizer, amp, backend, log)
        n_state, _ = OPTIMIZERS[optimizer]
        master = "fp32" if amp else precision
        state = [("keep", f"state{i}:{layer.name}", nbytes(layer.cost.params, master))
                 for layer in _unique_param_layers(network) for i in range(n_state)]
        at = log.index(("op", "optimizer step"))
        log[at:at] = state
    else:
        pool = _inference_walk(network, batch, precision, amp, backend, log)
    log.extend(("carry", sid) for sid in list(pool.size))
    return log


# --- what fits ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """The largest batch whose peak fits in `memory_bytes` (0: not even batch 1), with the
    estimate at that batch (at batch 1 when nothing fits)."""

    phase: str  # training | inference
    memory_bytes: int
    max_batch: int
    capped: bool  # the search stopped at its cap: larger batches may fit too
    peak: Peak

    @property
    def fixed(self) -> dict[str, int]:
        """What no batch size changes: weights and buffers, and for training all the weight
        gradients and the optimizer state."""
        t = self.peak.terms
        out = {"weights": t.get("weights", 0), "buffers": t.get("buffers", 0)}
        if self.phase == "training":
            out["gradients"] = t.get("weights", 0)
            out["optimizer_state"] = t.get("optimizer_state", 0)
        return out

    @property
    def fixed_bytes(self) -> int:
        return sum(self.fixed.values())

    def to_dict(self) -> dict[str, Any]:
        return {"max_batch": self.max_batch, "capped": self.capped,
                "peak_bytes": self.peak.peak_bytes, "terms": dict(self.peak.terms),
                "at": self.peak.at}


def largest_batch(network: Network, memory_bytes: int, *, phase: str = "training",
                  precision: str = "fp32", optimizer: str = "momentum",
                  amp: str | None = None, backend: str = "cpu", cap: int = 1 << 24) -> Fit:
    """Binary search over the analytic model: peaks grow with the batch, so find the last
    batch whose peak is at most `memory_bytes` (doubling first, then bisecting)."""
    if phase not in ("training", "inference"):
        raise InvalidArgument(f"phase must be training or inference, got {phase!r}")
    if not isinstance(memory_bytes, int) or memory_bytes <= 0:
        raise InvalidArgument(f"memory must be a positive number of bytes, got {memory_bytes!r}")

    def peak(batch: int) -> Peak:
        e = estimate(network, batch=batch, precision=precision, optimizer=optimizer, amp=amp,
                     backend=backend)
        return e.training if phase == "training" else e.inference

    first = peak(1)
    if first.peak_bytes > memory_bytes:
        return Fit(phase, memory_bytes, 0, False, first)
    lo, lo_peak, hi = 1, first, 2  # lo fits; find hi that does not
    while hi <= cap:
        p = peak(hi)
        if p.peak_bytes > memory_bytes:
            break
        lo, lo_peak, hi = hi, p, hi * 2
    else:
        return Fit(phase, memory_bytes, lo, True, lo_peak)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p = peak(mid)
        if p.peak_bytes <= memory_bytes:
            lo, lo_peak = mid, p
        else:
            hi = mid
    return Fit(phase, memory_bytes, lo, False, lo_peak)


__all__ = ["AMP", "BACKENDS", "OPTIMIZERS", "Fit", "MemoryEstimate", "Peak", "check_amp",
           "check_optimizer", "estimate", "largest_batch", "loss_kind"]

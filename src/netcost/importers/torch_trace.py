"""Trace one forward and one backward pass at the ATen level, on meta tensors.

A TorchDispatchMode sees every ATen op (functional code included). Tensors are identified
by their storage, so views (folded away) and in-place ops resolve to the op that last wrote
the storage: the producer of each input is known without a graph library. Global module
hooks give each forward op its module path. Right after an op has returned through
autograd, its grad_fn is read: the tensors it saved (its `_saved_*` attributes) and a
pre-hook on it that attributes the backward ops run by that node to the forward op.
Gradients reaching a parameter's hook mark the backward op that produced them as a weight
gradient; every other backward MAC is an input-gradient MAC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .torch_formulas import COST, FACTORY, SKIP, UNSUPPORTED, VIEW, OpCost, classify

# Source tags of a storage: a forward op, a network input, a parameter, a buffer, a constant.
LAYER, INPUT, PARAM, BUFFER, CONST = range(5)
_Tensor = torch.Tensor


def storage_key(t: torch.Tensor) -> int:
    return t.untyped_storage()._cdata


def per_sample(shape: Sequence[int], batch: int = 1) -> tuple[int, ...]:
    """A leading dim equal to the traced batch is the batch. At batch 1 other shapes
    (tokens flattened with the batch) are kept whole, so numel per sample is exact; at a
    traced batch B a leading multiple of B is divided by it (B·T tokens -> T)."""
    if not len(shape):
        return ()
    if shape[0] == batch:
        return tuple(shape[1:])
    if batch > 1 and shape[0] % batch == 0:
        return (shape[0] // batch, *shape[1:])
    return tuple(shape)


class OpRecord:
    """One counted forward op: becomes one Layer."""

    __slots__ = ("name", "op", "cost", "module", "parents", "input_shapes", "output_shape",
                 "itemsize", "inplace", "params", "uses", "buffers", "saved", "saved_extra",
                 "bwd_input_macs", "bwd_weight_macs", "bwd_elementwise", "unsupported")

    def __init__(self, name: str, op: str, cost: OpCost, module: str) -> None:
        self.name, self.op, self.cost, self.module = name, op, cost, module
        self.parents: list[str] = []
        self.input_shapes: list[tuple[int, ...]] = []
        self.output_shape: tuple[int, ...] = ()
        self.itemsize = 4
        self.inplace = False
        self.params: list[str] = []  # parameters first used here (own them)
        self.uses: list[str] = []  # every parameter read, tied ones included
        self.buffers: list[str] = []
        self.saved: list[str] = []
        self.saved_extra: list[list[int]] = []
        self.bwd_input_macs = self.bwd_weight_macs = self.bwd_elementwise = 0
        self.unsupported = False


class Const:
    """Values that depend on no activation (masks, parameter transforms, state updates):
    the parameters and buffers they read are charged to the first layer that reads them."""

    __slots__ = ("params", "buffers")

    def __init__(self) -> None:
        self.params: list[str] = []
        self.buffers: list[str] = []


class TraceFailure(Exception):
    """An op failed on the traced shapes; the message names the op, module and shapes."""


class _BackwardEntry:
    __slots__ = ("record", "macs", "weight")

    def __init__(self, record: OpRecord, macs: tuple[int, ...]) -> None:
        self.record, self.macs, self.weight = record, macs, [False] * len(macs)


# Output metadata of an op for given input metadata: meta kernels are mostly Python
# (torch._refs, decompositions) and a network repeats the same shapes, so an op is run once
# per distinct signature; later calls only allocate empty meta outputs.
_OUTPUTS: dict[tuple, Any] = {}
_UNCACHED = object()
_NO_CACHE = {"resize_", "resize_as_", "set_", "_resize_output_", "copy_", "_copy_from"}


def _key_part(a: Any) -> Any:
    if isinstance(a, _Tensor):
        return (a.shape, a.stride(), a.dtype)
    if isinstance(a, (list, tuple)):
        return tuple(_key_part(x) for x in a)
    return a


def _describe(out: Any, args: tuple) -> Any:
    if isinstance(out, (tuple, list)):
        parts = tuple(_describe(o, args) for o in out)
        return _UNCACHED if _UNCACHED in parts else parts
    if not isinstance(out, _Tensor):
        return ("value", out)
    for i, a in enumerate(args):
        if out is a:
            return ("arg", i)
    return ("new", tuple(out.shape), out.stride(), out.dtype, out.requires_grad)


def _make(desc: Any, args: tuple) -> Any:
    if isinstance(desc[0], tuple) or desc == ():
        return tuple(_make(d, args) for d in desc)
    tag = desc[0]
    if tag == "new":
        return torch.empty_strided(desc[1], desc[2], dtype=desc[3], device="meta")
    if tag == "arg":
        return args[desc[1]]
    return desc[1]


def _run(func: Any, args: tuple, kwargs: dict) -> Any:
    if "out" in kwargs:  # writes into a given tensor: always run
        return func(*args, **kwargs)
    try:
        key = (func, _key_part(args), _key_part(tuple(sorted(kwargs.items()))) if kwargs else None)
        desc = _OUTPUTS.get(key)
    except TypeError:  # an unhashable argument: no caching
        return func(*args, **kwargs)
    if desc is not None and desc is not _UNCACHED:
        return _make(desc, args)
    out = func(*args, **kwargs)
    if desc is None:
        if len(_OUTPUTS) > 200_000:
            _OUTPUTS.clear()
        _OUTPUTS[key] = (_UNCACHED if func._overloadpacket.__name__ in _NO_CACHE
                         else _describe(out, args))
    return out


def _tensors(args: tuple, kwargs: dict) -> list[torch.Tensor]:
    found = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, _Tensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(x for x in a if isinstance(x, _Tensor))
    return found


def _shapes(tensors: list[torch.Tensor]) -> str:
    return ", ".join("x".join(map(str, t.shape)) or "scalar" for t in tensors)


class Tracer(TorchDispatchMode):
    def __init__(self, *, params: dict[int, str], buffers: dict[int, str],
                 inputs: dict[int, str], module_names: dict[int, str], batch: int = 1) -> None:
        super().__init__()
        self.batch = batch  # the traced batch: counts are divided by it afterwards
        self.src: dict[int, tuple[int, Any, int]] = {}
        for key, name in buffers.items():
            self.src[key] = (BUFFER, name, 0)
        for key, name in params.items():
            self.src[key] = (PARAM, name, 0)
        for key, name in inputs.items():
            self.src[key] = (INPUT, name, 0)
        self.module_names = module_names
        self.module_types: dict[str, str] = {}
        self.stack: list[str] = [""]
        self.records: list[OpRecord] = []
        self.used: set[str] = set()  # parameters and buffers already charged to a layer
        self.names: dict[str, int] = {}
        self.rules: dict[Any, Any] = {}
        self.unsupported: dict[str, int] = {}
        self.keep: list[Any] = []  # outputs stay alive so storages are never reused
        self.pending: tuple[OpRecord, Any] | None = None
        self.saved_attrs: dict[type, list[str]] = {}
        self.backward = False
        self.bwd_current: OpRecord | None = None
        self.bwd_entries: list[_BackwardEntry] = []
        self.bwd_out: dict[int, tuple[_BackwardEntry, int]] = {}
        self.bwd_orphan = [0, 0]  # MACs, elementwise ops run before any layer's node

    # ------------------------------------------------------------------ module paths
    def push(self, module: torch.nn.Module, *_: Any) -> None:
        name = self.module_names.get(id(module))
        if name is None:  # a module created on the fly: name it under its caller
            top = self.stack[-1]
            name = f"{top}.{type(module).__name__}" if top else type(module).__name__
        self.module_types[name] = type(module).__name__
        self.stack.append(name)

    def pop(self, *_: Any) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    # ------------------------------------------------------------------ dispatch
    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        rule = self.rules.get(func)
        if rule is None:
            rule = self.rules[func] = classify(func)
        cls = rule.cls
        if cls is SKIP or cls is VIEW:
            return func(*args, **kwargs)
        if self.pending is not None:
            self._finalize()
        tensors = _tensors(args, kwargs)
        if not all(t.is_meta for t in tensors):  # a real tensor held by the model: shape only
            args, kwargs = torch.utils._pytree.tree_map_only(
                _Tensor, lambda t: t if t.is_meta else t.to("meta"), (args, kwargs))
            tensors = _tensors(args, kwargs)
        try:
            out = _run(func, args, kwargs)
        except ZeroDivisionError:
            # training batch norm over one value per channel (batch 1, 1x1 maps): its
            # statistics are undefined, its shapes are not: run it as in inference
            if not str(func).startswith("aten.native_batch_norm"):
                raise
            args = (*args[:5], False, *args[6:])
            out = func(*args, **kwargs)
        except Exception as exc:
            phase = "backward" if self.backward else "forward"
            where = f" in module '{self.stack[-1]}'" if self.stack[-1] else ""
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TraceFailure(f"the {phase} pass failed at {func._overloadpacket}{where} "
                               f"on shapes {_shapes(tensors)}: {msg}") from None
        if self.backward:
            self._backward_op(func, rule, args, kwargs, out)
        else:
            self._forward_op(func, rule, args, kwargs, out, tensors)
        return out

    def _forward_op(self, func: Any, rule: Any, args: tuple, kwargs: dict, out: Any,
                    tensors: list[torch.Tensor]) -> None:
        src = self.src
        acts: list[tuple[torch.Tensor, tuple[int, Any, int]]] = []
        params: list[str] = []
        buffers: list[str] = []
        for t in tensors:
            s = src.get(storage_key(t))
            if s is None:
                continue
            tag = s[0]
            if tag <= INPUT:
                acts.append((t, s))
            elif tag == PARAM:
                params.append(s[1])
            elif tag == BUFFER:
                buffers.append(s[1])
            else:
                params.extend(s[1].params)
                buffers.extend(s[1].buffers)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        self.keep.append(out)
        if rule.cls is FACTORY or not acts:
            const = Const()
            const.params, const.buffers = params, buffers
            for t in outs:
                if isinstance(t, _Tensor):
                    src[storage_key(t)] = (CONST, const, 0)
            return
        packet = func._overloadpacket
        op = packet.__name__
        if rule.cls is COST:
            cost = rule.formula(args, kwargs, out)
        else:
            cost = OpCost(op.rstrip("_"))
            self.unsupported[f"aten.{op}"] = self.unsupported.get(f"aten.{op}", 0) + 1
        module = self.stack[-1]
        if params and cost.kind == "matmul":
            cost = cost._replace(kind="linear")
        elif cost.kind == "mul" and self.module_types.get(module, "").startswith("Dropout"):
            cost = cost._replace(kind="dropout")  # training: input times a scaled mask
        base = f"{module}/{cost.kind}" if module else cost.kind
        n = self.names.get(base, 0)
        self.names[base] = n + 1
        rec = OpRecord(base if n == 0 else f"{base}#{n}", f"aten.{op}", cost, module)
        rec.unsupported = rule.cls is UNSUPPORTED
        rec.inplace = op.endswith("_") or "out" in kwargs
        for t, s in acts:
            rec.parents.append(s[1].name if s[0] == LAYER else s[1])
            rec.input_shapes.append(per_sample(t.shape, self.batch))
        used = self.used
        for name in params:
            if name not in used:
                used.add(name)
                rec.params.append(name)
        for name in buffers:
            if name not in used:
                used.add(name)
                rec.buffers.append(name)
        rec.uses = list(dict.fromkeys(params))
        first = outs[0]
        if isinstance(first, _Tensor):
            rec.output_shape = per_sample(first.shape, self.batch)
            rec.itemsize = first.element_size()
        for i, t in enumerate(outs):
            if isinstance(t, _Tensor):
                src[storage_key(t)] = (LAYER, rec, i)
        self.records.append(rec)
        if isinstance(first, _Tensor):  # autograd sets grad_fn only after we return
            self.pending = (rec, first)

    def _finalize(self) -> None:
        """The previous op has come back through autograd: read its grad_fn."""
        rec, t = self.pending  # type: ignore[misc]
        self.pending = None
        node = t.grad_fn
        if node is None:
            return
        node.register_prehook(self._enter(rec))
        attrs = self.saved_attrs.get(type(node))
        if attrs is None:
            attrs = [a for a in dir(node) if a.startswith("_saved_")
                     and isinstance(getattr(node, a), (_Tensor, list, tuple, type(None)))]
            self.saved_attrs[type(node)] = attrs
        for a in attrs:
            value = getattr(node, a)
            for v in (value if isinstance(value, (list, tuple)) else (value,)):
                if isinstance(v, _Tensor):
                    self._saved(rec, v)

    def _saved(self, rec: OpRecord, t: torch.Tensor) -> None:
        s = self.src.get(storage_key(t))
        if s is not None and s[0] in (PARAM, BUFFER):
            return
        if s is not None and s[0] == INPUT:
            rec.saved.append(s[1])
        elif s is not None and s[0] == LAYER and s[2] == 0:
            rec.saved.append(s[1].name)
        else:  # indices, statistics, masks: not any layer's output (per sample, except
            n = t.numel()  # normalisation statistics, which are per channel or row)
            if self.batch > 1 and n % self.batch == 0 and "norm" not in rec.op:
                n //= self.batch
            rec.saved_extra.append([n, t.element_size()])

    def finish_forward(self) -> None:
        if self.pending is not None:
            self._finalize()

    # ------------------------------------------------------------------ backward
    def _enter(self, rec: OpRecord) -> Callable[[Any], None]:
        def hook(grad_outputs: Any) -> None:
            self.bwd_current = rec

        return hook

    def _backward_op(self, func: Any, rule: Any, args: tuple, kwargs: dict, out: Any) -> None:
        rec = self.bwd_current
        if rule.cls is FACTORY:
            return
        if rule.cls is UNSUPPORTED:
            key = f"aten.{func._overloadpacket.__name__}"
            self.unsupported[key] = self.unsupported.get(key, 0) + 1
            return
        cost = rule.formula(args, kwargs, out)
        if rec is None:
            self.bwd_orphan[0] += cost.macs
            self.bwd_orphan[1] += cost.elementwise
            return
        rec.bwd_elementwise += cost.elementwise
        if cost.macs:
            macs = cost.output_macs or (cost.macs,)
            entry = _BackwardEntry(rec, macs)
            self.bwd_entries.append(entry)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            for i, t in enumerate(outs[:len(macs)]):
                if isinstance(t, _Tensor):
                    self.bwd_out[storage_key(t)] = (entry, i)
        self.keep.append(out)

    def param_hook(self, grad: torch.Tensor) -> None:
        found = self.bwd_out.get(storage_key(grad))
        if found is not None:
            found[0].weight[found[1]] = True

    def finish_backward(self) -> None:
        for entry in self.bwd_entries:
            for macs, weight in zip(entry.macs, entry.weight, strict=True):
                if weight:
                    entry.record.bwd_weight_macs += macs
                else:
                    entry.record.bwd_input_macs += macs

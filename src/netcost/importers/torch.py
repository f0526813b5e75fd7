"""A PyTorch nn.Module -> a netcost Network, on meta tensors: nothing is computed or stored.

Usage: `load(model, input_shape=..., args=..., example_inputs=...)` where `model` is an
nn.Module, or an import path 'torchvision:resnet50' / 'mypkg.models:build' (a class or a
factory, called with `args` on the meta device). Input:

- `input_shape` as a string ('3x224x224', from the CLI) is one sample; as a tuple or list
  ((1, 3, 224, 224), from Python) it includes the batch.
- `example_inputs`: a tensor, a tuple of positional inputs, or a dict of keyword inputs
  (integer token ids included); only shapes and dtypes are used.
- neither: a torchvision model gets its weights' crop size (3x224x224, 3x518x518 ...).

An input_shape is traced at batch 1 (its batch B is recorded in extra["batch"]). Example
inputs are traced as given (the model may not be batch-first): a leading size B shared by
all of them is the batch, and counts are divided by B (they are linear in it). The trace
runs in training mode (the mode whose backward is traced; `mode="eval"` traces inference
behaviour instead), forward then backward.

The contract with the cost models (memory and time helpers read it):

- One Layer per counted ATen op of the forward pass, in execution order. Views (view,
  permute, expand, detach ...) are folded: a consumer's parent is the op that produced the
  storage. Ops on constants only (dropout masks, parameter transforms, running-stat
  updates) are folded too; the parameters they read are charged to the first layer that
  reads their result.
- Layer.name = "<module path>/<kind or op>[#i]", unique. Layer.kind is a netcost kind
  (conv2d, linear, matmul, batch_norm2d, relu, max_pool2d, add, ...) or the aten op name.
- Shapes per sample (the traced batch-1 dim dropped). parents = producer layer or input
  names, one per activation tensor argument (aligned with input_shapes).
- LayerCost per sample: params = parameters first used by this op (tied weights once;
  weight_key = the first such parameter's name, or the reused one's); buffers likewise;
  MACs via torch.utils.flop_counter's formulas; elementwise_ops per cost/conventions.py;
  backward_input/weight_macs and backward_elementwise_ops from the traced backward ops run
  by this op's autograd node (plus view nodes and gradient sums run right after it);
  saved_numel = numbers autograd saved for this op's backward, parameters excluded.
- Layer.attrs: "op" (aten op), "module" (module path), "module_type" (its class name, as
  tools that hook modules see it), "dtype" (output itemsize in bytes),
  "saved" (names of layers/inputs whose output autograd saved for this op),
  "saved_extra" ([numel, itemsize] of saved tensors that are no layer's output: max-pool
  indices, batch-norm statistics, dropout masks), "inplace", "params" and "buffers" (the
  names this layer's cost counts), "params_read" (every parameter it reads, tied ones
  included); conv/linear/pool attributes where known; "unsupported": True for ops without
  a formula (zero cost, listed in extra["unsupported"]).
- Parameters and buffers no op reads sit in a last layer "unused_parameters" (kind
  "parameters", no parents, empty output) so Network.params == sum of unique p.numel().
- Network.extra: "batch", "unsupported" ({aten op: count}, forward and backward),
  "buffers" and "params_total" (numel), "outputs" (producer names of the outputs),
  "input_dtypes" (itemsize per input), "mode", "backward_unattributed" (MACs and
  elementwise ops run before any layer's node: the gradient seed).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any
from unittest import mock

from ..errors import MissingDependency, ModelImportError, NetcostError, ShapeError, UnknownModel
from ..ir import Layer, LayerCost, Network, numel, parse_shape
from ..units import nearest

INSTALL_HINT = "install the extra with: pip install 'netcost[torch]'"


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependency(f"analysing a PyTorch model needs PyTorch; {INSTALL_HINT}") from None
    return torch


# ---------------------------------------------------------------------- building the model
def _resolve_attr(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise UnknownModel(f"import path {path!r} must look like 'package.module:name'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UnknownModel(f"cannot import module {module_name!r} of {path!r}: {exc}") from None
    except Exception as exc:
        raise ModelImportError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        found = getattr(obj, part, None)
        if found is None and module_name == "torchvision" and obj is module:
            found = getattr(importlib.import_module("torchvision.models"), part, None)
        if found is None:
            names = [n for n in dir(obj) if not n.startswith("_")]
            if module_name == "torchvision":
                import torchvision.models as tvm

                names = tvm.list_models(module=tvm)
            hint = nearest(part, names)
            more = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise UnknownModel(f"{module_name!r} has no attribute {part!r}{more}")
        obj = found
    return obj


def _build(path: str, args: Mapping[str, Any]) -> Any:
    torch = _import_torch()
    factory = _resolve_attr(path)
    if isinstance(factory, torch.nn.Module):
        if args:
            raise ModelImportError(f"{path!r} is a module instance; --arg needs a class or factory")
        return factory
    if not callable(factory):
        raise ModelImportError(f"{path!r} is a {type(factory).__name__}, not a model class or factory")
    try:
        inspect.signature(factory).bind(**args)
    except TypeError as exc:
        raise ModelImportError(f"{path!r} does not take these arguments: {exc}") from None
    except ValueError:  # no signature to check (a builtin)
        pass
    # On the meta device nothing is allocated or initialised. A constructor that reads real
    # values (.tolist(), .item()) fails there: then only the parameters go to meta, and as
    # a last resort the model is built for real. Errors not about meta tensors are final.
    attempts = [lambda: _all_on_meta(torch), lambda: _parameters_on_meta(torch), nullcontext]
    for i, attempt in enumerate(attempts):
        try:
            with attempt():
                return factory(**args)
        except Exception as exc:
            about_meta = "meta" in str(exc).lower() or isinstance(exc, NotImplementedError)
            if not about_meta or i == len(attempts) - 1:
                raise ModelImportError(f"building {path!r} failed: {type(exc).__name__}: "
                                       f"{_first_line(exc)}") from None
    raise AssertionError("unreachable")


@contextmanager
def _all_on_meta(torch: Any) -> Iterator[None]:
    with torch.device("meta"), _skip_init_on_meta(torch):
        yield


_INIT_OPS = frozenset(("normal_ uniform_ fill_ zero_ bernoulli_ exponential_ random_ "
                       "erfinv_ mul_ add_ sub_ div_ clamp_ copy_ trunc_normal_").split())


@contextmanager
def _skip_init_on_meta(torch: Any) -> Iterator[None]:
    """Weight initialisation writes values a meta tensor does not have; PyTorch still runs
    its Python meta kernels for it (most of a large model's build time). Skip them."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class SkipInit(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (),
                               kwargs: dict | None = None) -> Any:
            if (func._overloadpacket.__name__ in _INIT_OPS and args
                    and isinstance(args[0], torch.Tensor) and args[0].is_meta):
                return args[0]
            return func(*args, **(kwargs or {}))

    with SkipInit():
        yield


@contextmanager
def _parameters_on_meta(torch: Any) -> Iterator[None]:
    """Move each parameter to meta as it is registered (before its initialisation runs),
    as accelerate's init_empty_weights does; other tensors stay real."""
    register = torch.nn.Module.register_parameter

    def on_meta(self: Any, name: str, param: Any) -> None:
        register(self, name, param)
        if param is not None and not param.is_meta:
            p = self._parameters[name]
            self._parameters[name] = type(p)(p.to("meta"), requires_grad=p.requires_grad)

    torch.nn.Module.register_parameter = on_meta
    try:
        with _skip_init_on_meta(torch):
            yield
    finally:
        torch.nn.Module.register_parameter = register


def _default_input(path: str | None) -> tuple[int, ...] | None:
    if not path or not path.startswith("torchvision:"):
        return None
    import torchvision.models as tvm

    try:
        weights = tvm.get_model_weights(path.split(":", 1)[1]).DEFAULT
        crop = weights.transforms().crop_size
    except Exception:
        return None
    size = crop[0] if isinstance(crop, (list, tuple)) else crop
    return (3, int(size), int(size))


# ---------------------------------------------------------------------- inputs
def _input_names(module: Any, n: int) -> list[str]:
    if n == 1:
        return ["input"]
    try:
        names = [p.name for p in inspect.signature(module.forward).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return names[:n] if len(names) >= n else [f"input{i}" for i in range(n)]


def _inputs(module: Any, name: str, input_shape: Any, example_inputs: Any,
            dtype: Any) -> tuple[tuple, dict, int, int]:
    """Meta tensors to trace, the batch the user asked for, and the batch traced."""
    torch = _import_torch()
    if example_inputs is not None:
        if isinstance(example_inputs, torch.Tensor):
            args, kwargs = (example_inputs,), {}
        elif isinstance(example_inputs, Mapping):
            args, kwargs = (), dict(example_inputs)
        elif isinstance(example_inputs, (tuple, list)):
            args, kwargs = tuple(example_inputs), {}
        else:
            raise ModelImportError(
                f"example inputs must be a tensor, a tuple or a dict, not {type(example_inputs).__name__}")
        tensors = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor)]
        batches = {t.shape[0] for t in tensors if t.dim()}
        # A leading size shared by every input is the batch B. The call is traced as given
        # (the model may not be batch-first) and its counts divided by B: they are linear.
        batch = batches.pop() if len(batches) == 1 and all(t.dim() for t in tensors) else 1

        def meta(t: Any) -> Any:
            if not isinstance(t, torch.Tensor):
                return t
            out = torch.empty(t.shape, dtype=t.dtype, device="meta")
            return out.requires_grad_(out.is_floating_point())

        return (tuple(meta(a) for a in args), {k: meta(v) for k, v in kwargs.items()},
                batch, batch)
    if input_shape is None:
        size = getattr(module, "image_size", None)  # a ViT is built for one size
        default = ((3, size, size) if isinstance(size, int)
                   else _default_input(name if ":" in name else None))
        if default is None:
            raise ShapeError(f"give the input shape of {name}, e.g. --input 3x224x224 "
                             f"(or input_shape=(1, 3, 224, 224) from Python)")
        sample, batch = default, 1
    elif isinstance(input_shape, str):
        sample, batch = parse_shape(input_shape), 1
    else:
        full = parse_shape(input_shape)
        if len(full) < 2:
            raise ShapeError(f"input_shape {tuple(full)} from Python includes the batch, "
                             f"e.g. (1, 3, 224, 224)")
        sample, batch = full[1:], full[0]
    # batch first by definition: one sample is traced
    x = torch.empty((1, *sample), dtype=dtype, device="meta", requires_grad=True)
    return (x,), {}, batch, 1


# ---------------------------------------------------------------------- tracing
def _leaves(value: Any) -> list[Any]:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _leaves(v)]
    return []


def _meta_state(module: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, int],
                                       dict[str, int], bool]:
    """Meta stand-ins for parameters and buffers (tied ones shared), by name."""
    import torch

    on_meta = all(t.is_meta for t in (*module.parameters(), *module.buffers()))
    twins: dict[int, Any] = {}
    params: dict[str, Any] = {}
    buffers: dict[str, Any] = {}
    pnum: dict[str, int] = {}
    bnum: dict[str, int] = {}
    for name, p in module.named_parameters(remove_duplicate=False):
        if id(p) not in twins:
            pnum[name] = p.numel()
            twins[id(p)] = p if on_meta else torch.empty_like(p, device="meta").requires_grad_(
                p.requires_grad)
        params[name] = twins[id(p)]
    for name, b in module.named_buffers(remove_duplicate=False):
        if id(b) not in twins:
            bnum[name] = b.numel()
            twins[id(b)] = b if on_meta else torch.empty_like(b, device="meta")
        buffers[name] = twins[id(b)]
    return params, buffers, pnum, bnum, on_meta


def _trace(module: Any, name: str, args: tuple, kwargs: dict, mode: str,
           batch: int) -> tuple[Any, Any, dict]:
    import torch
    from torch.nn.modules import module as nn_module

    from .torch_trace import TraceFailure, Tracer, storage_key

    params, buffers, pnum, bnum, on_meta = _meta_state(module)
    unique_params = {storage_key(t): n for n, t in params.items() if n in pnum}
    unique_buffers = {storage_key(t): n for n, t in buffers.items() if n in bnum}
    input_keys: dict[int, str] = {}
    names = _input_names(module, len(args))
    for n, t in (*zip(names, args, strict=True), *kwargs.items()):
        if isinstance(t, torch.Tensor):
            input_keys[storage_key(t)] = n
    module_names: dict[int, str] = {}
    for mname, m in module.named_modules(remove_duplicate=False):
        module_names.setdefault(id(m), mname)
    tracer = Tracer(params=unique_params, buffers=unique_buffers, inputs=input_keys,
                    module_names=module_names, batch=batch)

    def call() -> Any:
        if on_meta:
            return module(*args, **kwargs)
        return torch.func.functional_call(module, {**params, **buffers}, args, kwargs)

    modes = [(m, m.training) for m in module.modules()]
    module.train(mode == "train")
    hooks = [nn_module.register_module_forward_pre_hook(tracer.push),
             nn_module.register_module_forward_hook(tracer.pop)]
    try:
        # batch norm refuses one value per channel in training; shapes are all we need
        with mock.patch.object(torch.nn.functional, "_verify_batch_size", lambda size: None), \
                torch.device("meta"), torch.enable_grad():
            try:
                with tracer:
                    out = call()
                tracer.finish_forward()
            except TraceFailure as exc:
                raise ModelImportError(f"{name}: {exc}") from None
            except NetcostError:
                raise
            except Exception as exc:
                where = f" in module '{tracer.stack[-1]}'" if tracer.stack[-1] else ""
                raise ModelImportError(f"{name}: the forward pass failed{where}: "
                                       f"{type(exc).__name__}: {_first_line(exc)}") from None
            finally:
                for h in hooks:
                    h.remove()
                hooks = []
            _backward(tracer, out, params, name)
    finally:
        for h in hooks:
            h.remove()
        for m, training in modes:
            m.training = training
    return tracer, out, {"pnum": pnum, "bnum": bnum, "inputs": input_keys}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _backward(tracer: Any, out: Any, params: dict[str, Any], name: str) -> None:
    import torch

    from .torch_trace import TraceFailure

    leaves = [t for t in _leaves(out) if t.requires_grad and t.is_floating_point()]
    if not leaves:
        return
    seeds = [torch.ones_like(t) for t in leaves]
    handles = [p.register_hook(tracer.param_hook)
               for p in {id(p): p for p in params.values()}.values() if p.requires_grad]
    tracer.backward = True
    try:
        with tracer:
            torch.autograd.backward(leaves, seeds)
    except TraceFailure as exc:
        raise ModelImportError(f"{name}: {exc}") from None
    except Exception as exc:
        raise ModelImportError(f"{name}: the backward pass failed: {type(exc).__name__}: "
                               f"{_first_line(exc)}") from None
    finally:
        for h in handles:
            h.remove()
        tracer.backward = False
    tracer.finish_backward()


# ---------------------------------------------------------------------- the Network
def _network(name: str, tracer: Any, out: Any, info: dict, batch: int, mode: str,
             input_shapes: dict[str, tuple[int, ...]], input_dtypes: dict[str, int]) -> Network:
    from .torch_trace import LAYER, storage_key

    pnum, bnum = info["pnum"], info["bnum"]
    # State no op read (num_batches_tracked in training, a parameter the forward skips) is
    # charged to the first layer of the module that owns it; a module that never ran keeps
    # its state in a last "unused_parameters" layer.
    first_of: dict[str, Any] = {}
    for rec in tracer.records:
        first_of.setdefault(rec.module, rec)
    unused_p: list[str] = []
    unused_b: list[str] = []
    for names, unused, field in ((pnum, unused_p, "params"), (bnum, unused_b, "buffers")):
        for n in names:
            if n not in tracer.used:
                owner = first_of.get(n.rpartition(".")[0])
                if owner is None:
                    unused.append(n)
                else:
                    getattr(owner, field).append(n)
    sizes: dict[str, int] = {n: numel(s) for n, s in input_shapes.items()}
    traced = tracer.batch

    def per(count: int) -> int:  # counts of a batch-B trace, per sample (exact when linear)
        return count if traced == 1 else (count + traced // 2) // traced

    layers = []
    for rec in tracer.records:
        c = rec.cost
        sizes[rec.name] = numel(rec.output_shape)
        saved_numel = sum(sizes.get(s, 0) for s in rec.saved) + sum(n for n, _ in rec.saved_extra)
        cost = LayerCost(
            params=sum(pnum[p] for p in rec.params), macs=per(c.macs),
            dot_outputs=per(c.dot_outputs), bias_ops=per(c.bias_ops),
            elementwise_ops=per(c.elementwise), backward_input_macs=per(rec.bwd_input_macs),
            backward_weight_macs=per(rec.bwd_weight_macs),
            backward_elementwise_ops=per(rec.bwd_elementwise), saved_numel=saved_numel,
            buffers=sum(bnum[b] for b in rec.buffers))
        attrs: dict[str, Any] = dict(c.attrs or {})
        attrs.update(op=rec.op, module=rec.module, module_type=tracer.module_types.get(rec.module, ""),
                     dtype=rec.itemsize, saved=rec.saved,
                     saved_extra=rec.saved_extra, inplace=rec.inplace, params=rec.params,
                     params_read=list(dict.fromkeys(rec.uses + rec.params)), buffers=rec.buffers)
        if rec.unsupported:
            attrs["unsupported"] = True
        weight_key = rec.params[0] if rec.params else (rec.uses[0] if rec.uses else None)
        layers.append(Layer(rec.name, c.kind, attrs, tuple(rec.input_shapes), rec.output_shape,
                            tuple(rec.parents), cost, weight_key))
    if unused_p or unused_b:
        layers.append(Layer(
            "unused_parameters", "parameters",
            {"op": None, "module": "", "dtype": 0, "saved": [], "saved_extra": [],
             "inplace": False, "params": unused_p, "buffers": unused_b},
            (), (0,), (), LayerCost(params=sum(pnum[p] for p in unused_p),
                                    buffers=sum(bnum[b] for b in unused_b))))
    outputs = []
    for t in _leaves(out):
        s = tracer.src.get(storage_key(t))
        if s is not None:
            outputs.append(s[1].name if s[0] == LAYER else s[1] if isinstance(s[1], str) else None)
    extra = {
        "batch": batch,
        "unsupported": dict(tracer.unsupported),
        "buffers": sum(bnum.values()),
        "params_total": sum(pnum.values()),
        "outputs": [o for o in outputs if o is not None],
        "input_dtypes": input_dtypes,
        "mode": mode,
        "backward_unattributed": {"macs": tracer.bwd_orphan[0],
                                  "elementwise_ops": tracer.bwd_orphan[1]},
    }
    return Network(name, input_shapes, tuple(layers), source="torch", extra=extra)


def load(model: Any, *, input_shape: Sequence[int] | str | None = None,
         args: Mapping[str, Any] | None = None, example_inputs: Any = None,
         mode: str = "train") -> Network:
    """Trace `model` (an nn.Module or an import path) into a Network; see the module doc."""
    torch = _import_torch()
    from .torch_trace import per_sample

    if mode not in ("train", "eval"):
        raise ModelImportError(f"mode must be 'train' or 'eval', not {mode!r}")
    if isinstance(model, str):
        name, module = model, _build(model, dict(args or {}))
    elif isinstance(model, torch.nn.Module):
        if args:
            raise ModelImportError("--arg applies to import paths, not to a model instance")
        name, module = type(model).__name__, model
    else:
        raise ModelImportError(f"cannot analyse a {type(model).__name__}: pass a torch.nn.Module, "
                               f"an import path 'package.module:name' or a zoo name")
    if not isinstance(module, torch.nn.Module):
        raise ModelImportError(f"{name!r} built a {type(module).__name__}, not a torch.nn.Module")
    floating = [p.dtype for p in module.parameters() if p.is_floating_point()]
    dtype = floating[0] if floating else torch.float32
    args_, kwargs, batch, traced = _inputs(module, name, input_shape, example_inputs, dtype)
    tracer, out, info = _trace(module, name, args_, kwargs, mode, traced)
    names = _input_names(module, len(args_))
    shapes: dict[str, tuple[int, ...]] = {}
    dtypes: dict[str, int] = {}
    for n, t in (*zip(names, args_, strict=True), *kwargs.items()):
        if isinstance(t, torch.Tensor):
            shapes[n] = per_sample(t.shape, traced)
            dtypes[n] = t.element_size()
    return _network(name, tracer, out, info, batch, mode, shapes, dtypes)

"""The full derivation of one layer, as the lecture writes it: the op's own formulas, then
storage, ops under a convention, backward work and the lecture's operational space, each
with its numbers substituted."""

from __future__ import annotations

from ..cost.conventions import TOOLS, backward_macs, backward_ops, forward_ops, tool_terms
from ..cost.counts import lecture_batch_space, lecture_space
from ..ir import Layer, numel
from ..units import PRECISION_BITS, check_precision
from .registry import Derivation, get_op


def convention_ops(layer: Layer, convention: str) -> Derivation:
    """How the stored terms become the ops of `convention` (cost/conventions.py)."""
    c = layer.cost
    value = forward_ops(c, convention, layer)
    name = f"ops ({convention})"
    if convention in TOOLS:  # the tool's own parts, labelled (cost/conventions.py)
        parts = tool_terms(layer, convention)
        return Derivation(name, " + ".join(parts) or "0",
                          " + ".join(f"{v:,}" for v in parts.values()) or "0", value)
    if convention == "macs":
        return Derivation(name, "MACs", f"{c.macs:,}", value)
    if not c.macs and not c.bias_ops:  # no dot products: every convention but macs agrees
        return Derivation(name, "elementwise ops", f"{c.elementwise_ops:,}", value)
    if convention == "flops":
        return Derivation(name, "2·MACs + bias adds + elementwise",
                          f"2·{c.macs:,} + {c.bias_ops:,} + {c.elementwise_ops:,}", value)
    return Derivation(name, "2·MACs − dot products + bias adds + elementwise",
                      f"2·{c.macs:,} − {c.dot_outputs:,} + {c.bias_ops:,} + {c.elementwise_ops:,}",
                      value)


def _backward(layer: Layer, convention: str, input_grad: bool) -> list[Derivation]:
    c = layer.cost
    macs = backward_macs(c, input_grad)
    if input_grad:
        mac_line = Derivation("backward MACs", "input-gradient MACs + weight-gradient MACs",
                              f"{c.backward_input_macs:,} + {c.backward_weight_macs:,}", macs)
    else:
        mac_line = Derivation("backward MACs", "weight-gradient MACs (the input needs no gradient)",
                              f"{c.backward_weight_macs:,}", macs)
    ops = backward_ops(c, convention, input_grad)
    if convention == "macs" or (convention in TOOLS and convention != "flopcounter"):
        ops_line = Derivation(f"backward ops ({convention})", "backward MACs", f"{macs:,}", ops)
    elif convention == "flopcounter":
        ops_line = Derivation(f"backward ops ({convention})", "2·backward MACs", f"2·{macs:,}",
                              ops)
    elif not macs:
        ops_line = Derivation(f"backward ops ({convention})", "backward elementwise",
                              f"{ops:,}", ops)
    else:
        elementwise = ops - 2 * macs
        ops_line = Derivation(f"backward ops ({convention})",
                              "2·backward MACs + backward elementwise",
                              f"2·{macs:,} + {elementwise:,}", ops)
    return [mac_line, ops_line] if macs else [ops_line]


def saved_line(layer: Layer) -> Derivation:
    """What autograd keeps for this layer's backward (OpSpec.saves), term by term."""
    saved = get_op(layer.kind).saves(layer.attrs, layer.input_shapes, layer.output_shape)
    many = len(layer.input_shapes) > 1
    terms = [(f"input{i}" if many else "input", layer.input_shapes[i]) for i in saved.inputs]
    terms += [("output", layer.output_shape)] if saved.output else []
    names = ([t for t, _ in terms] + [f"{dtype} tensor" for dtype, _ in saved.new]
             + [f"{dtype} per batch" for dtype, _ in saved.per_batch])
    values = ([numel(shape) for _, shape in terms] + [n for _, n in saved.new]
              + [n for _, n in saved.per_batch])
    return Derivation("saved for backward", " + ".join(names) or "nothing",
                      " + ".join(f"{v:,}" for v in values) or "0",
                      saved.numel(layer.input_shapes, layer.output_shape))


def layer_derivations(layer: Layer, *, batch: int = 1, precision: str = "fp32",
                      convention: str = "lecture", input_grad: bool = True) -> list[Derivation]:
    """Every line of `netcost layer --explain`, for one sample unless the line says batch."""
    precision = check_precision(precision)
    op = get_op(layer.kind)
    own = [d for d in op.explain(layer.attrs, layer.input_shapes, layer.output_shape)
           if not d.quantity.startswith("backward MACs")]  # restated below with the input rule
    names = {d.quantity for d in own}
    space = [d for d in own if d.quantity.startswith("lecture space")]  # goes last
    own = [d for d in own if d not in space]
    p, bits = layer.cost.params, PRECISION_BITS[precision]
    storage = Derivation(f"storage ({precision}, bytes)", "params·bits/8", f"{p:,}·{bits}/8",
                         -(-p * bits // 8))
    at = next((i + 1 for i, d in enumerate(own) if d.quantity == "params"), 0)
    lines = [*own[:at], storage, *own[at:]] if p else list(own)
    if f"ops ({convention})" not in names:
        lines.append(convention_ops(layer, convention))
    lines += _backward(layer, convention, input_grad)
    i, o = layer.input_numel, layer.output_numel
    if "saved for backward" not in names:
        lines.append(saved_line(layer))
    lines += space or [Derivation("lecture space (1 sample)", "2·params + 2·inputs + 2·outputs",
                                  f"2·{p:,} + 2·{i:,} + 2·{o:,}", lecture_space(layer))]
    if batch > 1:
        ops = forward_ops(layer.cost, convention, layer)
        lines += [
            Derivation(f"ops ({convention}, batch {batch})", "B·ops", f"{batch}·{ops:,}",
                       batch * ops),
            Derivation(f"lecture space (batch {batch})",
                       "params + B·(params + 2·inputs + 2·outputs)",
                       f"{p:,} + {batch}·({p:,} + 2·{i:,} + 2·{o:,})",
                       lecture_batch_space(layer, batch)),
        ]
    return lines

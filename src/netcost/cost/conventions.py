"""How a layer's stored terms become one "ops" number. Tools disagree only here.

Terms stored per layer (ir.LayerCost): MACs of conv/matmul, the outputs of dot-product
layers, the bias additions, and the other (elementwise) arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidArgument
from ..ir import LayerCost


@dataclass(frozen=True)
class Convention:
    name: str
    description: str


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "lecture",
            "the lecture's count: every multiply and every add is one op; a dot product of "
            "length n with its bias is n multiplies + (n−1) adds + 1 bias add = 2·n "
            "(2·n−1 without bias); activations, norms, pools and residual adds count their "
            "arithmetic as in 'flops'",
        ),
        Convention(
            "macs",
            "multiply-accumulates of convolutions and matrix products only, bias and all "
            "elementwise work excluded: what the ResNet and GoogLeNet papers and torchvision's "
            "_ops call FLOPs",
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
        ),
    )
}


def check_convention(name: str) -> str:
    key = name.lower()
    if key not in CONVENTIONS:
        raise InvalidArgument(
            f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}"
        )
    return key


def forward_ops(cost: LayerCost, convention: str) -> int:
    if convention == "macs":
        return cost.macs
    if convention == "flops":
        return 2 * cost.macs + cost.bias_ops + cost.elementwise_ops
    # lecture: a dot product of length n has n−1 adds, and its bias completes the n-th.
    return 2 * cost.macs - cost.dot_outputs + cost.bias_ops + cost.elementwise_ops


def backward_macs(cost: LayerCost, needs_input_grad: bool) -> int:
    return cost.backward_weight_macs + (cost.backward_input_macs if needs_input_grad else 0)


def backward_ops(cost: LayerCost, convention: str, needs_input_grad: bool) -> int:
    macs = backward_macs(cost, needs_input_grad)
    if convention == "macs":
        return macs
    elementwise = cost.backward_elementwise_ops if (needs_input_grad or cost.params) else 0
    return 2 * macs + elementwise

"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-Based Learning Applied to
Document Recognition"), Section II-B and Table I.

As the paper defines it, on a 32×32 grey image:
- C1: 6 maps of 5×5 convolutions (156 params); S2: each unit adds a 2×2 window, multiplies
  it by one trainable coefficient and adds one trainable bias per map (12 params) — here an
  average pool followed by a per-map 1×1 convolution, the same function and parameters;
- C3: 16 maps, each connected to a subset of S2's maps (Table I), 1,516 params. The IR has
  no channel slicing, so C1 and S2 are built one map at a time and each C3 map is a
  convolution over the concatenation of its S2 inputs (`c3.in{j}`);
- S4 like S2 (32 params); C5: 120 maps of 5×5 over all of S4 (48,120); F6: 84 units (10,164);
- the squashing function (a scaled tanh) after every layer up to F6;
- the output layer's 10 Euclidean RBF units, y_i = Σ_j (x_j − w_ij)², have 84·10 weights and
  no bias; counted as a bias-free 84 → 10 linear layer (one subtract-square-add per weight,
  like one multiply-add).
Total 60,840 parameters (the paper: "about 60,000") and the paper's 340,908 connections
(a C/F unit's connections are its inputs plus its bias, an S unit's its 4 inputs plus bias).
"""

from __future__ import annotations

from ..ir import Network, NetworkBuilder, Shape
from .registry import model

# Table I: the S2 maps each C3 map reads
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def _subsample(b: NetworkBuilder, x: str, suffix: str = "") -> str:
    """S2/S4: sum of a 2×2 window times a trainable coefficient plus a trainable bias, per map."""
    x = b.add("avg_pool2d", x, f"pool{suffix}", kernel=2)
    channels = b.shape(x)[0]
    x = b.add("conv2d", x, f"scale{suffix}", out_channels=channels, kernel=1, groups=channels)
    return b.add("tanh", x, f"tanh{suffix}")


def lenet5(name: str, input_shape: Shape, *, classes: int = 10, description: str = "") -> Network:
    b = NetworkBuilder(name, input_shape, description=description)
    with b.scope("c1"):
        c1 = [b.add("tanh", b.add("conv2d", b.input, f"conv{i}", out_channels=1, kernel=5),
                    f"tanh{i}") for i in range(6)]
    with b.scope("s2"):
        s2 = [_subsample(b, c1[i], str(i)) for i in range(6)]
    with b.scope("c3"):
        maps = [b.add("conv2d", b.add("concat", [s2[i] for i in inputs], f"in{j}"), f"conv{j}",
                      out_channels=1, kernel=5)
                for j, inputs in enumerate(C3_TABLE[:-1])]
        # the last map reads all six S2 maps
        maps.append(b.add("conv2d", b.add("concat", s2, "in15"), "conv15", out_channels=1,
                          kernel=5))
        x = b.add("tanh", b.add("concat", maps, "cat"), "tanh")
    with b.scope("s4"):
        x = _subsample(b, x)
    with b.scope("c5"):
        x = b.add("tanh", b.add("conv2d", x, "conv", out_channels=120, kernel=5), "tanh")
    x = b.add("flatten", x, "flatten")
    with b.scope("f6"):
        x = b.add("tanh", b.add("linear", x, "linear", out_features=84), "tanh")
    b.add("linear", x, "output", out_features=classes, bias=False)
    return b.build()


SUMMARY = ("LeNet-5 (LeCun et al. 1998): 32×32 grey input, C3's partial connection table, "
           "RBF output; 60,840 params")


@model("lenet5", summary=SUMMARY, family="lenet", input_shape=(1, 32, 32))
def build(input_shape: Shape) -> Network:
    return lenet5("lenet5", input_shape, description=SUMMARY)

"""GoogLeNet (Szegedy et al. 2014, "Going Deeper with Convolutions"), Table 1, without the
auxiliary classifiers (they are dropped at inference).

The paper's network (`googlenet`): convolutions with bias and ReLU, no batch norm; local
response norm after the first max pool and after the 3×3 convolution; every max pool
between stages is 3×3/2 with Caffe's ceil rounding (112 → 56 → 28 → 14 → 7); the "5×5"
branch is a 5×5 convolution; 7×7/1 average pool, dropout 40%, FC-1000.

torchvision's googlenet differs (`googlenet-torchvision`): batch norm after every conv
(convs without bias), no LRN, a 3×3 convolution in the "5×5" branch (a known slip kept
for its weights), a 2×2/2 last stage pool, an adaptive average pool and dropout 20%.
Layer names are torchvision's module paths (inception4a.branch2.1.conv ...).
"""

from __future__ import annotations

from ..ir import Network, NetworkBuilder, Shape
from .registry import model

# Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj
INCEPTIONS: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
POOL_AFTER = {"3b": "maxpool3", "4e": "maxpool4"}  # the stage pools inside the inceptions


class _Style:
    def __init__(self, torchvision: bool):
        self.tv = torchvision

    def conv(self, b: NetworkBuilder, x: str, name: str, out: int, kernel: int,
             stride: int = 1) -> str:
        """A conv + ReLU (paper) or torchvision's BasicConv2d (conv, BN, ReLU)."""
        with b.scope(name):
            x = b.add("conv2d", x, "conv", out_channels=out, kernel=kernel, stride=stride,
                      padding=kernel // 2, bias=not self.tv)
            if self.tv:
                x = b.add("batch_norm2d", x, "bn", eps=1e-3)
            return b.add("relu", x, "relu")

    def inception(self, b: NetworkBuilder, x: str, widths: tuple[int, ...]) -> str:
        n1, r3, n3, r5, n5, proj = widths
        one = self.conv(b, x, "branch1", n1, 1)
        with b.scope("branch2"):
            three = self.conv(b, self.conv(b, x, "0", r3, 1), "1", n3, 3)
        with b.scope("branch3"):
            five = self.conv(b, self.conv(b, x, "0", r5, 1), "1", n5, 3 if self.tv else 5)
        with b.scope("branch4"):
            pooled = b.add("max_pool2d", x, "0", kernel=3, stride=1, padding=1,
                           ceil_mode=True)
            pool = self.conv(b, pooled, "1", proj, 1)
        return b.add("concat", [one, three, five, pool], "cat")


def googlenet(name: str, input_shape: Shape, *, torchvision: bool = False,
              classes: int = 1000, description: str = "") -> Network:
    s = _Style(torchvision)
    b = NetworkBuilder(name, input_shape, description=description)

    def pool(x: str, name: str, kernel: int = 3) -> str:
        return b.add("max_pool2d", x, name, kernel=kernel, stride=2, ceil_mode=True)

    def lrn(x: str, name: str) -> str:
        return x if s.tv else b.add("lrn", x, name, size=5, alpha=1e-4, beta=0.75)

    x = s.conv(b, b.input, "conv1", 64, 7, 2)
    x = lrn(pool(x, "maxpool1"), "lrn1")
    x = s.conv(b, x, "conv2", 64, 1)
    x = s.conv(b, x, "conv3", 192, 3)
    x = pool(lrn(x, "lrn2"), "maxpool2")
    for key, widths in INCEPTIONS.items():
        with b.scope(f"inception{key}"):
            x = s.inception(b, x, widths)
        if key in POOL_AFTER:  # torchvision's last stage pool is 2×2/2; same 14 → 7
            last = key == "4e" and s.tv
            x = pool(x, POOL_AFTER[key], 2 if last else 3)
    if s.tv:
        x = b.add("adaptive_avg_pool2d", x, "avgpool", output_size=1)
    else:
        x = b.add("avg_pool2d", x, "avgpool", kernel=7, stride=1)
    x = b.add("flatten", x, "flatten")
    x = b.add("dropout", x, "dropout", p=0.2 if s.tv else 0.4)
    b.add("linear", x, "fc", out_features=classes)
    return b.build()


PAPER = ("GoogLeNet (Szegedy et al. 2014, Table 1): 5×5 branches, LRN, conv bias, no BN, "
         "no auxiliary heads")
TORCHVISION = ("GoogLeNet as torchvision builds it: BN, no LRN, 3×3 in the '5×5' branch, "
               "no auxiliary heads")


@model("googlenet", summary=PAPER, family="googlenet")
def build_paper(input_shape: Shape) -> Network:
    return googlenet("googlenet", input_shape, description=PAPER)


@model("googlenet-torchvision", summary=TORCHVISION, family="googlenet", torchvision="googlenet")
def build_torchvision(input_shape: Shape) -> Network:
    return googlenet("googlenet-torchvision", input_shape, torchvision=True,
                     description=TORCHVISION)

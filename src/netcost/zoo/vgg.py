"""VGG (Simonyan & Zisserman 2014, "Very Deep Convolutional Networks"), Table 1 configs
A, B, D, E = VGG-11, -13, -16, -19. 3×3 convolutions with padding 1 and bias, ReLU, 2×2
max pools, then FC-4096, FC-4096, FC-1000 with dropout 0.5 after the first two.

This is torchvision's architecture exactly (its `avgpool`, an adaptive 7×7 average pool, is
the identity at the paper's 224×224 and keeps the classifier's 25,088 inputs at other
sizes), so the names are torchvision's module paths (features.0, classifier.6). The
soft-max is left out, as in every zoo model: it belongs to the loss. The `-bn` variants
are torchvision's batch-normalised versions (not in the paper).
"""

from __future__ import annotations

from ..ir import Network, NetworkBuilder, Shape
from .registry import model

M = "M"  # a 2×2/2 max pool
CONFIGS: dict[int, list[int | str]] = {
    11: [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    13: [64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    16: [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M],
    19: [64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M,
         512, 512, 512, 512, M],
}


def vgg(name: str, depth: int, input_shape: Shape, *, bn: bool = False, classes: int = 1000,
        description: str = "") -> Network:
    b = NetworkBuilder(name, input_shape, description=description)
    x, i = b.input, 0  # i: index in torchvision's `features` Sequential
    with b.scope("features"):
        for v in CONFIGS[depth]:
            if v == M:
                x = b.add("max_pool2d", x, str(i), kernel=2, stride=2)
                i += 1
                continue
            x = b.add("conv2d", x, str(i), out_channels=v, kernel=3, padding=1)
            if bn:
                x = b.add("batch_norm2d", x, str(i + 1))
            x = b.add("relu", x, str(i + 1 + bn))
            i += 2 + bn
    x = b.add("adaptive_avg_pool2d", x, "avgpool", output_size=7)
    x = b.add("flatten", x, "flatten")
    with b.scope("classifier"):
        for j, width in enumerate((4096, 4096)):
            x = b.add("linear", x, str(3 * j), out_features=width)
            x = b.add("relu", x, str(3 * j + 1))
            x = b.add("dropout", x, str(3 * j + 2), p=0.5)
        b.add("linear", x, "6", out_features=classes)
    return b.build()


def _register(depth: int) -> None:
    config = "ABDE"[list(CONFIGS).index(depth)]
    paper = f"VGG-{depth} (Simonyan & Zisserman 2014, config {config}); same as torchvision"

    @model(f"vgg{depth}", summary=paper, family="vgg", torchvision=f"vgg{depth}")
    def build(input_shape: Shape) -> Network:
        return vgg(f"vgg{depth}", depth, input_shape, description=paper)

    with_bn = f"VGG-{depth} with batch norm after each conv (torchvision vgg{depth}_bn)"

    @model(f"vgg{depth}-bn", summary=with_bn, family="vgg", torchvision=f"vgg{depth}_bn")
    def build_bn(input_shape: Shape) -> Network:
        return vgg(f"vgg{depth}-bn", depth, input_shape, bn=True, description=with_bn)


for _depth in CONFIGS:
    _register(_depth)

"""ResNet (He et al. 2015, "Deep Residual Learning for Image Recognition"), Table 1.

Plain names are the paper's v1: the bottleneck block puts the stride on its first 1×1
convolution. torchvision (and most later code) moved the stride to the 3×3 ("v1.5"), which
keeps the parameters and costs more MACs at the first block of each stage; those are the
`-v1.5` variants. Shortcuts that change shape are 1×1 projections + BN (the paper's
option B, as torchvision). Every convolution is followed by BN and has no bias. Layer names
are torchvision's module paths; a module applied twice (a block's `relu`) gets `_1`, `_2`.
"""

from __future__ import annotations

from ..ir import Network, NetworkBuilder, Shape
from .registry import model

# blocks per stage (conv2_x .. conv5_x), Table 1
DEPTHS: dict[int, tuple[int, int, int, int]] = {
    18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3),
}
EXPANSION = 4  # a bottleneck's output is 4× its width


def _conv_bn(b: NetworkBuilder, x: str, conv: str, bn: str, out: int, kernel: int,
             stride: int = 1) -> str:
    x = b.add("conv2d", x, conv, out_channels=out, kernel=kernel, stride=stride,
              padding=kernel // 2, bias=False)
    return b.add("batch_norm2d", x, bn)


def _shortcut(b: NetworkBuilder, x: str, out: int, stride: int) -> str:
    if stride == 1 and b.shape(x)[0] == out:
        return x
    with b.scope("downsample"):
        return _conv_bn(b, x, "0", "1", out, 1, stride)


def _basic(b: NetworkBuilder, x: str, width: int, stride: int) -> str:
    y = _conv_bn(b, x, "conv1", "bn1", width, 3, stride)
    y = b.add("relu", y, "relu")
    y = _conv_bn(b, y, "conv2", "bn2", width, 3)
    y = b.add("add", [y, _shortcut(b, x, width, stride)], "add")
    return b.add("relu", y, "relu_1")


def _bottleneck(b: NetworkBuilder, x: str, width: int, stride: int, *, v15: bool) -> str:
    s1, s3 = (1, stride) if v15 else (stride, 1)
    y = _conv_bn(b, x, "conv1", "bn1", width, 1, s1)
    y = b.add("relu", y, "relu")
    y = _conv_bn(b, y, "conv2", "bn2", width, 3, s3)
    y = b.add("relu", y, "relu_1")
    y = _conv_bn(b, y, "conv3", "bn3", width * EXPANSION, 1)
    y = b.add("add", [y, _shortcut(b, x, width * EXPANSION, stride)], "add")
    return b.add("relu", y, "relu_2")


def resnet(name: str, depth: int, input_shape: Shape, *, v15: bool = False,
           classes: int = 1000, description: str = "") -> Network:
    b = NetworkBuilder(name, input_shape, description=description)
    x = _conv_bn(b, b.input, "conv1", "bn1", 64, 7, 2)
    x = b.add("relu", x, "relu")
    x = b.add("max_pool2d", x, "maxpool", kernel=3, stride=2, padding=1)
    for stage, blocks in enumerate(DEPTHS[depth]):
        width = 64 * 2**stage
        with b.scope(f"layer{stage + 1}"):
            for i in range(blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                with b.scope(str(i)):
                    if depth < 50:
                        x = _basic(b, x, width, stride)
                    else:
                        x = _bottleneck(b, x, width, stride, v15=v15)
    x = b.add("adaptive_avg_pool2d", x, "avgpool", output_size=1)
    x = b.add("flatten", x, "flatten")
    b.add("linear", x, "fc", out_features=classes)
    return b.build()


def _register(depth: int) -> None:
    basic = depth < 50
    paper = (f"ResNet-{depth} (He et al. 2015, Table 1): "
             + ("basic blocks, projection shortcuts (option B); same as torchvision"
                if basic else "bottlenecks with the stride on the first 1×1 (v1)"))

    @model(f"resnet{depth}", summary=paper, family="resnet",
           torchvision=f"resnet{depth}" if basic else None)
    def build(input_shape: Shape) -> Network:
        return resnet(f"resnet{depth}", depth, input_shape, description=paper)

    if basic:
        return
    v15 = (f"ResNet-{depth} v1.5 (torchvision): stride on the bottleneck's 3×3, "
           "more MACs than the paper's v1, same parameters")

    @model(f"resnet{depth}-v1.5", summary=v15, family="resnet", torchvision=f"resnet{depth}")
    def build_v15(input_shape: Shape) -> Network:
        return resnet(f"resnet{depth}-v1.5", depth, input_shape, v15=True, description=v15)


for _depth in DEPTHS:
    _register(_depth)

"""DenseNet (Huang et al. 2017, "Densely Connected Convolutional Networks"), Table 1:
DenseNet-BC with growth rate k = 32 (48 for DenseNet-161), 1×1 bottlenecks of 4k channels
and transitions that halve the channels (compression 0.5).

torchvision's densenet121/161/169/201 are this architecture exactly, so layer names are its
module paths. Each dense layer concatenates every earlier feature map of its block first
(`denselayerN.cat`, as torchvision's forward does), and each block ends with the
concatenation of all of them (`denseblockN.cat`); the first layer of a block reads the
block input directly. DenseNet-264 is in the paper but not in torchvision.
"""

from __future__ import annotations

from ..ir import Network, NetworkBuilder, Shape
from .registry import model

# name -> (growth rate, layers per dense block, stem channels)
CONFIGS: dict[int, tuple[int, tuple[int, ...], int]] = {
    121: (32, (6, 12, 24, 16), 64),
    161: (48, (6, 12, 36, 24), 96),
    169: (32, (6, 12, 32, 32), 64),
    201: (32, (6, 12, 48, 32), 64),
    264: (32, (6, 12, 64, 48), 64),
}
BN_SIZE = 4  # bottleneck width = 4·k


def _norm_relu_conv(b: NetworkBuilder, x: str, idx: str, out: int, kernel: int) -> str:
    x = b.add("batch_norm2d", x, f"norm{idx}")
    x = b.add("relu", x, f"relu{idx}")
    return b.add("conv2d", x, f"conv{idx}", out_channels=out, kernel=kernel,
                 padding=kernel // 2, bias=False)


def _dense_block(b: NetworkBuilder, x: str, layers: int, growth: int) -> str:
    features = [x]
    for i in range(layers):
        with b.scope(f"denselayer{i + 1}"):
            y = b.add("concat", features, "cat") if len(features) > 1 else x
            y = _norm_relu_conv(b, y, "1", BN_SIZE * growth, 1)
            features.append(_norm_relu_conv(b, y, "2", growth, 3))
    return b.add("concat", features, "cat")


def densenet(name: str, depth: int, input_shape: Shape, *, classes: int = 1000,
             description: str = "") -> Network:
    growth, blocks, stem = CONFIGS[depth]
    b = NetworkBuilder(name, input_shape, description=description)
    with b.scope("features"):
        x = b.add("conv2d", b.input, "conv0", out_channels=stem, kernel=7, stride=2, padding=3,
                  bias=False)
        x = b.add("batch_norm2d", x, "norm0")
        x = b.add("relu", x, "relu0")
        x = b.add("max_pool2d", x, "pool0", kernel=3, stride=2, padding=1)
        for i, layers in enumerate(blocks):
            with b.scope(f"denseblock{i + 1}"):
                x = _dense_block(b, x, layers, growth)
            if i < len(blocks) - 1:
                with b.scope(f"transition{i + 1}"):
                    x = _norm_relu_conv(b, x, "", b.shape(x)[0] // 2, 1)
                    x = b.add("avg_pool2d", x, "pool", kernel=2, stride=2)
        x = b.add("batch_norm2d", x, "norm5")
    x = b.add("relu", x, "relu")
    x = b.add("adaptive_avg_pool2d", x, "avgpool", output_size=1)
    x = b.add("flatten", x, "flatten")
    b.add("linear", x, "classifier", out_features=classes)
    return b.build()


def _register(depth: int) -> None:
    growth, blocks, _ = CONFIGS[depth]
    twin = f"densenet{depth}" if depth != 264 else None
    summary = (f"DenseNet-{depth} (Huang et al. 2017, DenseNet-BC k={growth}, blocks "
               f"{'-'.join(map(str, blocks))}); " + ("same as torchvision" if twin else
                                                     "not in torchvision"))

    @model(f"densenet{depth}", summary=summary, family="densenet", torchvision=twin)
    def build(input_shape: Shape) -> Network:
        return densenet(f"densenet{depth}", depth, input_shape, description=summary)


for _depth in CONFIGS:
    _register(_depth)

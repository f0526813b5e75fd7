"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep
Convolutional Neural Networks"), Figure 2.

The paper's network (`alexnet`) is split over two GPUs: conv2, conv4 and conv5 see only the
kernel maps on their own GPU, which is a grouped convolution with groups = 2; conv1, conv3
and the FC layers connect across both. 96-256-384-384-256 filters, LRN (size 5, k = 2,
α = 1e-4, β = 0.75) after conv1 and conv2, 3×3/2 overlapping max pools, dropout in the first
two FC layers. The paper says 224×224, but 11×11/4 filters give its 55×55 maps only from
227×227 (as in Caffe's reference model), so that is the input here. 60,965,224 parameters.

torchvision's alexnet (`alexnet-torchvision`) is the one-GPU variant of Krizhevsky's 2014
"One weird trick" paper: 64-192-384-256-256 filters, no groups, no LRN, padding 2 on conv1
and a 224×224 input, plus an adaptive 6×6 average pool.
"""

from __future__ import annotations

from ..ir import Network, NetworkBuilder, Shape
from .registry import model


def _classifier(b: NetworkBuilder, x: str, classes: int, *, dropout_first: bool) -> str:
    """FC-4096, FC-4096, FC-classes with ReLU; dropout before each of the first two FCs
    (torchvision) or after them (the paper, Caffe)."""
    with b.scope("classifier"):
        i = 0
        for width in (4096, 4096):
            steps = ["dropout", "linear", "relu"] if dropout_first else ["linear", "relu", "dropout"]
            for step in steps:
                if step == "dropout":
                    x = b.add("dropout", x, str(i), p=0.5)
                elif step == "linear":
                    x = b.add("linear", x, str(i), out_features=width)
                else:
                    x = b.add("relu", x, str(i))
                i += 1
        return b.add("linear", x, str(i), out_features=classes)


def alexnet_paper(name: str, input_shape: Shape, *, classes: int = 1000,
                  description: str = "") -> Network:
    b = NetworkBuilder(name, input_shape, description=description)
    # (filters, kernel, stride, padding, groups, LRN + pool after, pool after)
    convs = [(96, 11, 4, 0, 1, True, True), (256, 5, 1, 2, 2, True, True),
             (384, 3, 1, 1, 1, False, False), (384, 3, 1, 1, 2, False, False),
             (256, 3, 1, 1, 2, False, True)]
    x, i = b.input, 0
    with b.scope("features"):
        for filters, k, s, p, g, norm, pool in convs:
            x = b.add("conv2d", x, str(i), out_channels=filters, kernel=k, stride=s,
                      padding=p, groups=g)
            x = b.add("relu", x, str(i + 1))
            i += 2
            if norm:
                x = b.add("lrn", x, str(i), size=5, alpha=1e-4, beta=0.75, k=2.0)
                i += 1
            if pool:
                x = b.add("max_pool2d", x, str(i), kernel=3, stride=2)
                i += 1
    x = b.add("flatten", x, "flatten")
    _classifier(b, x, classes, dropout_first=False)
    return b.build()


def alexnet_torchvision(name: str, input_shape: Shape, *, classes: int = 1000,
                        description: str = "") -> Network:
    b = NetworkBuilder(name, input_shape, description=description)
    # (filters, kernel, stride, padding, pool after); torchvision's features indices
    convs = [(64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False),
             (256, 3, 1, 1, False), (256, 3, 1, 1, True)]
    x, i = b.input, 0
    with b.scope("features"):
        for filters, k, s, p, pool in convs:
            x = b.add("conv2d", x, str(i), out_channels=filters, kernel=k, stride=s, padding=p)
            x = b.add("relu", x, str(i + 1))
            i += 2
            if pool:
                x = b.add("max_pool2d", x, str(i), kernel=3, stride=2)
                i += 1
    x = b.add("adaptive_avg_pool2d", x, "avgpool", output_size=6)
    x = b.add("flatten", x, "flatten")
    _classifier(b, x, classes, dropout_first=True)
    return b.build()


PAPER = ("AlexNet (Krizhevsky et al. 2012): the paper's two-GPU network, conv2/4/5 grouped "
         "(groups=2), LRN, 227×227 input")
TORCHVISION = ("AlexNet as torchvision builds it: the one-GPU 64-192-384-256-256 variant "
               "(Krizhevsky 2014), no LRN, no groups")


@model("alexnet", summary=PAPER, family="alexnet", input_shape=(3, 227, 227))
def build_paper(input_shape: Shape) -> Network:
    return alexnet_paper("alexnet", input_shape, description=PAPER)


@model("alexnet-torchvision", summary=TORCHVISION, family="alexnet", torchvision="alexnet")
def build_torchvision(input_shape: Shape) -> Network:
    return alexnet_torchvision("alexnet-torchvision", input_shape, description=TORCHVISION)

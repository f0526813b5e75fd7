"""The zoo against torchvision's published figures, the papers' own numbers and hand counts."""

from __future__ import annotations

import pytest

from netcost import zoo
from netcost.cost.counts import count
from netcost.errors import ShapeError, UnknownModel

ENTRIES = zoo.entries()
TWINS = {name: e for name, e in ENTRIES.items() if e.torchvision}


def macs(name: str) -> int:
    return sum(layer.cost.macs for layer in zoo.build(name).layers)


def test_the_issue_lists_every_model():
    expected = {"lenet5", "alexnet", "googlenet", "vgg11", "vgg13", "vgg16", "vgg19",
                "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                "resnet50-v1.5", "resnet101-v1.5", "resnet152-v1.5",
                "densenet121", "densenet161", "densenet169", "densenet201", "densenet264",
                "googlenet-torchvision", "alexnet-torchvision"}
    assert expected <= set(ENTRIES)
    for name, entry in ENTRIES.items():
        assert name == name.lower() and entry.summary and entry.family


# --- torchvision's weights metadata: num_params exact, _ops (GMACs) within 0.5% -----------

@pytest.fixture(scope="module")
def tv_meta():
    models = pytest.importorskip("torchvision.models")
    return {e.torchvision: models.get_model_weights(e.torchvision).DEFAULT.meta
            for e in TWINS.values()}


def test_every_torchvision_family_has_a_twin():
    assert {e.torchvision for e in TWINS.values()} >= {
        "alexnet", "googlenet", "vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet34",
        "resnet50", "resnet101", "resnet152", "densenet121", "densenet161", "densenet169",
        "densenet201"}


@pytest.mark.parametrize("name", sorted(TWINS))
def test_params_equal_and_macs_within_half_percent_of_torchvision(name, tv_meta):
    meta = tv_meta[TWINS[name].torchvision]
    report = count(zoo.build(name), convention="macs")
    assert report.totals["params"] == meta["num_params"]
    assert report.totals["macs"] == pytest.approx(meta["_ops"] * 1e9, rel=0.005)


def test_the_issue_figures():
    assert zoo.build("vgg16").params == 138_357_544
    assert zoo.build("resnet50-v1.5").params == 25_557_032
    assert zoo.build("densenet121").params == 7_978_856
    assert zoo.build("googlenet-torchvision").params == 6_624_904


@pytest.mark.torch
def test_macs_and_layer_names_equal_torchvision_module_by_module():
    """Stronger than _ops: PyTorch's FlopCounterMode on the real module (on the meta device,
    no weights) counts 2 per MAC; and every parametrised torchvision module has a zoo layer
    of the same path and the same parameter count."""
    torch = pytest.importorskip("torch")
    models = pytest.importorskip("torchvision.models")
    from torch.utils.flop_counter import FlopCounterMode

    for name, entry in TWINS.items():
        kwargs = {"aux_logits": False, "init_weights": False} if entry.torchvision == "googlenet" else {}
        with torch.device("meta"):
            module = models.get_model(entry.torchvision, **kwargs).eval()
            x = torch.empty(1, *entry.input_shape)
        with FlopCounterMode(display=False) as counter:
            module(x)
        assert macs(name) == counter.get_total_flops() // 2, name
        theirs = {path: sum(p.numel() for p in m.parameters(recurse=False))
                  for path, m in module.named_modules() if list(m.parameters(recurse=False))}
        ours = {layer.name: layer.cost.params for layer in zoo.build(name).layers
                if layer.cost.params}
        assert ours == theirs, name


# --- the papers' own figures, hand-derived ------------------------------------------------

def test_alexnet_two_gpu_params():
    # conv1 (11·11·3+1)·96 = 34,944; conv2 grouped: (48·5·5+1)·256 = 307,456;
    # conv3 (256·3·3+1)·384 = 885,120; conv4 grouped (192·9+1)·384 = 663,936;
    # conv5 grouped (192·9+1)·256 = 442,624; fc6 (256·6·6+1)·4096 = 37,752,832;
    # fc7 4097·4096 = 16,781,312; fc8 4097·1000 = 4,097,000  → 60,965,224
    net = zoo.build("alexnet")
    assert net.params == 60_965_224
    # 227 → conv1 11/4: (227−11)/4+1 = 55 → pool 3/2: 27 → pool: 13 → pool: 6
    shapes = [layer.output_shape for layer in net.layers if layer.kind == "max_pool2d"]
    assert shapes == [(96, 27, 27), (256, 13, 13), (256, 6, 6)]


def test_alexnet_two_gpu_macs():
    # conv1 363·96·55² = 105,415,200; conv2 1200·256·27² = 223,948,800;
    # conv3 2304·384·13² = 149,520,384; conv4 1728·384·169 = 112,140,288;
    # conv5 1728·256·169 = 74,760,192; fc 9216·4096 + 4096² + 4096·1000 = 58,621,952
    assert macs("alexnet") == 724_406_816


def test_lenet5_parameters_and_connections_as_the_paper_states():
    net = zoo.build("lenet5")
    by_block: dict[str, int] = {}
    for layer in net.layers:
        block = layer.name.split(".")[0]
        by_block[block] = by_block.get(block, 0) + layer.cost.params
    # Section II-B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164; output 84·10 RBF
    assert by_block == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "flatten": 0,
                        "f6": 10164, "output": 840}
    assert net.params == 60_840
    # "340,908 connections": a C/F unit has (inputs + bias), an S unit 4 inputs + bias:
    # C1 122,304 + S2 5,880 + C3 151,600 + S4 2,000 + C5 48,120 + F6 10,164 + output 840
    connections = 0
    for layer in net.layers:
        c = layer.cost
        if layer.kind == "avg_pool2d":  # the 4 inputs of an S unit
            connections += 4 * layer.output_numel
        elif layer.name.startswith(("s2.", "s4.")):  # the S unit's bias (its coefficient
            connections += c.bias_ops                # multiplies the sum: no connection)
        else:
            connections += c.macs + c.bias_ops
    assert connections == 340_908
    assert net.layers[-1].output_shape == (10,)


def test_googlenet_paper_total_from_table_widths():
    # Independent of the builder: Table 1's widths, convs with bias.
    def conv(c, k, n):
        return (c * k * k + 1) * n

    widths = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64),
              (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64),
              (512, 128, 128, 256, 24, 64, 64), (512, 112, 144, 288, 32, 64, 64),
              (528, 256, 160, 320, 32, 128, 128), (832, 256, 160, 320, 32, 128, 128),
              (832, 384, 192, 384, 48, 128, 128)]
    total = conv(3, 7, 64) + conv(64, 1, 64) + conv(64, 3, 192) + (1024 + 1) * 1000
    for c, a, r3, n3, r5, n5, p in widths:
        total += (conv(c, 1, a) + conv(c, 1, r3) + conv(r3, 3, n3) + conv(c, 1, r5)
                  + conv(r5, 5, n5) + conv(c, 1, p))
    assert zoo.build("googlenet").params == total == 6_998_552


def test_resnet_v1_and_v15_differ_only_in_macs():
    # v1.5 runs each stage's first 1×1 at the stage's input resolution:
    # stage 2: 256·128·(56²−28²), stage 3: 512·256·(28²−14²), stage 4: 1024·512·(14²−7²),
    # each 77,070,336, so 231,211,008 MACs more, for every depth.
    for depth in (50, 101, 152):
        assert zoo.build(f"resnet{depth}").params == zoo.build(f"resnet{depth}-v1.5").params
        assert macs(f"resnet{depth}-v1.5") - macs(f"resnet{depth}") == 231_211_008


def test_resnet_stage_resolutions():
    net = zoo.build("resnet50")
    # conv2_x 56², conv3_x 28², conv4_x 14², conv5_x 7² (Table 1), 4× expansion
    for stage, shape in ((1, (256, 56, 56)), (2, (512, 28, 28)), (3, (1024, 14, 14)),
                         (4, (2048, 7, 7))):
        last = [la for la in net.layers if la.name.startswith(f"layer{stage}.")][-1]
        assert last.output_shape == shape
    # v1: the stride sits on conv1 of the first block of stages 2..4
    assert net.layer("layer2.0.conv1").attrs["stride"] == (2, 2)
    assert zoo.build("resnet50-v1.5").layer("layer2.0.conv2").attrs["stride"] == (2, 2)


def test_densenet_transitions_halve_channels():
    net = zoo.build("densenet121")
    # 64 + 6·32 = 256 → 128; 128 + 12·32 = 512 → 256; 256 + 24·32 = 1024 → 512; 512 + 16·32
    outs = [net.layer(f"features.transition{i}.pool").output_shape for i in (1, 2, 3)]
    assert outs == [(128, 28, 28), (256, 14, 14), (512, 7, 7)]
    assert net.layer("features.norm5").output_shape == (1024, 7, 7)
    # DenseNet-264 (not in torchvision), blocks 6-12-64-48: 256 → 128; 128 + 12·32 = 512 →
    # 256; 256 + 64·32 = 2304 → 1152; 1152 + 48·32 = 2688 channels at the end
    assert zoo.build("densenet264").layer("features.norm5").output_shape == (2688, 7, 7)


def test_vgg16_is_config_d():
    net = zoo.build("vgg16")
    convs = [la for la in net.layers if la.kind == "conv2d"]
    assert [c.attrs["out_channels"] for c in convs] == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6
    assert net.layer("features.30").output_shape == (512, 7, 7)


# --- every model builds; shape sanity ------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_builds_at_paper_input(name):
    entry = ENTRIES[name]
    net = entry.build(entry.input_shape)
    assert net.input_shape == entry.input_shape
    assert net.layers[-1].output_shape == ((10,) if name == "lenet5" else (1000,))
    assert net.params == sum(layer.cost.params for layer in net.layers) > 0
    assert len({layer.name for layer in net.layers}) == len(net.layers)


def test_other_input_sizes():
    # torchvision's adaptive pools keep the classifier at any size; resnet at 3x320x320
    assert zoo.build("resnet50", "3x320x320").layer("layer4.2.relu_2").output_shape == (2048, 10, 10)
    assert zoo.build("vgg16", "3x320x320").params == zoo.build("vgg16").params
    with pytest.raises(ShapeError):
        zoo.build("vgg16", "3x16x16")  # five 2×2 pools need at least 32×32


def test_unknown_model_suggests_names():
    with pytest.raises(UnknownModel, match="resnet50"):
        zoo.get("resnet05")

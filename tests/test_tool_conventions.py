"""The tools' conventions (fvcore, ptflops, thop, flopcounter): netcost's per-layer rules
against the tools run for real, hand-derived counts on tiny networks, and `netcost tools`.

Versions the exact rules were read from (pinned in requirements-test.txt): fvcore
0.1.5.post20221221, ptflops 0.7.5, thop 0.1.1.post2209072238, torch 2.14.1.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings

import pytest
from cli_helpers import run, run_fresh

from netcost.cost.conventions import (
    CONVENTIONS,
    MACS,
    TOOLS,
    backward_ops,
    forward_ops,
    terms,
)
from netcost.errors import InvalidArgument
from netcost.ir import LayerCost, NetworkBuilder

torch = pytest.importorskip("torch")  # the torch extra; `make test` installs it
nn, F = torch.nn, torch.nn.functional
pytestmark = pytest.mark.torch


def run_tools(model, shape: tuple[int, ...]) -> dict[str, int]:
    """Each tool's own total for `model` on one zero input of `shape` (no batch dim)."""
    from torch.utils.flop_counter import FlopCounterMode

    with warnings.catch_warnings():  # their deprecation notices (distutils, jit.script)
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis
        from ptflops import get_model_complexity_info
        from thop import profile

    model.eval()
    x = torch.zeros(1, *shape)
    fv = FlopCountAnalysis(model, (x,))
    fv.unsupported_ops_warnings(False)
    fv.uncalled_modules_warnings(False)
    fv.tracer_warnings("none")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            fvcore = fv.total()
            ptflops, _ = get_model_complexity_info(model, shape, as_strings=False,
                                                   print_per_layer_stat=False)
            thop, _ = profile(model, inputs=(x,), verbose=False)
        finally:
            logging.disable(logging.NOTSET)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    # thop sums in float64: exact below 2**53, as every total here is
    return {"fvcore": int(fvcore), "ptflops": int(ptflops), "thop": int(thop),
            "flopcounter": int(counter.get_total_flops())}


def emulated(network, batch: int = 1) -> dict[str, int]:
    return {t: batch * sum(forward_ops(layer.cost, t, layer) for layer in network.layers)
            for t in TOOLS}


def traced(model, shape: tuple[int, ...], mode: str = "eval"):
    from netcost.importers.torch import load

    return load(model, input_shape=(1, *shape), mode=mode)


# ------------------------------------------------------------------ the tools, run for real
def torchvision_model(name: str):
    import torchvision

    kwargs = {"init_weights": False} if name == "googlenet" else {}  # values never matter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(torchvision.models, name)(**kwargs)


@pytest.mark.slow  # real forwards at 224: 1-3 s each on an idle 2-core machine
@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg11", "mobilenet_v2",
                                  "densenet121", "googlenet"])
def test_each_tool_convention_equals_the_tool_run_for_real(name):
    # eval mode, as the tools run: googlenet's auxiliary heads and every dropout are off.
    # Every rule is exact here: BN, ReLU, pools, bias and MACs are whole per-element counts.
    model = torchvision_model(name)
    real = run_tools(model, (3, 224, 224))
    network = traced(model, (3, 224, 224))
    assert emulated(network) == real
    assert real["flopcounter"] == 2 * sum(layer.cost.macs for layer in network.layers)


def test_resnet50_figures_and_their_parts():
    # measured with the tools on torchvision's resnet50 (eval, 224, batch 1); the parts are
    # fvcore's own by_operator(): conv 4,087,136,256, linear 2,048,000, batch_norm 22,227,968
    # (2 per element of the 11,113,984 BN inputs), adaptive_avg_pool2d 100,352 (2048·7·7)
    from netcost import zoo

    network = zoo.build("resnet50-v1.5")
    assert emulated(network) == {"fvcore": 4_111_512_576, "ptflops": 4_132_436_968,
                                 "thop": 4_133_742_592, "flopcounter": 8_178_368_512}
    parts = {}
    for layer in network.layers:
        for k, v in terms(layer, "fvcore").items():
            parts[k] = parts.get(k, 0) + v
    assert parts == {MACS: 4_087_136_256 + 2_048_000,
                     "batch norm (2 per element, eval)": 22_227_968,
                     "adaptive average pool (1 per input element)": 100_352}


def test_multihead_attention_as_fvcore_ptflops_and_thop_see_it():
    # torchvision's ViT, small (32×32 in 16×16 patches: 5 tokens of 64, 2 layers of 4
    # heads): nn.MultiheadAttention with need_weights=False. fvcore
    # sees one scaled_dot_product_attention op (no handle: its two products count 0),
    # ptflops applies its own MultiheadAttention formula (projections with bias, products,
    # query scaling, 1 per score), thop sees only the MLP's nn.Linear modules.
    from torchvision.models.vision_transformer import VisionTransformer

    model = VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=4,
                              hidden_dim=64, mlp_dim=128)
    real = run_tools(model, (3, 32, 32))
    ours = emulated(traced(model, (3, 32, 32)))
    assert {t: ours[t] for t in ("fvcore", "ptflops", "thop")} == {
        t: real[t] for t in ("fvcore", "ptflops", "thop")}
    # FlopCounterMode under no_grad in eval misses the fused fast path
    # (_native_multi_head_attention) that nn.MultiheadAttention takes: netcost's 2 per MAC
    # is the count of every product, so it is more
    assert ours["flopcounter"] > real["flopcounter"]


@pytest.mark.parametrize("name", ["resnet18", "vgg11"])
def test_training_trace_gives_the_same_tool_counts(name):
    # netcost's importer traces in training mode by default. Its batch norm terms do not
    # depend on the mode and dropout is free under every tool, so resnet18 (batch norm) and
    # vgg11 (dropout) count the same traced either way.
    model = torchvision_model(name)
    assert emulated(traced(model, (3, 64, 64), "train")) == emulated(
        traced(model, (3, 64, 64), "eval"))


def test_zoo_twins_stand_for_torchvision_modules():
    # A zoo layer stands for the kind's nn module. Where torchvision calls the op as a
    # function instead, the hook-based tools differ by exactly that call.
    from netcost import zoo

    dense = emulated(zoo.build("densenet121"))
    # torchvision's densenet121 ends with F.relu and F.adaptive_avg_pool2d on 1024×7×7
    # (50,176 numbers): ptflops counts each once (the zoo's modules: twice), thop counts the
    # functional pool 0 (the zoo's nn.AdaptiveAvgPool2d: (49 + 1)·1024 = 51,200)
    assert dense["ptflops"] == 2_899_843_048 + 50_176 + 50_176
    assert dense["thop"] == 2_897_007_104 + 51_200
    assert dense["fvcore"] == 2_865_546_752 and dense["flopcounter"] == 5_668_323_328
    assert emulated(zoo.build("vgg11")) == {"fvcore": 7_609_115_136, "ptflops": 7_643_686_888,
                                            "thop": 7_609_140_224,
                                            "flopcounter": 15_218_180_096}


# ------------------------------------------------------------------ tiny networks by hand
class Tiny(nn.Module):
    """conv(bias) → BN → nn.ReLU; + F.relu (operator add); nn.MaxPool2d;
    F.adaptive_avg_pool2d; nn.Linear(bias). Input 3×8×8."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        y = self.relu(self.bn(self.conv(x)))  # 4×8×8 = 256
        y = y + F.relu(y)
        y = self.pool(y)  # 4×4×4 = 64
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


# conv: 256 outputs · 3·3·3 = 6,912 MACs, 256 bias adds; fc: 4·5 = 20 MACs, 5 bias adds
TINY = {
    # MACs 6,932 + BN 2·256 + adaptive pool 1 per input (64); ReLU, add, max pool free
    "fvcore": 6_932 + 512 + 64,
    # MACs + conv bias 256 + fc bias 5 + BN 2·256 + nn.ReLU 2·256 + F.relu 256 + add 0
    # + nn.MaxPool2d 2·256 (input) + F.adaptive_avg_pool2d 64 (input)
    "ptflops": 6_932 + 256 + 5 + 512 + 512 + 256 + 512 + 64,
    # MACs (no bias) + BN 4·256; ReLU, max pool 0; the functional pool 0
    "thop": 6_932 + 1_024,
    "flopcounter": 2 * 6_932,
}


class TinyTwo(nn.Module):
    """Transposed conv, average and adaptive pools, GELU, upsampling, layer norm, softmax
    (all modules). Input 2×5×5."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(2, 3, kernel_size=3, stride=2)
        self.avg = nn.AvgPool2d(2)
        self.adapt = nn.AdaptiveAvgPool2d(4)
        self.gelu = nn.GELU()
        self.ups = nn.Upsample(scale_factor=2, mode="nearest")
        self.ln = nn.LayerNorm(8)
        self.soft = nn.Softmax(dim=-1)

    def forward(self, x):
        y = self.adapt(self.avg(self.up(x)))  # 3×11×11 → 3×5×5 → 3×4×4
        return self.soft(self.ln(self.ups(self.gelu(y))))  # 3×8×8


# transposed conv: every input (2·5·5 = 50) through 3 filters of 3·3: 1,350 MACs;
# output (5−1)·2 + 3 = 11: 3·11·11 = 363 numbers. avg pool: 363 → 75; adaptive: 75 → 48
# (5→4 bins); GELU 48; upsample → 192; layer norm and softmax on 192 (24 rows of 8).
TINY_TWO = {
    # MACs + adaptive pool 1 per input (75) + nearest upsample 1 per output (192)
    # + layer norm 5 per element (960); avg pool, GELU and softmax have no handle
    "fvcore": 1_350 + 75 + 192 + 960,
    # MACs + bias 363 + nn.AvgPool2d 2·363 + nn.AdaptiveAvgPool2d 2·75 + nn.GELU 2·48
    # + nn.Upsample 2·192 + LayerNorm 1·192 (no `affine` attribute) + F.softmax 192
    "ptflops": 1_350 + 363 + 726 + 150 + 96 + 384 + 192 + 192,
    # output·c/g·k·k = 363·2·9 = 6,534 + avg pool 1 per output (75)
    # + adaptive ((5/4)² + 1)·48 = 123 + GELU 0 + nearest 192 + layer norm 4·192
    # + softmax 24·(3·8 − 1) = 552
    "thop": 6_534 + 75 + 123 + 192 + 768 + 552,
    "flopcounter": 2 * 1_350,
}


@pytest.mark.parametrize("model,shape,expected", [
    (Tiny, (3, 8, 8), TINY), (TinyTwo, (2, 5, 5), TINY_TWO)], ids=["tiny", "tiny-two"])
def test_tiny_networks_by_hand_and_by_the_tools(model, shape, expected):
    torch.manual_seed(0)
    module = model()
    assert emulated(traced(module, shape)) == expected
    assert run_tools(module, shape) == expected


def test_batch_scales_every_tool_count():
    # per-element rules: batch 4 is 4 times batch 1 (the report multiplies per sample)
    from netcost.cost.counts import count

    network = traced(Tiny(), (3, 8, 8))
    for tool in TOOLS:
        assert count(network, batch=4, convention=tool).totals["ops"] == 4 * TINY[tool]


def zoo_like():
    # a zoo network (no module classes recorded): each kind is its standard nn module;
    # add is the `+` operator
    b = NetworkBuilder("zoo-like", (4, 6, 6))
    x = b.add("batch_norm2d", b.input, "bn")  # 144 numbers
    x = b.add("relu", x, "relu")
    x = b.add("add", [x, b.input], "add")
    x = b.add("global_avg_pool2d", x, "pool")  # 4×1×1
    return b.build()


def test_zoo_layers_count_as_their_standard_modules():
    net = zoo_like()
    # fvcore: BN 2·144 + the adaptive pool's input 144; ptflops: BN 2·144, nn.ReLU 2·144,
    # nn.AdaptiveAvgPool2d 2·144, `+` 0; thop: BN 4·144, pool (36 + 1)·4 = 148
    assert emulated(net) == {"fvcore": 288 + 144, "ptflops": 288 + 288 + 288,
                             "thop": 576 + 148, "flopcounter": 0}


def test_terms_sum_to_the_convention_and_label_the_difference():
    net = traced(Tiny(), (3, 8, 8))
    for name in CONVENTIONS:
        for layer in net.layers:
            parts = terms(layer, name)
            assert sum(parts.values()) == forward_ops(layer.cost, name, layer)
            assert parts.get(MACS, 0) == layer.cost.macs
    relu = next(layer for layer in net.layers if layer.attrs["module"] == "relu")
    assert relu.attrs["module_type"] == "ReLU"
    assert terms(relu, "ptflops") == {"nn.ReLU (2 per element: hook + F.relu)": 512}
    functional = next(layer for layer in net.layers
                      if layer.kind == "relu" and layer.attrs["module"] == "")
    assert terms(functional, "ptflops") == {"F.relu (1 per element)": 256}
    assert terms(functional, "thop") == {} and terms(functional, "fvcore") == {}


def test_tool_conventions_need_the_layer_and_keep_the_native_ones():
    cost = LayerCost(macs=100, dot_outputs=10, bias_ops=10, elementwise_ops=7)
    with pytest.raises(InvalidArgument, match="pass the layer"):
        forward_ops(cost, "fvcore")
    # lecture, macs, flops unchanged and still computed from the cost alone
    assert forward_ops(cost, "lecture") == 200 - 10 + 10 + 7
    assert forward_ops(cost, "macs") == 100 and forward_ops(cost, "flops") == 217
    grads = LayerCost(params=5, backward_input_macs=30, backward_weight_macs=20,
                      backward_elementwise_ops=4)
    # FlopCounterMode counts 2 per backward MAC; the MAC-counting tools their unit, 1 per MAC
    assert backward_ops(grads, "flopcounter", True) == 100
    assert backward_ops(grads, "thop", True) == 50 and backward_ops(grads, "fvcore", False) == 20


# ------------------------------------------------------------------ the CLI


def test_tools_json(capsys):
    code, out, err = run(capsys, "tools", "resnet50-v1.5", "--format", "json", "--batch", "2")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["schema"] == "netcost.tools/1" and d["input"] == [2, 3, 224, 224]
    rows = {r["name"]: r for r in d["conventions"]}
    assert set(rows) == set(CONVENTIONS)
    assert d["macs"] == 2 * 4_089_184_256
    assert rows["fvcore"]["ops"] == 2 * 4_111_512_576
    assert rows["fvcore"]["terms"] == {"batch norm (2 per element, eval)": 2 * 22_227_968,
                                       "adaptive average pool (1 per input element)": 2 * 100_352}
    for r in d["conventions"]:
        assert r["difference"] == r["ops"] - d["macs"] == sum(r["terms"].values())
    assert rows["thop"]["tool"].startswith("thop.profile")


def test_tools_table(capsys):
    code, out, _ = run(capsys, "tools", "resnet18")
    assert code == 0 and out.startswith("netcost tools · resnet18")
    for name in CONVENTIONS:
        assert f"│ {name} " in out
    assert "+1,000 nn.Linear bias (1 per output)" in out  # ptflops: resnet18's fc bias
    assert "fvcore.nn.FlopCountAnalysis" in out


def test_tools_traces_import_paths_in_eval_mode(capsys):
    # googlenet's auxiliary heads run in training only: eval mode, as the tools run it
    code, out, _ = run(capsys, "tools", "torchvision:googlenet", "--format", "json",
                       "--arg", "init_weights=False")
    assert code == 0
    rows = {r["name"]: r["ops"] for r in json.loads(out)["conventions"]}
    # the tools' own totals, from test_each_tool_convention_equals_the_tool_run_for_real
    assert rows["fvcore"] == 1_504_878_688 and rows["ptflops"] == 1_513_907_448
    assert rows["thop"] == 1_511_332_032 and rows["flopcounter"] == 2_996_752_384


def test_report_and_layer_accept_the_tool_conventions(capsys):
    code, out, _ = run(capsys, "report", "resnet50-v1.5", "--convention", "thop",
                       "--format", "json")
    assert code == 0 and json.loads(out)["totals"]["ops"] == 4_133_742_592
    # conv 3→6 of 5×5 on 224: 21,780,000 MACs and 6·220·220 = 290,400 bias adds
    code, out, _ = run(capsys, "layer", "conv", "--input", "3x224x224", "--kernel", "5x5",
                       "--filters", "6", "--convention", "ptflops", "--format", "json")
    assert code == 0 and json.loads(out)["ops"] == 21_780_000 + 290_400
    code, out, _ = run(capsys, "layer", "conv", "--input", "3x224x224", "--kernel", "5x5",
                       "--filters", "6", "--convention", "fvcore", "--explain")
    assert "ops (fvcore) = conv and matmul MACs = 21,780,000 = 21,780,000" in out


@pytest.mark.parametrize("args,message", [
    (["tools", "resnt50"], "unknown model 'resnt50'"),
    (["tools", "resnet18", "--batch", "0"], "batch must be a positive integer"),
    (["tools", "resnet18", "--input", "3x224"], "3x224"),
    (["tools", "resnet18", "--format", "csv"], "'csv' is not one of"),
    (["tools", "resnet18", "--arg", "depth=3"], "--arg applies to import paths"),
    (["report", "resnet18", "--convention", "fvcore2"], "unknown convention 'fvcore2'"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert message in err and "Traceback" not in err and out == ""


def test_tools_on_a_zoo_model_imports_no_torch():
    code, _, imported = run_fresh("tools", "resnet18", "--format", "json")
    assert code == 0 and "torch" not in imported

"""The torch importer: published figures, functional code, tied weights, inputs, bad input.

Oracles: torchvision's weights metadata (num_params exact, _ops = GMACs at the crop size),
PyTorch's own FlopCounterMode test figure, hand-derived counts, and the zoo.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
tvm = pytest.importorskip("torchvision.models")
nn = torch.nn
F = torch.nn.functional

from cli_helpers import run  # noqa: E402

from netcost import analyze, load  # noqa: E402
from netcost.cli import main  # noqa: E402
from netcost.errors import ModelImportError, UnknownModel  # noqa: E402

pytestmark = pytest.mark.torch


def total(network, field):
    return sum(getattr(layer.cost, field) for layer in network.layers)


def crop(name):
    """The weights' crop size: what _ops was measured at (meta['min_size'] is not it)."""
    size = tvm.get_model_weights(name).DEFAULT.transforms().crop_size
    return size[0] if isinstance(size, (list, tuple)) else size


# ------------------------------------------------------------------ published figures
PUBLISHED = ["resnet18", "resnet50", "vgg16", "googlenet", "densenet121", "mobilenet_v2",
             "vit_b_16"]


@pytest.mark.parametrize("name", PUBLISHED)
def test_params_and_macs_match_torchvision(name):
    meta = tvm.get_model_weights(name).DEFAULT.meta
    # the published googlenet is the eval model without auxiliary heads
    args = {"aux_logits": False, "init_weights": False} if name == "googlenet" else None
    size = crop(name)
    net = load(f"torchvision:{name}", args=args, input_shape=(1, 3, size, size))
    assert net.params == meta["num_params"]
    assert net.extra["params_total"] == meta["num_params"]
    gmacs = total(net, "macs") / 1e9
    assert abs(gmacs - meta["_ops"]) / meta["_ops"] < 0.005
    assert net.extra["unsupported"] == {}


def test_resnet18_forward_backward_flops_equal_pytorch_test_figure():
    # PyTorch's test_flop_counter: resnet18, input requiring grad, forward + backward
    # = 10,884,440,064 FLOPs = 2 · (forward MACs + backward MACs); backward = 2 · forward.
    report = analyze("torchvision:resnet18", input_shape=(1, 3, 224, 224), convention="macs",
                     input_requires_grad=True)
    assert 2 * (report.totals["macs"] + report.totals["backward_macs"]) == 10_884_440_064
    assert report.totals["backward_macs"] == 2 * report.totals["macs"]
    # without an input gradient the first conv skips grad_input: 3·7·7·64·112·112 MACs
    plain = analyze("torchvision:resnet18", input_shape=(1, 3, 224, 224), convention="macs")
    assert report.totals["backward_macs"] - plain.totals["backward_macs"] == 118_013_952


def test_resnet18_layers_and_what_autograd_saves():
    net = load("torchvision:resnet18")
    conv1 = net.layer("conv1/conv2d")
    assert conv1.kind == "conv2d" and conv1.parents == ("input",)
    assert conv1.output_shape == (64, 112, 112)
    assert conv1.cost.macs == 3 * 7 * 7 * 64 * 112 * 112  # c·kh·kw·k·out_h·out_w
    assert conv1.attrs["saved"] == ["input"]  # conv keeps its input for grad_weight
    bn = net.layer("bn1/batch_norm2d")
    assert bn.cost.params == 2 * 64 and bn.cost.buffers == 2 * 64 + 1  # + num_batches_tracked
    assert bn.attrs["saved"] == ["conv1/conv2d"]
    assert bn.attrs["saved_extra"] == [[64, 4], [64, 4]]  # batch mean and 1/σ
    relu = net.layer("relu/relu")
    assert relu.attrs["inplace"] and relu.attrs["saved"] == ["relu/relu"]  # its output
    pool = net.layer("maxpool/max_pool2d")
    assert pool.attrs["saved"] == ["relu/relu"]
    assert pool.attrs["saved_extra"] == [[64 * 56 * 56, 8]]  # int64 argmax indices
    assert pool.cost.elementwise_ops == (3 * 3 - 1) * 64 * 56 * 56  # k·k−1 compares
    add = net.layer("layer1.0/add")
    assert add.parents == ("layer1.0.bn2/batch_norm2d", "maxpool/max_pool2d")
    assert net.buffers == net.extra["buffers"] == sum(b.numel() for b in tvm.resnet18().buffers())
    assert net.extra["outputs"] == ["fc/linear"]
    # flatten is a view: folded, and fc reads the pool's output through it
    assert net.layer("fc/linear").parents == ("avgpool/global_avg_pool2d",)


def test_eval_mode_skips_auxiliary_heads_and_keeps_their_params():
    from netcost.importers.torch import load as load_torch

    net = load_torch("torchvision:googlenet", mode="eval")  # aux_logits default: True
    meta = tvm.get_model_weights("googlenet").DEFAULT.meta
    # inference runs no auxiliary head: MACs are the published model's exactly as in
    # training mode without them (1,498,376,192; see test_zoo_and_torch_agree)
    assert total(net, "macs") == 1_498_376_192
    unused = net.layer("unused_parameters")
    assert unused.parents == () and unused.output_shape == (0,)
    assert all(p.startswith(("aux1.", "aux2.")) for p in unused.attrs["params"])
    assert net.params - unused.cost.params == meta["num_params"]
    assert not [layer for layer in net.layers if layer.kind == "dropout"]  # identity in eval


class FFT(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        return self.fc(torch.fft.rfft(x).abs())


def test_ops_without_a_formula_are_listed_and_coverage_is_partial():
    net = load(FFT(), input_shape=(1, 8))
    fft = net.layers[0]
    assert fft.kind == "_fft_r2c" and fft.attrs["unsupported"] and fft.cost.elementwise_ops == 0
    # forward rfft, and the complex FFT its backward runs
    assert net.extra["unsupported"] == {"aten._fft_r2c": 1, "aten._fft_c2c": 1}
    assert net.layer("fc/linear").parents == ("abs",)  # the graph stays whole through it
    report = analyze(FFT(), input_shape=(1, 8))
    assert report.coverage["status"] == "partial"


# ------------------------------------------------------------------ functional code
class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.wq = nn.Parameter(torch.randn(8, 8))
        self.wk = nn.Parameter(torch.randn(8, 8))
        self.wv = nn.Parameter(torch.randn(8, 8))

    def forward(self, x):
        y = F.conv2d(x, self.w)  # 3x10x10 -> 8x8x8
        y = y.relu_()
        t = y.flatten(2).transpose(1, 2)  # 64 tokens of 8
        q = t @ self.wq
        k = torch.einsum("btd,de->bte", t, self.wk)
        v = torch.matmul(t, self.wv)
        return F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])


class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Functional()

    def forward(self, x):
        return self.block(x)


def test_functional_code_is_counted_and_attributed():
    net = load(Wrapper(), input_shape=(1, 3, 10, 10))
    # conv: 3·3·3 MACs for each of 8·8·8 outputs = 13,824
    # q, k, v: 64 tokens · 8 · 8 = 4,096 each (`@`, einsum, matmul)
    # attention: QKᵀ 64·8·64 = 32,768 and (softmax)·V 64·64·8 = 32,768
    assert total(net, "macs") == 13_824 + 3 * 4_096 + 2 * 32_768
    assert net.params == 8 * 3 * 3 * 3 + 3 * 8 * 8
    conv = net.layer("block/conv2d")
    assert conv.cost.macs == 13_824 and conv.cost.params == 216
    relu = net.layer("block/relu")
    assert relu.attrs["inplace"] and relu.parents == ("block/conv2d",)
    assert all(layer.attrs["module"] == "block" for layer in net.layers)
    assert {layer.kind for layer in net.layers} >= {"conv2d", "relu", "linear", "matmul",
                                                     "softmax"}
    # backward: conv grad_weight only (the input needs no gradient), each projection
    # grad_input and grad_weight, each attention matmul two input gradients
    assert total(net, "backward_weight_macs") == 13_824 + 3 * 4_096
    assert total(net, "backward_input_macs") == 13_824 + 3 * 4_096 + 4 * 32_768
    assert net.extra["unsupported"] == {}


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 100)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.embed(tokens))


def test_tied_weights_count_once_and_token_inputs():
    model = Tied()
    net = load(model, example_inputs=(torch.zeros(1, 5, dtype=torch.long),))
    # embedding table 100·16, counted once; the head adds its bias only
    assert net.params == 100 * 16 + 100 == sum(p.numel() for p in model.parameters())
    head = net.layer("head/linear")
    assert head.cost.params == 100 and head.weight_key == "head.bias"
    assert head.attrs["params"] == ["head.bias"]
    assert sorted(head.attrs["params_read"]) == ["embed.weight", "head.bias"]
    assert head.cost.macs == 5 * 16 * 100  # 5 tokens · 16 · 100
    assert net.inputs == {"input": (5,)} and net.extra["input_dtypes"] == {"input": 8}  # int64


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 6)
        self.b = nn.Linear(3, 6)

    def forward(self, x, y, *, scale):
        return (self.a(x) + self.b(y)) * scale


def test_several_inputs_kwargs_and_batch_divided_out():
    net = load(TwoInputs(), example_inputs={"x": torch.randn(8, 4), "y": torch.randn(8, 3),
                                            "scale": torch.randn(8, 6)})
    assert net.extra["batch"] == 8  # traced at batch 1, counts per sample
    assert net.inputs == {"x": (4,), "y": (3,), "scale": (6,)}
    assert total(net, "macs") == 4 * 6 + 3 * 6
    mul = [layer for layer in net.layers if layer.kind == "mul"][0]
    assert set(mul.parents) == {"add", "scale"}
    rep = analyze(TwoInputs(), example_inputs={"x": torch.randn(8, 4), "y": torch.randn(8, 3),
                                               "scale": torch.randn(8, 6)})
    assert rep.batch == 8 and rep.totals["macs"] == 8 * (4 * 6 + 3 * 6)


def test_python_shape_includes_batch_string_shape_does_not():
    a = load("torchvision:resnet18", input_shape=(16, 3, 64, 64))
    b = load("torchvision:resnet18", input_shape="3x64x64")
    assert a.inputs == b.inputs == {"input": (3, 64, 64)}
    assert a.extra["batch"] == 16 and b.extra["batch"] == 1
    assert total(a, "macs") == total(b, "macs")


def test_user_model_instance_is_left_untouched():
    model = tvm.resnet18().eval()
    before = model.conv1.weight.clone()
    load(model, input_shape=(1, 3, 32, 32))
    assert not model.training and model.conv1.weight.device.type == "cpu"
    assert torch.equal(model.conv1.weight, before)


# ------------------------------------------------------------------ the zoo agrees
def zoo_twins():
    from netcost.zoo.registry import entries

    return sorted((n, e.torchvision) for n, e in entries().items() if e.torchvision)


def test_zoo_twins_include_the_required_three():
    assert {("vgg16", "vgg16"), ("resnet50-v1.5", "resnet50"),
            ("densenet121", "densenet121")} <= set(zoo_twins())


@pytest.mark.parametrize(("zoo_name", "tv_name"), zoo_twins())
def test_zoo_and_torch_agree(zoo_name, tv_name):
    zoo = load(zoo_name)
    args = {"aux_logits": False, "init_weights": False} if tv_name == "googlenet" else None
    net = load(f"torchvision:{tv_name}", args=args,
               input_shape="x".join(map(str, zoo.input_shape)))
    assert net.params == zoo.params
    assert total(net, "macs") == total(zoo, "macs")


# ------------------------------------------------------------------ bad input, via the CLI
def run_cli(capsys, *argv):
    code, _, err = run(capsys, *argv)
    return code, err.strip()


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    (tmp_path / "netcost_user_models.py").write_text(textwrap.dedent("""
        import torch

        NOT_A_MODEL = 42

        def broken():
            raise RuntimeError("weights file missing")

        def not_a_module():
            return "a string"

        class Small(torch.nn.Module):
            def __init__(self, width=4):
                super().__init__()
                self.fc = torch.nn.Linear(3, width)

            def forward(self, x):
                return self.fc(x)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "netcost_user_models"
    sys.modules.pop("netcost_user_models", None)


def test_cli_import_path_with_args(capsys, user_package):
    with pytest.raises(SystemExit) as exit_:
        main(["report", f"{user_package}:Small", "--input", "3", "--arg", "width=7",
              "--format", "json"])
    assert exit_.value.code == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["params"] == (3 + 1) * 7  # (n+1)·k
    assert data["coverage"]["status"] == "complete"


@pytest.mark.parametrize(("argv", "words"), [
    (["report", "no_such_package_xyz:build"], ["no_such_package_xyz"]),
    (["report", "torchvision:resnet5O"], ["resnet5O", "did you mean"]),
    (["report", "USER:broken", "--input", "3"], ["weights file missing"]),
    (["report", "USER:NOT_A_MODEL", "--input", "3"], ["int", "not a model"]),
    (["report", "USER:not_a_module", "--input", "3"], ["str", "not a torch.nn.Module"]),
    (["report", "USER:Small", "--input", "3", "--arg", "depth=2"], ["depth"]),
    (["report", "torchvision:resnet18", "--input", "1x64x64"],
     ["aten.convolution", "'conv1'", "1x1x64x64", "64x3x7x7"]),
    (["report", "USER:Small", "--input", "5"], ["fc", "1x5", "3"]),
    (["report", "USER:Small"], ["input shape", "--input"]),
])
def test_cli_bad_input_is_one_sentence_exit_2(capsys, user_package, argv, words):
    argv = [a.replace("USER", user_package) for a in argv]
    code, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    for word in words:
        assert word in err


def test_api_rejects_a_non_module_object():
    with pytest.raises(ModelImportError, match="list"):
        load([1, 2, 3])
    with pytest.raises(UnknownModel):
        load("torchvision:not_a_model_at_all")


def test_cli_missing_torch_says_how_to_install():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from netcost.cli import main\n"
            "main(['report', 'torchvision:resnet18'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert "\n" not in err and "pip install 'netcost[torch]'" in err

"""Models far larger than RAM are analysed on meta tensors: peak RSS stays under 2 GB.

Each analysis runs in a fresh interpreter so that its ru_maxrss is its own peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
nn = torch.nn
F = torch.nn.functional

pytestmark = [pytest.mark.torch, pytest.mark.slow]

LIMIT = 2 * 1024**3
HERE = os.path.dirname(__file__)

# LLaMA-7B's shape: vocabulary V, width d, L layers of H heads, SwiGLU hidden h.
V, D, L, H, HIDDEN = 32_000, 4096, 32, 32, 11_008


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class Block(nn.Module):
    def __init__(self, d, heads, hidden):
        super().__init__()
        self.heads = heads
        self.attn_norm, self.mlp_norm = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, hidden, bias=False), nn.Linear(d, hidden, bias=False)
        self.down = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        h = self.attn_norm(x)
        q, k, v = (p(h).view(b, t, self.heads, -1).transpose(1, 2) for p in (self.q, self.k, self.v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        h = self.mlp_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Decoder(nn.Module):
    def __init__(self, vocab=V, d=D, layers=L, heads=H, hidden=HIDDEN):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads, hidden) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


# The child's own peak RSS: /proc's VmHWM where there is one. getrusage's ru_maxrss is not
# it on Linux: exec keeps the larger of the new and the forking process's high-water mark,
# so a child of a pytest process that grew past the limit reported the parent's 2.18 GiB.
PEAK_RSS = """
def peak_rss():
    try:
        with open('/proc/self/status') as fh:
            for line in fh:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""


def run_isolated(code: str) -> dict:
    script = (f"import sys, json, resource\nsys.path.insert(0, {HERE!r})\n{PEAK_RSS}\n"
              f"{code}\nout['rss'] = peak_rss()\nprint(json.dumps(out))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_7b_decoder_on_meta_under_2gb():
    out = run_isolated(
        "import torch\n"
        "from test_torch_memory import Decoder\n"
        "from netcost import load\n"
        "with torch.device('meta'):\n"
        "    model = Decoder()\n"
        "net = load(model, example_inputs=(torch.zeros(1, 2048, dtype=torch.long),))\n"
        "out = {'params': net.params, 'macs': sum(l.cost.macs for l in net.layers),\n"
        "       'bwd': sum(l.cost.backward_input_macs + l.cost.backward_weight_macs\n"
        "              for l in net.layers), 'unsupported': net.extra['unsupported']}")
    # embedding V·d + L·(4·d² attention + 3·d·h MLP + 2·d norms) + d final norm + d·V head
    assert out["params"] == V * D + L * (4 * D * D + 3 * D * HIDDEN + 2 * D) + D + D * V
    assert out["params"] == 6_738_415_616  # LLaMA-7B's published count
    t = 2048
    # per layer: t tokens through the 7 projections, and QKᵀ plus AV: 2·t²·d
    layer = t * (4 * D * D + 3 * D * HIDDEN) + 2 * t * t * D
    assert out["macs"] == L * layer + t * D * V
    assert out["unsupported"] == {}
    assert out["rss"] < LIMIT, f"peak RSS {out['rss'] / 2**30:.2f} GiB"


def test_vit_h_14_at_518_under_2gb():
    out = run_isolated(
        "from netcost import load\n"
        "net = load('torchvision:vit_h_14', args={'image_size': 518},\n"
        "           input_shape=(1, 3, 518, 518))\n"
        "out = {'params': net.params, 'macs': sum(l.cost.macs for l in net.layers)}")
    from torchvision.models import get_model_weights

    meta = get_model_weights("vit_h_14").DEFAULT.meta  # the SWAG weights, at 518×518
    assert out["params"] == meta["num_params"] == 633_470_440
    assert abs(out["macs"] / 1e9 - meta["_ops"]) / meta["_ops"] < 0.005
    assert out["rss"] < LIMIT, f"peak RSS {out['rss'] / 2**30:.2f} GiB"

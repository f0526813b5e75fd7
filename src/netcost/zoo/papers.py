"""Published tables as data, compared with what the zoo computes for the same rows.

Each row of a paper's table names the zoo layers it covers (module-path prefixes) and the
figures the paper prints, in the paper's units. `compare(key)` computes every row, puts it
in those units, and flags a row whose relative difference exceeds the threshold (2%). The
reason a row differs, where we found one, is stated with its numbers; the tests check each
of those numbers independently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnknownModel
from ..ir import Layer, Network

THRESHOLD = 0.02  # rows that differ by more than this are flagged


@dataclass(frozen=True)
class Quantity:
    key: str  # "params" (weights, biases left out) or "macs" (multiply-adds, no bias)
    label: str  # the paper's column heading
    unit: str  # as printed: "K", "M", "×10^9"
    scale: int  # numbers per unit
    meaning: str


@dataclass(frozen=True)
class PaperRow:
    label: str  # as the paper prints it
    model: str  # the zoo model whose layers make the row
    layers: tuple[str, ...]  # module-path prefixes; () = the whole model
    published: Mapping[str, float]  # quantity key -> printed value, in the paper's unit
    output: str | None = None  # the output size as printed, e.g. "112×112×64"
    notes: Mapping[str, str] = field(default_factory=dict)  # quantity key -> why it differs


@dataclass(frozen=True)
class PaperTable:
    key: str
    title: str
    source: str
    quantities: tuple[Quantity, ...]
    rows: tuple[PaperRow, ...]
    notes: tuple[str, ...] = ()  # about the whole table


WEIGHTS_K = Quantity(
    "params", "params", "K", 1024,
    "weights without biases, K = 1024: the 'linear' row's 1024·1000 = 1,024,000 weights print "
    "as 1000K and the 3×3 row's 114,688 as 112K exactly")
MADDS_M = Quantity("macs", "ops", "M", 10**6, "multiply-adds of convolutions and the FC layer, "
                   "no bias, M = 10^6")
FLOPS_G = Quantity("macs", "FLOPs", "×10^9", 10**9,
                   "multiply-adds ('FLOPs' in the paper) of all convolutions and the FC layer")


def _inception(key: str, params: float, ops: float, output: str,
               notes: Mapping[str, str] | None = None) -> PaperRow:
    return PaperRow(f"inception ({key})", "googlenet", (f"inception{key}",),
                    {"params": params, "macs": ops}, output, notes or {})


GOOGLENET = PaperTable(
    key="googlenet",
    title="GoogLeNet, Table 1",
    source="Szegedy et al. 2014, Going Deeper with Convolutions, Table 1 (params, ops per row)",
    quantities=(WEIGHTS_K, MADDS_M),
    rows=(
        PaperRow("convolution 7×7/2", "googlenet", ("conv1",), {"params": 2.7, "macs": 34},
                 "112×112×64", {
                     "params": "The layer is 64 filters of 7×7 over 3 channels: 7·7·3·64 = 9,408 "
                               "weights = 9.2K, 3.4× the printed 2.7K. The printed ops agree "
                               "with the printed params (2.7K · 112·112 positions ≈ 34M), so the "
                               "row was computed from some other layer; neither a grey input "
                               "(7·7·1·64 = 3,136 = 3.1K) nor K = 1000 nor biases give 2.7K.",
                     "macs": "9,408 weights × 112·112 output positions = 118.0M multiply-adds, "
                             "3.5× the printed 34M, which is the printed 2.7K params × 112·112 "
                             "(see params).",
                 }),
        PaperRow("convolution 3×3/1 (depth 2)", "googlenet", ("conv2", "conv3"),
                 {"params": 112, "macs": 360}, "56×56×192"),
        _inception("3a", 159, 128, "28×28×256"),
        _inception("3b", 380, 304, "28×28×480"),
        _inception("4a", 364, 73, "14×14×512"),
        _inception("4b", 437, 88, "14×14×512"),
        _inception("4c", 463, 100, "14×14×512", {
            "params": "The row contradicts itself: its 100M ops are 509,440 weights × 14·14 = "
                      "99.8M, the weights of the table's own widths (128·512 + 128·512 + "
                      "9·128·256 + 24·512 + 25·24·64 + 64·512 = 509,440 = 497.5K), while 463K "
                      "would give 463·1024·196 = 92.9M ops. No single width of 4c, changed, "
                      "gives both printed numbers: the params entry is a slip.",
        }),
        _inception("4d", 580, 119, "14×14×528"),
        _inception("4e", 840, 170, "14×14×832"),
        _inception("5a", 1072, 54, "7×7×832", {
            "params": "Both printed numbers are exactly those of a 5a that reads 928 input "
                      "channels instead of 4e's 832 (256+320+128+128): its four input-facing "
                      "1×1 convolutions have 256+160+32+128 = 576 filters, so 96 more channels "
                      "add 96·576 = 55,296 weights, 1,042,432 + 55,296 = 1,097,728 = 1072.0K. "
                      "The table's widths give 1,042,432 = 1018.0K; 928 is the only input "
                      "width, and no other single width, that gives 1072K.",
            "macs": "928 input channels (see params): 1,097,728 weights × 7·7 = 53.8M ≈ 54M; "
                    "the table's widths give 1,042,432 × 49 = 51.1M.",
        }),
        _inception("5b", 1388, 71, "7×7×1024"),
        PaperRow("linear", "googlenet", ("fc",), {"params": 1000, "macs": 1}, "1×1×1000", {
            "macs": "Rounding: 1024·1000 = 1,024,000 multiply-adds, printed in whole "
                    "millions as 1M.",
        }),
    ),
    notes=(
        "Computed: the zoo's `googlenet` (the paper's 5×5 branches, no auxiliary heads) at "
        "3×224×224; each row sums its layers. Pool, LRN, dropout and softmax rows print no "
        "params or ops.",
        "Whole network: 6,998,552 params (6,990,272 weights) and 1.583×10^9 multiply-adds; "
        "the paper's text says 'a computational budget of 1.5 billion multiply-adds'.",
    ),
)


def _resnet(depth: int, flops: float, note: str | None = None) -> PaperRow:
    return PaperRow(f"{depth}-layer", f"resnet{depth}", (), {"macs": flops}, None,
                    {"macs": note} if note else {})


RESNET = PaperTable(
    key="resnet",
    title="ResNet, Table 1 (FLOPs row)",
    source="He et al. 2015, Deep Residual Learning for Image Recognition, Table 1",
    quantities=(FLOPS_G,),
    rows=(
        _resnet(18, 1.8),
        _resnet(34, 3.6, "3.664×10^9 would round to 3.7: the paper's 3.6 is truncated "
                         "(−1.8%). Option A's parameter-free shortcuts would save only the "
                         "3 projections' 19.3M (3.644×10^9)."),
        _resnet(50, 3.8, "3.858×10^9 would round to 3.9: the paper's 3.8 is truncated "
                         "(−1.5%). torchvision's v1.5 (stride on the 3×3) costs 4.089×10^9, "
                         "+7.6% on the paper."),
        _resnet(101, 7.6),
        _resnet(152, 11.3),
    ),
    notes=(
        "Computed: the zoo's paper (v1) ResNets at 3×224×224 — stride on the bottleneck's "
        "first 1×1, projection shortcuts (option B), the FC layer included.",
    ),
)

TABLES: dict[str, PaperTable] = {t.key: t for t in (GOOGLENET, RESNET)}


def get_table(key: str) -> PaperTable:
    name = key.lower()
    if name in TABLES:
        return TABLES[name]
    raise UnknownModel(f"no paper table for {key!r}; choose {' or '.join(TABLES)}")


# --- computing a row ---------------------------------------------------------------------

def weights(layer: Layer) -> int:
    """A layer's parameters less its biases: what the GoogLeNet table counts."""
    if layer.kind in ("conv2d", "conv_transpose2d", "linear") and layer.attrs.get("bias"):
        width = layer.attrs.get("out_channels", layer.attrs.get("out_features", 0))
        return layer.cost.params - width
    return layer.cost.params


def row_layers(network: Network, prefixes: Sequence[str]) -> list[Layer]:
    if not prefixes:
        return list(network.layers)
    chosen = [layer for layer in network.layers
              if any(layer.name == p or layer.name.startswith(p + ".") for p in prefixes)]
    if not chosen:
        raise KeyError(f"{network.name} has no layers under {', '.join(prefixes)}")
    return chosen


def measure(layers: Sequence[Layer], quantity: str) -> int:
    if quantity == "params":
        return sum(weights(layer) for layer in layers)
    return sum(layer.cost.macs for layer in layers)


def format_output(shape: tuple[int, ...]) -> str:
    """(C, H, W) -> 'H×W×C', the papers' order; a vector is 1×1×N."""
    c, h, w = shape if len(shape) == 3 else (shape[-1], 1, 1)
    return f"{h}×{w}×{c}"


@dataclass(frozen=True)
class Cell:
    quantity: Quantity
    published: float
    computed: int  # exact count

    @property
    def value(self) -> float:
        """The computed count in the paper's unit."""
        return self.computed / self.quantity.scale

    @property
    def rel_diff(self) -> float:
        return self.value / self.published - 1

    def flagged(self, threshold: float = THRESHOLD) -> bool:
        return abs(self.rel_diff) > threshold


@dataclass(frozen=True)
class RowResult:
    row: PaperRow
    layers: tuple[str, ...]  # the module-path prefixes summed; () = the whole model
    cells: tuple[Cell, ...]
    output: str | None  # computed output size, paper's order

    def flagged(self, threshold: float = THRESHOLD) -> bool:
        return any(c.flagged(threshold) for c in self.cells)


@dataclass(frozen=True)
class Comparison:
    table: PaperTable
    rows: tuple[RowResult, ...]
    threshold: float = THRESHOLD

    def flagged(self) -> list[tuple[str, str]]:
        """(row label, quantity key) of every flagged cell."""
        return [(r.row.label, c.quantity.key) for r in self.rows for c in r.cells
                if c.flagged(self.threshold)]

    def to_dict(self) -> dict[str, Any]:
        t = self.table
        return {
            "schema": "netcost.paper/1",
            "paper": t.key,
            "title": t.title,
            "source": t.source,
            "threshold": self.threshold,
            "quantities": {q.key: {"label": q.label, "unit": q.unit, "scale": q.scale,
                                   "meaning": q.meaning} for q in t.quantities},
            "rows": [{
                "row": r.row.label,
                "model": r.row.model,
                "layers": list(r.layers) or "all",
                "output": {"published": r.row.output, "computed": r.output},
                **{c.quantity.key: {
                    "published": c.published,
                    "computed": c.computed,
                    "computed_in_unit": round(c.value, 4),
                    "rel_diff": round(c.rel_diff, 5),
                    "flagged": c.flagged(self.threshold),
                    "explanation": r.row.notes.get(c.quantity.key),
                } for c in r.cells},
            } for r in self.rows],
            "flagged": [{"row": row, "quantity": q} for row, q in self.flagged()],
            "notes": list(t.notes),
        }


def compare(key: str, *, threshold: float = THRESHOLD) -> Comparison:
    from . import build  # the registry; imported late as catalogue imports this package

    table = get_table(key)
    networks: dict[str, Network] = {}
    results = []
    for row in table.rows:
        if row.model not in networks:
            networks[row.model] = build(row.model)
        layers = row_layers(networks[row.model], row.layers)
        cells = tuple(Cell(q, float(row.published[q.key]), measure(layers, q.key))
                      for q in table.quantities if q.key in row.published)
        results.append(RowResult(row, row.layers, cells,
                                 format_output(layers[-1].output_shape)))
    return Comparison(table, tuple(results), threshold)


__all__ = ["TABLES", "THRESHOLD", "Cell", "Comparison", "PaperRow", "PaperTable", "Quantity",
           "RowResult", "compare", "get_table", "measure", "weights"]

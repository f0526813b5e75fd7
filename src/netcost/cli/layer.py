"""`netcost layer KIND ...`: the cost of one layer, as the lecture computes it.

One subcommand per layer family (fc, conv, pool, batchnorm, relu ...). Each turns its options
into the attributes of a registry kind, builds a one-layer Network and counts it exactly as
`netcost report` would; the formulas live in netcost.ops, never here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from ..errors import InvalidArgument

PRECISIONS = "fp64, fp32, tf32, fp16, bf16, fp8, int8, int4"
CONVENTIONS = "lecture, macs, flops, or a tool's: fvcore, ptflops, thop, flopcounter"

# other spellings a user may type -> the subcommand's name
ALIASES = {
    "linear": "fc", "dense": "fc", "conv2d": "conv", "convolution": "conv",
    "conv-transpose": "convtranspose", "conv_transpose2d": "convtranspose",
    "deconv": "convtranspose", "transposed-conv": "convtranspose",
    "maxpool": "pool", "avgpool": "pool", "pooling": "pool",
    "bn": "batchnorm", "batch-norm": "batchnorm", "batch_norm2d": "batchnorm",
    "layer-norm": "layernorm", "layer_norm": "layernorm", "ln": "layernorm",
    "local-response-norm": "lrn", "cat": "concat", "residual": "add",
}


class LayerGroup(click.Group):
    """Subcommands by family; accepts the registry's kind names and a few common aliases."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        key = name.lower()
        key = ALIASES.get(key, key)
        return super().get_command(ctx, key) or super().get_command(ctx, key.replace("_", "-"))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        cmd = self.get_command(ctx, args[0])
        if cmd is None and not args[0].startswith("-"):
            from ..units import nearest

            hint = nearest(args[0], [*self.list_commands(ctx), *ALIASES])
            more = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise InvalidArgument(
                f"unknown layer kind {args[0]!r}{more} (see `netcost layer --help`)"
            )
        return super().resolve_command(ctx, args)


@click.group(cls=LayerGroup)
def layer() -> None:
    """The cost of one layer: params, bytes, ops, MACs, backward work and the lecture's
    operational space, with --explain for the formulas.

    \b
    netcost layer fc --in 4096 --out 1000
    netcost layer conv --input 3x224x224 --kernel 5x5 --filters 6 --explain
    netcost layer pool --input 64x112x112 --kernel 3 --stride 2 --padding 1
    """


# --- shared options and the one code path every subcommand ends in ----------------------

def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--batch", default="1", show_default=True, metavar="B",
                     help="Batch size (the lecture's batch model for space)."),
        click.option("--precision", default="fp32", show_default=True,
                     help=f"Bits per stored number: {PRECISIONS}."),
        click.option("--convention", default="lecture", show_default=True,
                     help=f"How ops are counted: {CONVENTIONS}."),
        click.option("--no-input-grad", "no_input_grad", is_flag=True,
                     help="Backward without the input gradient (as for a network's first layer)."),
        click.option("--explain", is_flag=True,
                     help="Show each formula with its numbers substituted."),
        click.option("--format", "fmt", type=click.Choice(["table", "json"],
                     case_sensitive=False), default="table", show_default=True,
                     help="table, or json: the layer's record as in a report's \"layers\"."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def input_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--input", "input_shape", required=True, metavar="CxHxW",
                        help="Per-sample input shape, e.g. 64x56x56.")(func)


def _positive(flag: str, text: str) -> int:
    from ..ops._attrs import positive

    return positive(flag, text)


def run(kind: str, shapes: list[str], attrs: dict[str, Any], *, batch: str, precision: str,
        convention: str, no_input_grad: bool, explain: bool, fmt: str) -> None:
    from ..cost.conventions import check_convention
    from ..cost.counts import count
    from ..ir import parse_shape
    from ..ops.single import one_layer_network
    from ..units import check_precision

    precision, convention = check_precision(precision), check_convention(convention)
    b = _positive("--batch", batch)
    network = one_layer_network(kind, [parse_shape(s) for s in shapes], attrs)
    report = count(network, batch=b, precision=precision, convention=convention,
                   input_requires_grad=not no_input_grad)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict()["layers"][0], indent=2))
        return
    render(network, report, batch=b, precision=precision, convention=convention,
           input_grad=not no_input_grad, explain=explain)


# --- the subcommands ----------------------------------------------------------------------

@layer.command("fc")
@click.option("--in", "n_in", required=True, metavar="N",
              help="Input features n (or a shape such as 128x768: rows × features).")
@click.option("--out", "n_out", required=True, metavar="K", help="Output features k.")
@click.option("--no-bias", is_flag=True, help="Leave out the k biases.")
@common_options
def fc(n_in: str, n_out: str, no_bias: bool, **common: Any) -> None:
    """Fully connected (linear) layer: n inputs to k outputs."""
    run("linear", [n_in], {"out_features": _positive("--out", n_out), "bias": not no_bias},
        **common)


def _conv_attrs(kernel: str, filters: str | None, stride: str, padding: str, dilation: str,
                groups: str, no_bias: bool, input_shape: str) -> dict[str, Any]:
    from ..ir import parse_shape

    channels = parse_shape(input_shape)[0]
    if groups.lower() == "depthwise":
        g = channels
        k = channels if filters is None else _positive("--filters", filters)
    else:
        g = _positive("--groups", groups)
        if filters is None:
            raise InvalidArgument("--filters (the number of output channels) is required "
                                  "unless --groups depthwise")
        k = _positive("--filters", filters)
    pad: Any = padding.lower() if padding.lower() in ("same", "valid") else padding
    return {"out_channels": k, "kernel": kernel, "stride": stride, "padding": pad,
            "dilation": dilation, "groups": g, "bias": not no_bias}


def conv_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        input_option,
        click.option("--kernel", required=True, metavar="HxW", help="Kernel size, e.g. 3 or 5x5."),
        click.option("--filters", "--out", "filters", metavar="K",
                     help="Number of kernels k = output channels."),
        click.option("--stride", default="1", show_default=True, metavar="S|SxS"),
        click.option("--dilation", default="1", show_default=True, metavar="D|DxD"),
        click.option("--groups", default="1", show_default=True, metavar="G|depthwise",
                     help="Channel groups; 'depthwise' = one group per input channel."),
        click.option("--no-bias", is_flag=True, help="Leave out the k biases."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@layer.command("conv")
@conv_options
@click.option("--padding", default="0", show_default=True, metavar="P|PxP|same|valid",
              help="Zero padding per side, or 'same' (output = ⌈input/stride⌉).")
@common_options
def conv(input_shape: str, kernel: str, filters: str | None, stride: str, dilation: str,
         groups: str, no_bias: bool, padding: str, **common: Any) -> None:
    """2-D convolution: k kernels of c×h×w over a C×H×W input."""
    attrs = _conv_attrs(kernel, filters, stride, padding, dilation, groups, no_bias, input_shape)
    run("conv2d", [input_shape], attrs, **common)


@layer.command("convtranspose")
@conv_options
@click.option("--padding", default="0", show_default=True, metavar="P|PxP")
@click.option("--output-padding", default="0", show_default=True, metavar="P|PxP")
@common_options
def convtranspose(input_shape: str, kernel: str, filters: str | None, stride: str,
                  dilation: str, groups: str, no_bias: bool, padding: str, output_padding: str,
                  **common: Any) -> None:
    """Transposed 2-D convolution (upsampling by the stride)."""
    if padding.lower() in ("same", "valid"):
        raise InvalidArgument("transposed convolution takes a number for --padding, not "
                              f"{padding!r}")
    attrs = _conv_attrs(kernel, filters, stride, padding, dilation, groups, no_bias, input_shape)
    attrs["output_padding"] = output_padding
    run("conv_transpose2d", [input_shape], attrs, **common)


@layer.command("pool")
@input_option
@click.option("--type", "pool_type", type=click.Choice(["max", "avg"], case_sensitive=False),
              default="max", show_default=True)
@click.option("--kernel", metavar="HxW", help="Window size (fixed-window pooling).")
@click.option("--stride", metavar="S|SxS", help="Step between windows [default: the kernel].")
@click.option("--padding", default="0", show_default=True, metavar="P|PxP")
@click.option("--dilation", default="1", show_default=True, metavar="D|DxD", help="Max only.")
@click.option("--ceil-mode", is_flag=True, help="Round the output size up, as PyTorch.")
@click.option("--exclude-pad", is_flag=True, help="Avg only: divide by the real cells.")
@click.option("--output-size", metavar="HxW", help="Adaptive pooling to this output size.")
@click.option("--global", "global_", is_flag=True, help="Pool each channel to 1x1.")
@common_options
def pool(input_shape: str, pool_type: str, kernel: str | None, stride: str | None, padding: str,
         dilation: str, ceil_mode: bool, exclude_pad: bool, output_size: str | None,
         global_: bool, **common: Any) -> None:
    """Max or average pooling: fixed window (--kernel), adaptive (--output-size) or --global."""
    t = pool_type.lower()
    modes = [m for m, on in (("--kernel", kernel), ("--output-size", output_size),
                             ("--global", global_)) if on]
    if len(modes) != 1:
        raise InvalidArgument("give exactly one of --kernel, --output-size or --global"
                              + (f" (got {' and '.join(modes)})" if modes else ""))
    if global_ and t == "avg":
        run("global_avg_pool2d", [input_shape], {}, **common)
    elif global_ or output_size:
        run(f"adaptive_{t}_pool2d", [input_shape], {"output_size": output_size or 1}, **common)
    elif t == "max":
        run("max_pool2d", [input_shape], {"kernel": kernel, "stride": stride, "padding": padding,
                                          "dilation": dilation, "ceil_mode": ceil_mode}, **common)
    else:
        if dilation != "1":
            raise InvalidArgument("average pooling has no --dilation")
        run("avg_pool2d", [input_shape], {"kernel": kernel, "stride": stride,
                                          "padding": padding, "ceil_mode": ceil_mode,
                                          "count_include_pad": not exclude_pad}, **common)


@layer.command("batchnorm")
@input_option
@click.option("--no-affine", is_flag=True, help="No learnable γ and β.")
@click.option("--no-running-stats", is_flag=True, help="No running mean and variance buffers.")
@common_options
def batchnorm(input_shape: str, no_affine: bool, no_running_stats: bool, **common: Any) -> None:
    """Batch normalisation over the channels of a C×H×W input."""
    run("batch_norm2d", [input_shape],
        {"affine": not no_affine, "track_running_stats": not no_running_stats}, **common)


@layer.command("layernorm")
@input_option
@click.option("--no-affine", is_flag=True, help="No learnable γ and β.")
@common_options
def layernorm(input_shape: str, no_affine: bool, **common: Any) -> None:
    """Layer normalisation over the last dimension (e.g. --input 128x768)."""
    run("layer_norm", [input_shape], {"affine": not no_affine}, **common)


@layer.command("lrn")
@input_option
@click.option("--size", required=True, metavar="N", help="Neighbouring channels summed.")
@click.option("--alpha", default="1e-4", show_default=True)
@click.option("--beta", default="0.75", show_default=True)
@click.option("--k", "k", default="1.0", show_default=True)
@common_options
def lrn(input_shape: str, size: str, alpha: str, beta: str, k: str, **common: Any) -> None:
    """Local response normalisation (AlexNet, GoogLeNet)."""
    run("lrn", [input_shape], {"size": size, "alpha": alpha, "beta": beta, "k": k}, **common)


def _activation_command(kind: str, summary: str) -> None:
    extra: list[tuple[str, str, str]] = {
        "leaky_relu": [("--negative-slope", "negative_slope", "0.01")],
        "elu": [("--alpha", "alpha", "1.0")],
        "gelu": [("--approximate", "approximate", "none")],
    }.get(kind, [])

    def command(input_shape: str, **kwargs: Any) -> None:
        attrs = {attr: kwargs.pop(attr) for _, attr, _ in extra}
        run(kind, [input_shape], attrs, **kwargs)

    command.__doc__ = f"{summary[0].upper()}{summary[1:]}, elementwise."
    for flag, attr, default in extra:
        command = click.option(flag, attr, default=default, show_default=True)(command)
    layer.command(kind.replace("_", "-"))(common_options(input_option(command)))


def _register_activations() -> None:
    from ..ops.activation import ACTIVATIONS

    for kind, (summary, _) in ACTIVATIONS.items():
        _activation_command(kind, summary)


_register_activations()


@layer.command("softmax")
@input_option
@click.option("--dim", default="-1", show_default=True, help="Per-sample dimension.")
@common_options
def softmax(input_shape: str, dim: str, **common: Any) -> None:
    """Softmax along one dimension."""
    run("softmax", [input_shape], {"dim": dim}, **common)


@layer.command("dropout")
@input_option
@click.option("--p", "p", default="0.5", show_default=True, help="Drop probability.")
@common_options
def dropout(input_shape: str, p: str, **common: Any) -> None:
    """Dropout: identity at inference; training keeps a mask."""
    run("dropout", [input_shape], {"p": p}, **common)


@layer.command("flatten")
@input_option
@click.option("--start-dim", default="0", show_default=True)
@click.option("--end-dim", default="-1", show_default=True)
@common_options
def flatten(input_shape: str, start_dim: str, end_dim: str, **common: Any) -> None:
    """Flatten per-sample dimensions (C×H×W → C·H·W)."""
    run("flatten", [input_shape], {"start_dim": start_dim, "end_dim": end_dim}, **common)


def _multi_input(name: str, kind: str, doc: str, *, dim: bool) -> None:
    def command(input_shapes: tuple[str, ...], **kwargs: Any) -> None:
        attrs = {"dim": kwargs.pop("dim")} if dim else {}
        run(kind, list(input_shapes), attrs, **kwargs)

    command.__doc__ = doc
    command = common_options(command)
    if dim:
        command = click.option("--dim", default="0", show_default=True,
                               help="Per-sample dimension (0 = channels).")(command)
    command = click.option("--input", "input_shapes", multiple=True, required=True,
                           metavar="SHAPE", help="An input shape; repeat for each input.")(command)
    layer.command(name)(command)


_multi_input("add", "add", "Elementwise sum of 2+ equal shapes (residual).", dim=False)
_multi_input("mul", "mul", "Elementwise product of 2 broadcastable shapes (SE scaling).",
             dim=False)
_multi_input("concat", "concat", "Concatenation of 2+ shapes along --dim (channels).", dim=True)


# --- the table ------------------------------------------------------------------------------

def render(network: Any, report: Any, *, batch: int, precision: str, convention: str,
           input_grad: bool, explain: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..cost.conventions import forward_ops
    from ..cost.counts import lecture_space
    from ..ir import format_shape
    from ..ops import get_op
    from ..ops.explain import layer_derivations
    from ..units import iec, nbytes, si

    lay, row = network.layers[0], report.layers[0]
    one = report if batch == 1 else None
    if one is None:
        from ..cost.counts import count

        one = count(network, batch=1, precision=precision, convention=convention,
                    input_requires_grad=input_grad)
    r1 = one.layers[0]
    console = Console(highlight=False, soft_wrap=False)
    shapes = ", ".join(format_shape(s) for s in row.input_shapes)
    console.print(f"[bold]{lay.kind}[/]: {get_op(lay.kind).summary}")
    console.print(f"input {shapes} → output {format_shape(row.output_shape)}  "
                  f"(batch {batch}, {precision}, {convention} ops)")
    table = Table(show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("1 sample", justify="right")
    if batch > 1:
        table.add_column(f"batch of {batch}", justify="right")
    table.add_column("", justify="right", style="dim")

    def add(name: str, one_value: int, batch_value: int, human: Any) -> None:
        cells = [name, f"{one_value:,}"] + ([f"{batch_value:,}"] if batch > 1 else [])
        table.add_row(*cells, human(batch_value))

    c = lay.cost
    add("params", c.params, c.params, si)
    add(f"storage ({precision}, bytes)", row.param_bytes, row.param_bytes, iec)
    if c.buffers:
        add("buffers", c.buffers, c.buffers, si)
    add("MACs", r1.macs, row.macs, si)
    add(f"ops ({convention})", r1.ops, row.ops, si)
    for other in ("lecture", "macs", "flops"):  # the same layer under the other conventions
        if other != convention:
            ops = forward_ops(c, other)
            table.add_row(f"[dim]  under {other}[/]", f"[dim]{ops:,}[/]",
                          *([f"[dim]{batch * ops:,}[/]"] if batch > 1 else []),
                          si(batch * ops))
    add("backward MACs", r1.backward_macs, row.backward_macs, si)
    add(f"backward ops ({convention})", r1.backward_ops, row.backward_ops, si)
    add("activations (output numbers)", r1.activations, row.activations, si)
    add(f"activations ({precision}, bytes)", r1.activation_bytes, row.activation_bytes, iec)
    add("saved for backward (numbers)", c.saved_numel, batch * c.saved_numel, si)
    add("lecture space (numbers)", lecture_space(lay), row.lecture_space, si)
    add(f"lecture space ({precision}, bytes)", nbytes(lecture_space(lay), precision),
        nbytes(row.lecture_space, precision), iec)
    console.print(table)
    if batch > 1:
        console.print("[dim]lecture space for a batch: weights once; weight gradients, "
                      "inputs, outputs and their gradients per sample (the lecture's model)[/]")
    if explain:
        console.print("[bold]derivation[/] (one sample unless a line says batch)")
        for d in layer_derivations(lay, batch=batch, precision=precision,
                                   convention=convention, input_grad=input_grad):
            click.echo(f"  {d}")  # never wrapped: a derivation reads as one line

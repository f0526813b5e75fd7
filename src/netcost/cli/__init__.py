"""The `netcost` command. Thin: parse, call the API, render. Subcommands load lazily so
that `netcost report` never imports what `netcost measure` needs (torch)."""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import NetcostError

# name -> "module:attribute" of a click command, under netcost.cli
COMMANDS: dict[str, str] = {
    "layer": "layer:layer",
    "report": "report:report",
    "compare": "report:compare",
    "models": "report:models",
    "paper": "paper:paper",
    "devices": "devices:devices",
    "calibrate": "calibrate:calibrate",
    "plan": "plan:plan",
    "fit": "fit:fit",
    "measure": "measure:measure",
    "tools": "tools:tools",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="netcost")
def cli() -> None:
    """What a neural network costs: parameters, bytes, operations, memory and time."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors are one sentence on stderr and exit code 2."""
    try:
        cli.main(args=argv, prog_name="netcost", standalone_mode=False)
    except NetcostError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(0)

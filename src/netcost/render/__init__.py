"""Renderers: they read a Report (never the network) and return text.

Each format lives in its own module, imported only when asked for, so that printing a
table never imports what JSON or markdown need.
"""

from __future__ import annotations

import importlib

from ..errors import InvalidArgument
from ..report import Report

# format -> module under netcost.render with render(report) -> str
FORMATS: dict[str, str] = {"table": "table", "json": "json", "csv": "csv",
                           "markdown": "markdown"}


def check_format(fmt: str) -> str:
    key = fmt.lower()
    if key not in FORMATS:
        raise InvalidArgument(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return key


def render(report: Report, fmt: str = "table") -> str:
    module = importlib.import_module(f"{__name__}.{FORMATS[check_format(fmt)]}")
    return module.render(report)


__all__ = ["FORMATS", "check_format", "render"]

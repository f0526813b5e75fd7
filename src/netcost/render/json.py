"""The JSON report (schema netcost.report/1): Report.to_dict(), exact integers.

Laid out for both scripts and eyes: objects indented, and each element of a list of
objects (a layer) on one line. That layout also keeps to json's C encoder, which
`indent=` forgoes: the indented pure-Python encoder takes about 20 ms for ResNet-152.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _layout(value: Any, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, Mapping) and value:
        items = [f"{inner}{_compact(str(k))}: {_layout(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
        return "[\n" + ",\n".join(inner + _compact(v) for v in value) + "\n" + indent + "]"
    return _compact(value)


def dumps(data: Any) -> str:
    return _layout(data, "") + "\n"


def render(report: Any) -> str:
    return dumps(report.to_dict())

"""The JSON report (schema netcost.report/1): Report.to_dict(), exact integers."""

from __future__ import annotations

import json
from typing import Any

from ..report import Report


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(report: Report) -> str:
    return dumps(report.to_dict())

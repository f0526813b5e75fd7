"""Running the `netcost` command in-process, as its console entry point does, and in a
fresh interpreter to see which heavy modules a command imports."""

import json
import subprocess
import sys

import pytest

from netcost.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `netcost ARGS`."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


_FRESH = """
import json, sys
from netcost.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as e:
    code = e.code
print(json.dumps([code, [m for m in ("torch", "rich") if m in sys.modules]]), file=sys.stderr)
"""


def run_fresh(*args: str) -> tuple[int, str, set[str]]:
    """Exit code, stdout and the heavy modules (torch, rich) imported by `netcost ARGS` in a
    new interpreter: what a plain command must not pay for."""
    done = subprocess.run([sys.executable, "-c", _FRESH, *args], capture_output=True,
                          text=True, check=True)
    code, imported = json.loads(done.stderr.strip().splitlines()[-1])
    return code, done.stdout, set(imported)

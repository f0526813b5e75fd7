"""Running the `netcost` command in-process, as its console entry point does."""

import pytest

from netcost.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `netcost ARGS`."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err

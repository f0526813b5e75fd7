"""Shared test setup: no test reads or writes the user's real netcost cache or config
(a calibration profile there would otherwise add a time section to every report)."""

import os
import tempfile

import pytest

# Set at import, before any module- or session-scoped fixture builds a report.
_HOME = tempfile.mkdtemp(prefix="netcost-tests-")
os.environ["NETCOST_CACHE_DIR"] = os.path.join(_HOME, "cache")
os.environ["NETCOST_CONFIG_DIR"] = os.path.join(_HOME, "config")
os.environ.pop("NETCOST_DEVICES_FILE", None)


@pytest.fixture(autouse=True)
def _isolated_netcost_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("netcost-home")
    monkeypatch.setenv("NETCOST_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("NETCOST_CONFIG_DIR", str(base / "config"))
    monkeypatch.delenv("NETCOST_DEVICES_FILE", raising=False)

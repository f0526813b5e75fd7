"""Shared test setup: no test reads or writes the user's real netcost cache or config
(a calibration profile there would otherwise add a time section to every report)."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_netcost_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("netcost-home")
    monkeypatch.setenv("NETCOST_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("NETCOST_CONFIG_DIR", str(base / "config"))
    monkeypatch.delenv("NETCOST_DEVICES_FILE", raising=False)

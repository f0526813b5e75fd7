"""The device catalogue: devices.toml (shipped data) plus the user's own devices file(s),
validated into Device records; `local` is this machine's calibrated profile.

A user adds devices in `<user config dir>/netcost/devices.toml` (platformdirs) or in a file
given with --devices-file / NETCOST_DEVICES_FILE; the format is the shipped file's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, UnknownDevice
from ..units import PRECISION_BITS, nearest, parse_bytes

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SHIPPED = Path(__file__).with_name("devices.toml")
KINDS = ("gpu", "cpu", "soc")
FIELDS = ("name", "kind", "aliases", "memory", "bandwidth_gbs", "peak_tflops", "source",
          "sources", "note")
REQUIRED = ("name", "kind", "memory", "bandwidth_gbs", "peak_tflops")
LOCAL = "local"


class DeviceFileError(InvalidArgument):
    """A devices file that does not parse or has a missing or wrong field."""


@dataclass(frozen=True)
class Device:
    key: str  # what --device accepts, e.g. "a100-40gb"
    name: str  # the product, e.g. "NVIDIA A100 SXM4 40GB"
    kind: str  # gpu | cpu | soc | local
    memory_bytes: int
    bandwidth: float  # peak memory bandwidth, bytes/s
    peak_flops: Mapping[str, float]  # precision -> dense peak FLOP/s
    sources: Mapping[str, str] = field(default_factory=dict)  # figure -> where it comes from
    aliases: tuple[str, ...] = ()
    note: str = ""
    origin: str = "catalogue"  # the file it came from, or "calibrated"
    profile: Any = None  # hardware.calibrate.Profile for `local`

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s at a precision; one the device lists no figure for runs at fp32
        (e.g. bf16 on a GPU without bf16 units is emulated in fp32 arithmetic)."""
        return self.peak_flops.get(precision, self.peak_flops["fp32"])

    def source(self, figure: str) -> str:
        return self.sources.get(figure, self.sources.get("*", ""))


# --- parsing and validation ---------------------------------------------------------------


def _line_of(text: str, section: str, key: str | None = None) -> int | None:
    """1-based line of `key = ...` inside [section] (or of the section header)."""
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(
        r'"?' + re.escape(part) + r'"?' for part in section.split(".")) + r"\s*\]\s*$")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if header.match(line):
            if key is None:
                return i + 1
            for j in range(i + 1, len(lines)):
                if lines[j].lstrip().startswith("["):
                    break
                if re.match(r'^\s*"?' + re.escape(key) + r'"?\s*=', lines[j]):
                    return j + 1
            return i + 1
    return None


def _fail(path: str, text: str, key: str, fld: str | None, message: str) -> DeviceFileError:
    section = f"devices.{key}"
    sub = fld.split(".", 1) if fld and "." in fld else None
    line = (_line_of(text, f"{section}.{sub[0]}", sub[1]) if sub else None) or _line_of(
        text, section, fld)
    where = f"{path}, line {line}" if line else path
    what = f"[{section}] {fld}" if fld else f"[{section}]"
    return DeviceFileError(f"{where}: {what} {message}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _device(key: str, entry: Any, path: str, text: str) -> Device:
    def fail(fld: str | None, message: str) -> DeviceFileError:
        return _fail(path, text, key, fld, message)

    if not isinstance(entry, dict):
        raise fail(None, "must be a table of fields")
    for fld in entry:
        if fld not in FIELDS:
            hint = nearest(fld, list(FIELDS), n=1)
            raise fail(fld, "is not a device field" + (f"; did you mean {hint[0]!r}?" if hint
                                                        else f"; fields are {', '.join(FIELDS)}"))
    for fld in REQUIRED:
        if fld not in entry:
            raise fail(None, f"has no {fld!r} field")
    for fld in ("name", "source", "note"):
        if fld in entry and (not isinstance(entry[fld], str) or not entry[fld].strip()):
            raise fail(fld, "must be a non-empty string")
    if entry["kind"] not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}, got {entry['kind']!r}")
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise fail("aliases", "must be a list of names")
    try:
        memory = parse_bytes(str(entry["memory"]))
    except InvalidArgument:
        raise fail("memory", f"must be a size such as \"24 GiB\", got {entry['memory']!r}") from None
    if not _number(entry["bandwidth_gbs"]):
        raise fail("bandwidth_gbs", f"must be a positive number (GB/s), got {entry['bandwidth_gbs']!r}")
    peaks = entry["peak_tflops"]
    if not isinstance(peaks, dict) or "fp32" not in peaks:
        raise fail("peak_tflops", "must be a table with at least fp32 (TFLOP/s)")
    for prec, value in peaks.items():
        if prec not in PRECISION_BITS:
            raise fail(f"peak_tflops.{prec}",
                       f"is not a precision; use {', '.join(PRECISION_BITS)}")
        if not _number(value):
            raise fail(f"peak_tflops.{prec}", f"must be a positive number (TFLOP/s), got {value!r}")
    sources = entry.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) and v.strip()
                                                for v in sources.values()):
        raise fail("sources", "must be a table of figure = \"source\" strings")
    figures = ["memory", "bandwidth_gbs", *(f"peak_tflops.{p}" for p in peaks)]
    for fig in sources:
        if fig not in figures:
            raise fail(f"sources.{fig}", f"names no figure of this device; figures are {', '.join(figures)}")
    if "source" not in entry and any(f not in sources for f in figures):
        missing = next(f for f in figures if f not in sources)
        raise fail(None, f"gives no source for {missing}; add source = \"...\" (the datasheet)")
    all_sources = {"*": entry["source"]} if "source" in entry else {}
    all_sources.update(sources)
    return Device(
        key=key,
        name=entry["name"],
        kind=entry["kind"],
        memory_bytes=memory,
        bandwidth=float(entry["bandwidth_gbs"]) * 1e9,
        peak_flops={p: float(v) * 1e12 for p, v in peaks.items()},
        sources=all_sources,
        aliases=tuple(a.lower() for a in aliases),
        note=entry.get("note", ""),
        origin=path,
    )


def parse(text: str, path: str = "<devices>") -> dict[str, Device]:
    """Devices from the text of a devices file; DeviceFileError names the field and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeviceFileError(f"{path}: not valid TOML: {exc}") from None
    unknown = [k for k in data if k != "devices"]
    if unknown or not isinstance(data.get("devices"), dict):
        raise DeviceFileError(
            f"{path}: expected only [devices.<name>] tables"
            + (f", found {unknown[0]!r}" if unknown else ""))
    out: dict[str, Device] = {}
    for key, entry in data["devices"].items():
        norm = normalize(key)
        if norm != key or norm == LOCAL:
            raise _fail(path, text, key, None, "must be a lower-case name of letters, digits "
                        "and '-' other than 'local'" if norm != key else
                        "uses the reserved name 'local' (the calibrated machine)")
        out[key] = _device(key, entry, path, text)
    return out


def load_file(path: str | os.PathLike[str]) -> dict[str, Device]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeviceFileError(f"devices file {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviceFileError(f"cannot read devices file {str(p)!r}: {exc}") from None
    return parse(text, str(p))


def user_devices_file() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("netcost")) / "devices.toml"


def _files(devices_file: str | os.PathLike[str] | None) -> list[Path]:
    files = []
    user = Path(os.environ["NETCOST_CONFIG_DIR"]) / "devices.toml" \
        if os.environ.get("NETCOST_CONFIG_DIR") else user_devices_file()
    if user.is_file():
        files.append(user)
    env = os.environ.get("NETCOST_DEVICES_FILE")
    for extra in (env, devices_file):
        if extra:
            files.append(Path(extra))
    return files


def load(devices_file: str | os.PathLike[str] | None = None, *,
         include_local: bool = True) -> dict[str, Device]:
    """Shipped devices, then the user's file(s) (a user entry replaces a shipped one of the
    same name), then `local` if this machine has been calibrated."""
    devices = load_file(SHIPPED)
    for path in _files(devices_file):
        devices.update(load_file(path))
    if include_local:
        devices.update(local_devices())
    return devices


def local_devices() -> dict[str, Device]:
    """`local` and `local-<backend>` from this machine's calibration profile, if any."""
    from .profile import load_profile

    profile = load_profile()
    if profile is None:
        return {}
    out = {LOCAL: profile.device()}
    for backend in profile.backends:
        out[f"{LOCAL}-{backend}"] = profile.device(backend)
    return out


def normalize(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def _index(devices: Mapping[str, Device]) -> dict[str, str]:
    index = {}
    for key, dev in devices.items():
        for alias in dev.aliases:
            index.setdefault(alias, key)
    index.update({key: key for key in devices})  # a key beats another device's alias
    return index


def get_device(name: str | Device, *, devices_file: str | os.PathLike[str] | None = None) -> Device:
    """A device by name or alias ('a100', 'rtx-4090', 'local'); UnknownDevice names the
    nearest ones."""
    if isinstance(name, Device):
        return name
    if not isinstance(name, str) or not name.strip():
        raise UnknownDevice(f"device name must be a non-empty string, got {name!r}")
    key = normalize(name)
    if key == LOCAL or key.startswith(LOCAL + "-"):
        local = local_devices()
        if key in local:
            return local[key]
        what = "this machine is" if not local else f"{key!r} was not"
        raise UnknownDevice(f"device {key!r} is not available: {what} not calibrated; run "
                            "`netcost calibrate` or name a catalogue device (`netcost devices`)")
    devices = load(devices_file, include_local=False)
    index = _index(devices)
    if key in index:
        return devices[index[key]]
    squashed = {k.replace("-", ""): v for k, v in index.items()}
    if key.replace("-", "") in squashed:
        return devices[squashed[key.replace("-", "")]]
    hint = nearest(key, sorted(index))
    more = (f"; did you mean {', '.join(hint)}?" if hint
            else "; `netcost devices` lists the catalogue")
    raise UnknownDevice(f"unknown device {name!r}{more}")


__all__ = ["Device", "DeviceFileError", "get_device", "load", "load_file", "parse",
           "user_devices_file"]

"""The zoo's index: paper-faithful builders registered by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UnknownModel
from ..ir import Network, Shape, parse_shape
from ..units import nearest


@dataclass(frozen=True)
class ZooEntry:
    name: str
    build: Callable[[Shape], Network]  # per-sample input shape -> Network
    summary: str  # one line for `netcost models`
    input_shape: Shape  # the paper's input
    family: str
    torchvision: str | None = None  # the torchvision model of identical architecture, if any


_MODELS: dict[str, ZooEntry] = {}


def model(name: str, *, summary: str, family: str, input_shape: Shape = (3, 224, 224),
          torchvision: str | None = None) -> Callable[[Callable[[Shape], Network]],
                                                      Callable[[Shape], Network]]:
    def wrap(build: Callable[[Shape], Network]) -> Callable[[Shape], Network]:
        if name in _MODELS:
            raise RuntimeError(f"zoo model {name!r} registered twice")
        _MODELS[name] = ZooEntry(name, build, summary, input_shape, family, torchvision)
        return build

    return wrap


def _load() -> None:
    # Always (a cached import after the first): a family module imported on its own has
    # registered only its own models.
    from . import catalogue  # noqa: F401  (imports every family, which registers)


def entries() -> dict[str, ZooEntry]:
    _load()
    return dict(_MODELS)


def get(name: str) -> ZooEntry:
    _load()
    key = name.lower()
    if key in _MODELS:
        return _MODELS[key]
    hint = nearest(key, list(_MODELS))
    more = f"; did you mean {', '.join(hint)}?" if hint else "; `netcost models` lists the zoo"
    raise UnknownModel(f"unknown model {name!r}{more}")


def build(name: str, input_shape: Shape | str | None = None) -> Network:
    entry = get(name)
    shape = entry.input_shape if input_shape is None else parse_shape(input_shape)
    return entry.build(shape)

"""Layer kinds and their formulas. `get_op(kind)` returns the spec of a kind."""

from .registry import Derivation, OpSpec, Saved, all_ops, get_op, register

__all__ = ["Derivation", "OpSpec", "Saved", "all_ops", "get_op", "register"]

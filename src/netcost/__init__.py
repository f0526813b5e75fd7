"""netcost: what a neural network costs before you pay for it."""

from .api import analyze, load
from .errors import NetcostError
from .ir import Layer, LayerCost, Network, NetworkBuilder
from .report import Report

__version__ = "0.1.0"
__all__ = ["Layer", "LayerCost", "NetcostError", "Network", "NetworkBuilder", "Report",
           "analyze", "load"]

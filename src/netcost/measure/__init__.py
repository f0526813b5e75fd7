"""Real PyTorch runs that check the analytic models (extra: torch, imported lazily).

`measure.memory` measures peak memory of training steps and inference; `measure.timing`
(when present) times them.
"""

"""The weigher interface and upstream's normalisation.

Each weigher gives every surviving host a raw weight (pure function of the
host snapshot and the request spec).  As nova's ``weights.normalize``, the
raw weights of one weigher are scaled to 0..1 over the hosts being weighed
(all equal -> all 0), multiplied by the weigher's multiplier and summed over
the weighers; the highest total wins.

Fast path (optional): :meth:`BaseWeigher.values` gives the raw weights of
rows ``idx`` of a columnar view (scheduler/columns.py) as a numpy array, or
``NotImplemented`` (the default: ``weigh`` is called per host).  It must
equal ``weigh`` exactly; :func:`normalize_array` is :func:`normalize` over
an array, with the same float operations.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from stratus.scheduler.host_state import HostState
from stratus.scheduler.request import RequestSpec


def normalize(weights: Sequence[float], minval: float | None = None,
              maxval: float | None = None) -> list[float]:
    if not weights:
        return []
    hi = float(max(weights) if maxval is None else maxval)
    lo = float(min(weights) if minval is None else minval)
    if hi == lo:
        return [0.0] * len(weights)
    span = hi - lo
    return [(w - lo) / span for w in weights]


def normalize_array(weights: np.ndarray, minval: float | None = None,
                    maxval: float | None = None) -> np.ndarray:
    if not len(weights):
        return np.zeros(0)
    hi = float(weights.max() if maxval is None else maxval)
    lo = float(weights.min() if minval is None else minval)
    if hi == lo:
        return np.zeros(len(weights))
    return (weights.astype(np.float64) - lo) / (hi - lo)


class BaseWeigher:
    """Subclasses set ``name`` and implement :meth:`weigh` and :meth:`multiplier`.
    ``minval``/``maxval`` fix the normalisation range when set."""
    name = "BaseWeigher"
    minval: float | None = None
    maxval: float | None = None

    def __init__(self, conf: Any = None):
        self.conf = conf

    def multiplier(self) -> float:
        return 1.0

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        raise NotImplementedError

    def values(self, cols: Any, idx: np.ndarray, spec: RequestSpec) -> Any:
        """Raw weights of rows ``idx`` of ``cols`` (see the module docstring)."""
        return NotImplemented

    def weigh_all(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[float]:
        """Normalised weights (not yet multiplied), in the order of ``hosts``."""
        return normalize([self.weigh(h, spec) for h in hosts], self.minval, self.maxval)


def conf_value(conf: Any, group: str, name: str, default: float) -> float:
    try:
        return float(getattr(getattr(conf, group), name))
    except AttributeError:
        return default

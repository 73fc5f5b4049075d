"""Scheduler drivers: which pipeline decides, selected by ``[scheduler] driver``.

``filter_scheduler`` (the default) is :class:`~stratus.scheduler.pipeline.Pipeline`
as configured in ``[filter_scheduler]``: the enabled filters, then the
weighers, then a random pick among the ``host_subset_size`` best.

``chance`` is nova's old ``ChanceScheduler`` made safe: a host picked
uniformly at random among those that pass a fixed set of checks, whatever
``enabled_filters`` says::

    RetryFilter, ComputeFilter, AvailabilityZoneFilter,
    RamFilter, CoreFilter, DiskFilter, [EcuFilter, BandwidthFilter],
    ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter

The resource checks keep it from trying hosts whose claim would fail anyway
(the claim stays the atomic guard); ECU and bandwidth checks are used when
those filters exist in this build; hard server-group policies are
constraints, not preferences, so they hold under every driver.  No weigher
runs: every survivor weighs 0 and the claim order is a fresh shuffle.

Nova's names are accepted: ``chance_scheduler``, ``filter_scheduler``,
``nova.scheduler.chance.ChanceScheduler``,
``nova.scheduler.filter_scheduler.FilterScheduler``; ``[DEFAULT]
scheduler_driver`` is read (deprecated) while ``[scheduler] driver`` is left
at its default.
"""
from __future__ import annotations

import random
from typing import Any

from stratus.common.config import ConfigError
from stratus.scheduler import filters as filters_mod
from stratus.scheduler.pipeline import Pipeline, Result

FILTER_SCHEDULER = "filter_scheduler"
CHANCE = "chance"
DEFAULT_DRIVER = FILTER_SCHEDULER
_ALIASES = {
    "filter_scheduler": FILTER_SCHEDULER, "filterscheduler": FILTER_SCHEDULER,
    "chance": CHANCE, "chance_scheduler": CHANCE, "chancescheduler": CHANCE,
}
CHANCE_FILTERS = ("RetryFilter", "ComputeFilter", "AvailabilityZoneFilter", "RamFilter",
                  "CoreFilter", "DiskFilter", "EcuFilter", "BandwidthFilter",
                  "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter")


def _opt(conf: Any, group: str, name: str, default: Any) -> Any:
    try:
        return getattr(getattr(conf, group), name)
    except AttributeError:
        return default


def driver_name(conf: Any) -> str:
    """The configured driver's canonical name; ConfigError for an unknown one."""
    raw = str(_opt(conf, "scheduler", "driver", DEFAULT_DRIVER) or DEFAULT_DRIVER)
    legacy = str(_opt(conf, "DEFAULT", "scheduler_driver", "") or "")
    option = "[scheduler] driver"
    if legacy and raw == DEFAULT_DRIVER:
        raw, option = legacy, "[DEFAULT] scheduler_driver"
    short = raw.strip().rsplit(".", 1)[-1].lower()
    name = _ALIASES.get(short)
    if name is None:
        raise ConfigError(f"{option}: unknown scheduler driver {raw!r} "
                          f"(known: {FILTER_SCHEDULER}, {CHANCE})")
    return name


class ChancePipeline(Pipeline):
    """The fixed checks of the ``chance`` driver, no weighers, random order."""
    driver = CHANCE

    @classmethod
    def from_conf(cls, conf: Any, rng: random.Random | None = None) -> "ChancePipeline":
        names = [n for n in CHANCE_FILTERS if n in filters_mod.FILTERS]
        return cls(filters_mod.load(names, conf), [], 1, rng)

    def candidates(self, result: Result) -> list:
        """Every survivor, in a uniformly random order (the first is the pick,
        the rest are alternates for lost claim races)."""
        hosts = list(result.hosts)
        self.rng.shuffle(hosts)
        return hosts


def load(conf: Any, rng: random.Random | None = None) -> Pipeline:
    """The pipeline of the configured driver; its ``driver`` attribute names it."""
    if driver_name(conf) == CHANCE:
        return ChancePipeline.from_conf(conf, rng)
    pipe = Pipeline.from_conf(conf, rng)
    pipe.driver = FILTER_SCHEDULER
    return pipe

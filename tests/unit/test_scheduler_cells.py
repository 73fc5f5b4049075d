"""Two-level placement (scheduler/cells.py): rank cells, run the pipeline in
the best one, fall back to the next, one fault covering every cell."""
from __future__ import annotations

import random

from scheduler_factories import group, host, spec
from stratus.common.config import Config
from stratus.scheduler import cells, drivers
from stratus.scheduler.pipeline import Pipeline


def conf(**sched):
    return Config(overrides={"scheduler": sched}) if sched else Config()


def pipe(c=None) -> Pipeline:
    return drivers.load(c or conf(), random.Random(1))


def two_cells():
    """cell1: two small hosts, one full; cell2: three roomy hosts."""
    return [host(id=1, host="a1", cell="cell1", memory_mb=4096),
            host(id=2, host="a2", cell="cell1", memory_mb=4096, memory_mb_used=4000),
            host(id=3, host="b1", cell="cell2"),
            host(id=4, host="b2", cell="cell2", memory_mb_used=2048),
            host(id=5, host="b3", cell="cell2", disabled=True)]


def test_cells_rank_by_fitting_hosts_then_free_ram_then_name():
    hosts = two_cells() + [host(id=6, host="c1", cell="cell3", memory_mb=16384)]
    ranks = cells.rank(hosts, spec(memory_mb=1024))
    # cell3 and cell1 both have one fitting host: cell3 has more free RAM.
    assert [(r.name, r.fitting_hosts) for r in ranks] == [("cell2", 2), ("cell3", 1),
                                                           ("cell1", 1)]
    assert ranks[0].free_ram_mb == 8192 + 6144          # b3 is disabled: not counted
    # Same number of fitting hosts: more free RAM first; then the name.
    tie = [host(id=1, host="x", cell="z"), host(id=2, host="y", cell="y")]
    assert [r.name for r in cells.rank(tie, spec())] == ["y", "z"]


def test_one_cell_is_exactly_the_pipeline_over_all_hosts():
    hosts = [host(id=k, host=f"h{k}", memory_mb=2048 * k) for k in range(1, 4)]
    for s in (spec(memory_mb=1024), spec(memory_mb=100000)):
        plain = pipe().run(hosts, s)
        d = cells.decide(pipe(), hosts, s, conf())
        assert [(h.host, w) for h, w in d.weighed] == [(h.host, w) for h, w in plain.weighed]
        assert d.details() == plain.details()
        if not plain.weighed:
            assert d.fault_message() == plain.fault_message() == (
                "No valid host was found. RamFilter removed the last 3 host(s) "
                "(needs 100000 MB RAM)")
        assert d.as_dict()["cells"][0]["name"] == "cell1"


def test_the_best_cell_is_used_and_only_its_hosts_are_candidates():
    d = cells.decide(pipe(), two_cells(), spec(memory_mb=1024), conf())
    assert d.chosen == "cell2"
    assert [h.host for h in d.hosts] == ["b1", "b2"]
    assert [name for name, _ in d.tried] == ["cell2"]     # cell1 never needed
    assert all(step.hosts_in[0].cell == "cell2" for step in d.tried[0][1].steps)


def test_falls_back_to_the_next_cell_when_no_host_of_the_best_one_passes():
    # The anti-affinity group already holds both roomy hosts of cell2.
    s = spec(memory_mb=1024, group_uuid="g-1", group=group("anti-affinity", {"b1": 1, "b2": 1}))
    d = cells.decide(pipe(), two_cells(), s, conf())
    assert [name for name, _ in d.tried] == ["cell2", "cell1"]
    assert d.chosen == "cell1" and [h.host for h in d.hosts] == ["a1"]
    doc = d.as_dict()
    assert [(c["name"], c["outcome"]) for c in doc["cells"]] == [
        ("cell2", "no valid host"), ("cell1", "chosen")]
    assert "ServerGroupAntiAffinityFilter" in doc["cells"][0]["reason"]
    assert doc["cell"] == "cell1" and [w["host"] for w in doc["weights"]] == ["a1"]


def test_no_valid_host_fault_covers_every_cell():
    d = cells.decide(pipe(), two_cells(), spec(memory_mb=50000), conf())
    assert d.weighed == () and d.hosts == [] and d.chosen is None
    msg = d.fault_message()
    assert msg.startswith("No valid host was found. No cell has a fitting host (2 cells tried): ")
    assert "cell2: RamFilter removed the last 2 host(s)" in msg
    assert "cell1: RamFilter removed the last 2 host(s)" in msg
    assert len(msg) <= 255
    details = d.details()
    assert details.startswith("cells in order: cell1 (0/2 hosts fit, 0 MB free), "
                              "cell2 (0/3 hosts fit")      # a tie: by name
    assert "[cell1] RamFilter: 2 -> 0" in details and "[cell2] ComputeFilter: 3 -> 2" in details
    doc = d.as_dict()
    assert doc["cell"] is None and doc["weights"] == [] and doc["reason"].startswith("No cell")
    assert [c["outcome"] for c in doc["cells"]] == ["no valid host", "no valid host"]


def test_the_cell_is_handed_to_the_filters():
    seen = []

    class Spy(Pipeline):
        def run(self, hosts, s):
            seen.append(s.cell)
            return super().run(hosts, s)

    p = Spy([], [])
    cells.decide(p, two_cells(), spec(), conf())
    assert seen == ["cell2"]
    seen.clear()
    cells.decide(p, two_cells()[:2], spec(), conf())       # one cell: the spec unchanged
    assert seen == [None]


def test_pinned_cells_are_the_only_ones_in_their_order():
    c = conf(cells=["cell1"])
    d = cells.decide(pipe(c), two_cells(), spec(memory_mb=1024), c)
    assert d.chosen == "cell1" and [h.host for h in d.hosts] == ["a1"]
    assert [r.name for r in d.ranks] == ["cell1"]
    # A pinned cell that fills up does not spill into an unpinned one.
    d = cells.decide(pipe(c), two_cells(), spec(memory_mb=5000), c)
    assert d.chosen is None and [n for n, _ in d.tried] == ["cell1"]
    # Pinned order wins over the ranking; a pinned cell without hosts is skipped.
    c = conf(cells=["nowhere", "cell1", "cell2"])
    d = cells.decide(pipe(c), two_cells(), spec(memory_mb=1024), c)
    assert d.chosen == "cell1"
    assert [(x["name"], x["outcome"]) for x in d.as_dict()["cells"]][0] == ("nowhere",
                                                                            "no hosts")
    c = conf(cells=["nowhere"])
    d = cells.decide(pipe(c), two_cells(), spec(), c)
    assert d.fault_message() == ("No valid host was found. No compute host in the pinned "
                                 "cell(s) nowhere.")


def test_cell_placement_off_is_one_pool_without_a_cell_stage():
    c = conf(cell_placement=False)
    d = cells.decide(pipe(c), two_cells(), spec(memory_mb=1024), c)
    assert [h.host for h in d.hosts] == ["b1", "b2", "a1"]   # by free RAM across cells
    doc = d.as_dict()
    assert doc["cells"] == [] and doc["cell"] is None and doc["reason"] is None


def test_explain_measures_a_single_cell_but_scheduling_does_not():
    hosts = [host(id=1, host="h1"), host(id=2, host="h2", memory_mb_used=8192)]
    quiet = cells.decide(pipe(), hosts, spec(), conf())
    assert quiet.ranks[0].fitting_hosts is None
    loud = cells.decide(pipe(), hosts, spec(), conf(), explain=True)
    [cell] = loud.as_dict()["cells"]
    assert (cell["hosts"], cell["fitting_hosts"], cell["free_ram_mb"]) == (2, 1, 8192)
    assert cell["outcome"] == "chosen" and cell["filters"]


def test_no_hosts_at_all():
    d = cells.decide(pipe(), [], spec(), conf())
    assert d.fault_message() == "No valid host was found. There are no compute hosts."
    assert d.as_dict()["cells"] == []


def test_explain_uses_the_recording_path_of_the_pipeline():
    calls = []

    class Fast(Pipeline):
        def run(self, hosts, s):
            calls.append("run")
            return super().run(hosts, s)

        def run_slow(self, hosts, s):
            calls.append("run_slow")
            return Pipeline.run(self, hosts, s) if not hasattr(Pipeline, "run_slow") \
                else super().run_slow(hosts, s)

    hosts = [host(id=1, host="h1")]
    cells.decide(Fast([], []), hosts, spec(), conf())
    assert calls[0] == "run"                       # scheduling: the fast path
    for hs in (hosts, two_cells()):
        calls.clear()
        cells.decide(Fast([], []), hs, spec(), conf(), explain=True)
        assert calls and "run" not in calls        # explain: only the recording path


def test_the_agent_reports_its_cell_when_it_registers():
    from stratus.agent.service import host_config
    assert host_config(Config())["cell"] == "cell1"
    assert host_config(Config(overrides={"compute": {"cell": "rack-7"}}))["cell"] == "rack-7"


def test_ranking_over_numpy_columns_matches_the_per_host_checks():
    columns = __import__("pytest").importorskip("stratus.scheduler.columns")
    rng = random.Random(7)
    hosts = [host(id=k, host=f"h{k}", cell=f"cell{rng.randrange(4)}",
                  vcpus=rng.choice([2, 4, 8]), vcpus_used=rng.randrange(0, 6),
                  memory_mb=rng.choice([2048, 4096, 8192]), memory_mb_used=rng.randrange(0, 6000),
                  local_gb=rng.choice([20, 100]), local_gb_used=rng.randrange(0, 40),
                  disabled=rng.random() < 0.1,
                  aggregates=[("a", {"availability_zone": "az1"})] if k % 5 == 0 else ())
             for k in range(300)]
    for s in (spec(), spec(vcpus=2, memory_mb=2048, disk_gb=10),
              spec(availability_zone="az1"), spec(memory_mb=10 ** 6)):
        plain = cells.rank(hosts, s)
        fast = cells.rank(columns.HostList.of(hosts), s)
        assert [(r.name, r.fitting_hosts, r.free_ram_mb) for r in fast] == \
            [(r.name, r.fitting_hosts, r.free_ram_mb) for r in plain]
        assert sum(r.fitting_hosts for r in plain) == sum(cells.fits(h, s) for h in hosts)

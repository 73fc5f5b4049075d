"""``stratus scheduler explain``: hint parsing and the text rendering (pure parts)."""
from __future__ import annotations

import pytest

from stratus.cmd.scheduler import parse_hints, render, table


def test_hints_repeat_into_lists_and_keep_values_verbatim():
    assert parse_hints([]) == {}
    assert parse_hints(["group=g1", "different_host=a", "different_host=b",
                        'query=[">=","$free_ram_mb",1024]']) == {
        "group": "g1", "different_host": ["a", "b"], "query": '[">=","$free_ram_mb",1024]'}
    for bad in ("novalue", "=x"):
        with pytest.raises(ValueError, match="KEY=VALUE"):
            parse_hints([bad])


def test_table_pads_columns_and_wraps_multi_line_cells():
    out = table(["a", "bb"], [["xyz", "1\n22"]]).splitlines()
    assert out == ["+-----+----+", "| a   | bb |", "+-----+----+",
                   "| xyz | 1  |", "|     | 22 |", "+-----+----+"]


def doc(**kw):
    base = {"driver": "filter_scheduler", "hosts_considered": 3,
            "request": {"flavor": {"id": "1", "name": "m1.tiny"}, "vcpus": 1,
                        "memory_mb": 256, "disk_gb": 1, "scheduler_hints": {}},
            "cells": [], "cell": None, "filters": [], "weights": [], "reason": None}
    base.update(kw)
    return base


def test_render_a_placement():
    text = render(doc(
        cell="cell1",
        cells=[{"rank": 1, "name": "cell1", "hosts": 3, "fitting_hosts": 2, "free_ram_mb": 9,
                "outcome": "chosen", "reason": None, "filters": []}],
        filters=[{"name": "RamFilter", "hosts_in": 3, "survivors": ["a", "b"],
                  "removed": [f"h{k}" for k in range(10)], "reason": "needs 256 MB RAM"}],
        weights=[{"host": "a", "weight": 1.0}, {"host": "b", "weight": 0.25}]))
    assert "Driver: filter_scheduler    hosts considered: 3" in text
    assert "m1.tiny (1 vCPU, 256 MB RAM, 1 GB disk)" in text
    assert "| 1    | cell1 | 3     | 2       | 9           | chosen  |" in text
    assert "h0, h1, h2, h3, h4, h5, h6, h7 (+2 more)" in text
    assert "(needs 256 MB RAM)" in text
    assert "| b    | 0.2500 |" in text
    assert text.endswith("Would place on a (cell cell1).")


def test_render_nothing_fits_shows_every_cell_tried():
    f = [{"name": "RamFilter", "hosts_in": 1, "survivors": [], "removed": ["x"],
          "reason": "needs 256 MB RAM"}]
    cells = [{"rank": k, "name": f"c{k}", "hosts": 1, "fitting_hosts": 0, "free_ram_mb": 0,
              "outcome": "no valid host", "reason": "RamFilter removed the last 1 host(s)",
              "filters": f} for k in (1, 2)]
    text = render(doc(cells=cells, filters=f, reason="No cell has a fitting host"))
    assert "Filters (cell c1):" in text and "Filters (cell c2):" in text
    assert "no valid host: RamFilter removed the last 1 host(s)" in text
    assert text.endswith("No valid host was found. No cell has a fitting host")


def test_render_chance_does_not_claim_a_best_host():
    text = render(doc(driver="chance", weights=[{"host": "a", "weight": 0.0},
                                                {"host": "b", "weight": 0.0}]))
    assert text.endswith("Would place on one of these 2 hosts at random.")

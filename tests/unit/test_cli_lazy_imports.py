"""``stratus`` starts light: building its parser (``--help``, ``--version``,
``transfer --help``) imports none of openstacksdk, keystoneauth, SQLAlchemy,
numpy, uvicorn or the API stack; each command imports what it needs when it
runs.  Checked on sys.modules of a fresh interpreter (behaviour, not time)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stratus.cmd import cli

HEAVY = ("openstack", "keystoneauth1", "sqlalchemy", "alembic", "numpy", "uvicorn",
         "starlette", "httpx", "psycopg", "stratus.api", "stratus.db", "stratus.transfer")

PROBE = """
import contextlib, io, json, sys
from stratus.cmd import cli
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    try:
        rc = cli.main(json.loads(sys.argv[1]))
    except SystemExit as exc:
        rc = exc.code
heavy = json.loads(sys.argv[2])
print(json.dumps({"rc": rc, "out": out.getvalue(), "modules": sorted(
    m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))}))
"""


TREE = Path(cli.__file__).resolve().parents[2]      # the stratus tree under test


def probe(argv: list[str]) -> dict:
    cp = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
                        capture_output=True, text=True, timeout=60, cwd=TREE)
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["transfer", "--help"],
                                  ["transfer", "put", "--help"], ["up", "--help"],
                                  ["db", "--help"], ["scheduler", "explain", "--help"]])
def test_parser_and_help_import_nothing_heavy(argv):
    res = probe(argv)
    assert res["rc"] == 0, res["out"]
    assert res["modules"] == [], f"stratus {' '.join(argv)} imported {res['modules']}"


def test_top_level_help_lists_every_subcommand():
    res = probe(["--help"])
    for name in ("up", "api", "agent", "db", "config", "identity", "image", "scheduler",
                 "transfer", "lab"):
        assert f"    {name} " in res["out"] or f"    {name}\n" in res["out"], name
    assert "--version" in res["out"] and "--config" in res["out"]


def test_version_prints_the_installed_version():
    from importlib.metadata import version
    res = probe(["--version"])
    assert res["out"].strip() == f"stratus {version('stratus')}"


def test_transfer_help_keeps_its_arguments():
    out = probe(["transfer", "put", "--help"])["out"]
    for opt in ("--transfer-id", "--rate-limit", "--mtu", "--progress", "--os-cloud",
                "--os-region-name", "--os-interface", "--endpoint", "CONTAINER/OBJECT"):
        assert opt in out, opt


def test_a_command_imports_what_it_needs_on_call(tmp_path):
    """``db version`` on an empty SQLite state dir: its handler pulls in the
    database layer itself (and the answer is right)."""
    res = probe(["db", "version", "--state-dir", str(tmp_path)])
    assert res["rc"] == 0 and res["out"].strip() == "empty", res["out"]
    assert "sqlalchemy" in res["modules"] and "stratus.db" in res["modules"]


def test_identity_setup_keys_runs_with_its_lazy_import(tmp_path, capsys):
    assert cli.main(["identity", "setup-keys", "--state-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("created ")
    assert cli.main(["identity", "setup-keys", "--state-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("already present ")


def test_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err

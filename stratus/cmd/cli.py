"""``stratus``: the one command.  Sub-commands live in one module each."""
from __future__ import annotations

import argparse
import importlib
import sys

from stratus.common.config import ConfigError

# The sub-command modules, in the order ``stratus --help`` lists them.  Each has
# ``register(sub)`` (its arguments) and handlers that import what they need on
# call: importing one of these modules must stay cheap (no openstacksdk,
# SQLAlchemy, numpy, uvicorn or API stack at module level), since every
# invocation imports them all to build the parser.
# tests/unit/test_cli_lazy_imports.py holds them to that.
COMMANDS = ("up", "api", "agent", "db", "config_cmd", "identity", "image", "scheduler",
            "transfer", "lab")


class _Version(argparse.Action):
    """``--version``: looks the installed version up only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="print the version of Stratus and exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version
        try:
            text = version("stratus")
        except PackageNotFoundError:   # run from a source tree that is not installed
            text = "unknown"
        parser.exit(message=f"stratus {text}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stratus", description=__doc__)
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--config", help="path of stratus.conf (default: "
                        "$STRATUS_CONFIG, else <state-dir>/stratus.conf if present)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"stratus.cmd.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ConfigError as exc:
        print(f"stratus: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

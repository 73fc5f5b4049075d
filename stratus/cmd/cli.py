"""``stratus``: the one command.  Sub-commands live in one module each."""
from __future__ import annotations

import argparse
import sys

from stratus.common.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    from stratus.cmd import agent, api, config_cmd, db, identity, image, lab, scheduler, up
    from stratus.cmd import transfer
    parser = argparse.ArgumentParser(prog="stratus", description=__doc__)
    parser.add_argument("--config", help="path of stratus.conf (default: "
                        "$STRATUS_CONFIG, else <state-dir>/stratus.conf if present)")
    sub = parser.add_subparsers(dest="command", required=True)
    for mod in (up, api, agent, db, config_cmd, identity, image, scheduler, transfer, lab):
        mod.register(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except ConfigError as exc:
        print(f"stratus: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

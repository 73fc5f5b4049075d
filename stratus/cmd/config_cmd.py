"""``stratus config sample``: print a commented sample stratus.conf."""
from __future__ import annotations

from stratus.common import config


def register(sub) -> None:
    p = sub.add_parser("config", help="configuration helpers")
    csub = p.add_subparsers(dest="config_command", required=True)
    csub.add_parser("sample", help="print a commented sample stratus.conf").set_defaults(
        func=lambda args: print(config.sample(), end="") or 0)
    csub.add_parser("policy", help="print the default policy as a Markdown table").set_defaults(
        func=_policy)


def _policy(args) -> int:
    from stratus.api.identity.policies import (IDENTITY_POLICY_DEFAULTS,
                                               IDENTITY_POLICY_DESCRIPTIONS)
    from stratus.common.policy import render_table
    print(render_table(IDENTITY_POLICY_DEFAULTS, IDENTITY_POLICY_DESCRIPTIONS))
    return 0

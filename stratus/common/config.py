"""Configuration: one INI file (``stratus.conf``) with OpenStack option names.

Every option is registered here with a type, a default and a help text, so
``stratus config sample`` can print a commented sample and a typo in the file
is reported instead of silently ignored.  Options are read as
``conf.<group>.<name>`` (``conf.DEFAULT.osapi_max_limit``, ``conf.token.expiration``).
"""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from typing import Any, Callable


class ConfigError(Exception):
    """A configuration file or value is invalid; the message names the option."""


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


TYPES: dict[str, Callable[[str], Any]] = {
    "str": str, "int": int, "float": float, "bool": _bool, "list": _list,
}


@dataclass(frozen=True)
class Opt:
    name: str
    type: str
    default: Any
    help: str
    deprecated_names: tuple[str, ...] = ()


OPTIONS: dict[str, list[Opt]] = {
    "DEFAULT": [
        Opt("state_path", "str", ".stratus",
            "Directory holding the SQLite database, Fernet keys, clouds.yaml and logs."),
        Opt("debug", "bool", False, "Log at DEBUG level."),
        Opt("log_file", "str", "", "Log to this file instead of standard error."),
        Opt("region_name", "str", "RegionOne",
            "Region this cloud's services are registered in."),
        Opt("osapi_max_limit", "int", 1000,
            "Largest number of items a single list call returns; `limit` is capped to it."),
        Opt("api_rate_limit", "int", 0,
            "Requests per second allowed per user (or per client address when "
            "unauthenticated) per API worker; 0 disables rate limiting."),
        Opt("api_rate_burst", "int", 50,
            "Burst size of the token bucket used by api_rate_limit."),
    ],
    "api": [
        Opt("bind_host", "str", "127.0.0.1", "Address the API listens on."),
        Opt("bind_port", "int", 5000, "Port the API listens on (all services share it)."),
        Opt("workers", "int", 1, "Number of API worker processes (`stratus api`)."),
        Opt("public_endpoint", "str", "",
            "Base URL advertised in the catalog and version documents; "
            "default http://<bind_host>:<bind_port>."),
        Opt("access_log", "bool", True, "Log one line per API request."),
    ],
    "database": [
        Opt("connection", "str", "",
            "SQLAlchemy URL of the API database; default SQLite at "
            "<state_path>/stratus.sqlite. PostgreSQL: postgresql+psycopg://user@host/db."),
        Opt("max_pool_size", "int", 10, "PostgreSQL connection pool size per worker."),
    ],
    "token": [
        Opt("expiration", "int", 3600, "Token lifetime in seconds."),
        Opt("cache_time", "int", 300,
            "Seconds a validated token stays in the per-worker cache; any "
            "revocation or assignment change invalidates the cache at once."),
        Opt("allow_expired_window", "int", 172800,
            "Seconds after expiry a token may still be validated with allow_expired=1."),
    ],
    "fernet_tokens": [
        Opt("key_repository", "str", "",
            "Directory of Fernet keys; default <state_path>/fernet-keys."),
        Opt("max_active_keys", "int", 3,
            "Keys kept on rotation (primary, secondary ones and the staged key)."),
    ],
    "identity": [
        Opt("default_domain_id", "str", "default", "ID of the default domain."),
        Opt("password_hash_rounds", "int", 12, "bcrypt cost factor for stored passwords."),
        Opt("max_password_length", "int", 4096, "Longest password accepted."),
        Opt("list_limit", "int", 0,
            "Truncate identity list responses to this many entries (0: no limit)."),
    ],
    "security_compliance": [
        Opt("lockout_failure_attempts", "int", 0,
            "Failed password authentications after which a user is locked out (0: never)."),
        Opt("lockout_duration", "int", 1800, "Seconds a locked-out user stays locked."),
        Opt("password_expires_days", "int", 0,
            "Days after which a password expires and must be changed (0: never)."),
        Opt("unique_last_password_count", "int", 0,
            "A self-service password change may not reuse any of this many last passwords "
            "(0 disables the check)."),
        Opt("minimum_password_age", "int", 0,
            "Days a password must be kept before the user may change it again."),
        Opt("password_regex", "str", "", "Regular expression every new password must match."),
        Opt("password_regex_description", "str", "",
            "What password_regex requires, in words; shown when a password is refused."),
        Opt("change_password_upon_first_use", "bool", False,
            "Passwords set by an administrator must be changed by the user at first use."),
        Opt("disable_user_account_days_inactive", "int", 0,
            "Users that have not authenticated for this many days are disabled (0: never)."),
    ],
    "bootstrap": [
        Opt("admin_password", "str", "",
            "Password of the bootstrap admin user; generated on first start when empty."),
        Opt("demo_password", "str", "",
            "Password of the demo user; generated on first start when empty."),
    ],
    "oslo_policy": [
        Opt("policy_file", "str", "policy.yaml",
            "Operator policy overrides (YAML), relative to the directory of stratus.conf "
            "or absolute; missing file means defaults only."),
        Opt("enforce_scope", "bool", False,
            "Reject tokens whose scope does not match the rule's scope types."),
    ],
}


class _Group:
    def __init__(self, name: str, values: dict[str, Any]):
        self._name = name
        self._values = values

    def __getattr__(self, item: str) -> Any:
        try:
            return self._values[item]
        except KeyError:
            raise AttributeError(f"no option [{self._name}] {item}") from None


class Config:
    """Parsed configuration.  Unknown options in known groups are errors."""

    def __init__(self, path: str | None = None, overrides: dict[str, dict[str, Any]] | None = None):
        self.path = os.path.abspath(path) if path else None
        parser = configparser.ConfigParser(interpolation=None, default_section="__none__")
        if self.path:
            if not os.path.exists(self.path):
                raise ConfigError(f"configuration file {self.path} does not exist")
            parser.read(self.path)
        self._groups: dict[str, _Group] = {}
        for group, opts in OPTIONS.items():
            raw = dict(parser.items(group)) if parser.has_section(group) else {}
            values: dict[str, Any] = {}
            known = set()
            for opt in opts:
                names = (opt.name, *opt.deprecated_names)
                known.update(names)
                value = opt.default
                for n in names:
                    if n in raw:
                        try:
                            value = TYPES[opt.type](raw[n])
                        except ValueError as exc:
                            raise ConfigError(f"[{group}] {n}: {exc}") from None
                        break
                values[opt.name] = value
            unknown = set(raw) - known
            if unknown:
                raise ConfigError(f"unknown option(s) in [{group}]: {', '.join(sorted(unknown))}")
            for k, v in ((overrides or {}).get(group) or {}).items():
                if k not in values:
                    raise ConfigError(f"unknown option [{group}] {k}")
                values[k] = v
            self._groups[group] = _Group(group, values)
        # Sections owned by later services are accepted and ignored for now.

    def __getattr__(self, item: str) -> _Group:
        try:
            return self._groups[item]
        except KeyError:
            raise AttributeError(f"no option group [{item}]") from None

    # Derived paths -----------------------------------------------------
    @property
    def state_path(self) -> str:
        return os.path.abspath(self.DEFAULT.state_path)

    @property
    def database_url(self) -> str:
        return self.database.connection or f"sqlite:///{os.path.join(self.state_path, 'stratus.sqlite')}"

    @property
    def key_repository(self) -> str:
        return self.fernet_tokens.key_repository or os.path.join(self.state_path, "fernet-keys")

    @property
    def policy_file(self) -> str | None:
        p = self.oslo_policy.policy_file
        if not p:
            return None
        if not os.path.isabs(p):
            base = os.path.dirname(self.path) if self.path else self.state_path
            p = os.path.join(base, p)
        return p

    @property
    def public_endpoint(self) -> str:
        ep = self.api.public_endpoint
        if ep:
            return ep.rstrip("/")
        return f"http://{self.api.bind_host}:{self.api.bind_port}"


def sample() -> str:
    """A commented sample ``stratus.conf`` listing every option with its default."""
    out = ["# stratus.conf: every option with its default value (commented out)."]
    for group, opts in OPTIONS.items():
        out.append("")
        out.append(f"[{group}]")
        for opt in opts:
            out.append("")
            for line in _wrap(opt.help):
                out.append(f"# {line}")
            out.append(f"# ({opt.type})")
            default = ",".join(opt.default) if isinstance(opt.default, list) else opt.default
            if isinstance(default, bool):
                default = str(default).lower()
            out.append(f"#{opt.name} = {default}")
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int = 76) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        lines.append(cur)
    return lines

"""A small RBAC policy engine that reads oslo.policy check strings.

Check-string language (as oslo.policy; precedence ``not`` > ``and`` > ``or``)::

    ""  or  "@"                  always allowed          "!"   never allowed
    rule:NAME                    another rule            role:NAME   role held (any case)
    KEY:VALUE                    creds[KEY] == VALUE; KEY may be dotted ('token.user.id')
    'literal':%(target.x)s       a quoted string / number / True / None on the left is
                                 compared with the right-hand side itself
    not X,  X and Y,  X or Y,  ( ... )

VALUE is literal text ('True', 'all', '5', an optionally quoted string) or contains
``%(dotted.key)s`` substitutions taken from the flattened target; a missing key makes
the check False.  Deliberate differences from oslo.policy, all toward denying:
  * a malformed rule raises PolicyParseError when loaded (oslo logs it and denies);
  * a credential that is None never matches a *substituted* value, so an unscoped
    token (project_id None) cannot match a target whose project id is None; it still
    matches a literal ``None`` written in the rule, as upstream Keystone relies on;
  * a boolean credential matches 'True'/'1' or 'False'/'0' (any case);
  * ``token.user.id`` style keys fall back to the flat credential keys (see _ALIASES);
  * http:/https: checks are not supported.
"""
from __future__ import annotations

import ast
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml

LOG = logging.getLogger(__name__)


class PolicyError(Exception):
    """Base class of the errors raised by this module."""


class PolicyParseError(PolicyError, ValueError):
    def __init__(self, rule: str, check_str: Any, reason: str):
        self.rule, self.check_str, self.reason = rule, check_str, reason
        where = "" if check_str is None else f" = {check_str!r}"
        super().__init__(f"invalid policy rule {rule!r}{where}: {reason}")


class PolicyNotAuthorized(PolicyError):
    def __init__(self, rule: str):
        self.rule = rule
        super().__init__(f"Policy doesn't allow {rule} to be performed.")


# ---------------------------------------------------------------- evaluation tree
# Every node is called as node(flat_target, creds, rules) -> bool and prints back as
# a fully parenthesised check string.
class _Always:
    def __call__(self, target, creds, rules): return True
    def __str__(self): return "@"


class _Never:
    def __call__(self, target, creds, rules): return False
    def __str__(self): return "!"


class _Not:
    def __init__(self, check): self.check = check
    def __call__(self, target, creds, rules): return not self.check(target, creds, rules)
    def __str__(self): return f"not {self.check}"


class _And:
    def __init__(self, checks): self.checks = checks
    def __call__(self, target, creds, rules): return all(c(target, creds, rules) for c in self.checks)
    def __str__(self): return "(" + " and ".join(map(str, self.checks)) + ")"


class _Or:
    def __init__(self, checks): self.checks = checks
    def __call__(self, target, creds, rules): return any(c(target, creds, rules) for c in self.checks)
    def __str__(self): return "(" + " or ".join(map(str, self.checks)) + ")"


class _RuleRef:
    def __init__(self, name): self.name = name
    def __str__(self): return f"rule:{self.name}"

    def __call__(self, target, creds, rules):
        check = rules.get(self.name)
        if check is None:
            LOG.warning("policy: rule %r references undefined rule %r; denying", self, self.name)
            return False
        return check(target, creds, rules)


_SUBST = re.compile(r"%\(([^()%]+)\)s|%%")
_ALIASES = {  # upstream Keystone reads these from the token; we keep them flat
    "token.user.id": "user_id", "token.user.domain.id": "user_domain_id",
    "token.project.id": "project_id", "token.project.domain.id": "project_domain_id",
    "token.domain.id": "domain_id",
}


def _substitute(template: str, target: Mapping) -> str | None:
    """Fill %(key)s from the flat target; None when a key is missing."""
    try:
        return _SUBST.sub(lambda m: "%" if m.group(0) == "%%" else str(target[m.group(1)]), template)
    except KeyError:
        return None


def _walk(value, segments):
    """Values found at a dotted path, fanning out over lists (as oslo does)."""
    if isinstance(value, list):
        return [v for item in value for v in _walk(item, segments)]
    if not segments:
        return [value]
    if not isinstance(value, Mapping) or segments[0] not in value:
        return []
    return _walk(value[segments[0]], segments[1:])


class _RoleCheck:
    def __init__(self, match): self.match = match
    def __str__(self): return f"role:{self.match}"

    def __call__(self, target, creds, rules):
        role = _substitute(self.match, target)
        return role is not None and role.lower() in {r.lower() for r in creds.get("roles") or ()}


class _GenericCheck:
    def __init__(self, kind, match, literal):
        self.kind, self.match, self.literal = kind, match, literal
        self.substituted = bool(_SUBST.search(match))
    def __str__(self): return f"{self.kind}:{self.match}"

    def __call__(self, target, creds, rules):
        match = _substitute(self.match, target)
        if match is None:
            return False
        if self.literal is not _NO_LITERAL:
            return match == str(self.literal)
        if self.kind in creds:
            values = _walk(creds[self.kind], [])
        else:
            values = _walk(creds, self.kind.split("."))
            if not values and self.kind in _ALIASES and _ALIASES[self.kind] in creds:
                values = [creds[_ALIASES[self.kind]]]
        return any(self._matches(v, match) for v in values)

    def _matches(self, value, match):
        if value is None:
            return not self.substituted and match == "None"
        if isinstance(value, bool):
            return match.lower() in (("true", "1") if value else ("false", "0"))
        return str(value) == match


_NO_LITERAL = object()


# ---------------------------------------------------------------- parser
def _tokenize(check_str: str):
    """Split like oslo: on whitespace, peeling leading '(' and trailing ')'."""
    for word in check_str.split():
        body = word.lstrip("(")
        yield from [("(", "(")] * (len(word) - len(body))
        core = body.rstrip(")")
        if core:
            lowered = core.lower()
            yield (lowered, core) if lowered in ("and", "or", "not") else ("check", core)
        yield from [(")", ")")] * (len(body) - len(core))


def _literal(text: str):
    """The Python literal a kind/value spells ('x', 5, True, None) or _NO_LITERAL."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NO_LITERAL
    return value if value is None or isinstance(value, (str, int, float, bool)) else _NO_LITERAL


class _Parser:
    def __init__(self, name: str, check_str: str):
        self.name, self.check_str = name, check_str
        self.tokens, self.pos = list(_tokenize(check_str)), 0

    def error(self, reason):
        raise PolicyParseError(self.name, self.check_str, reason)

    def peek(self):
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self):
        if self.pos >= len(self.tokens):
            self.error("unexpected end of rule")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def parse(self):
        if not self.tokens:
            return _Always()
        node = self.or_expr()
        if self.pos < len(self.tokens):
            self.error(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def or_expr(self):
        terms = [self.and_expr()]
        while self.peek() == "or":
            self.take()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else _Or(terms)

    def and_expr(self):
        terms = [self.not_expr()]
        while self.peek() == "and":
            self.take()
            terms.append(self.not_expr())
        return terms[0] if len(terms) == 1 else _And(terms)

    def not_expr(self):
        if self.peek() == "not":
            self.take()
            return _Not(self.not_expr())
        kind, text = self.take()
        if kind == "(":
            node = self.or_expr()
            if self.peek() != ")":
                self.error("missing ')'")
            self.take()
            return node
        if kind != "check":
            self.error(f"unexpected {text!r}")
        return self.check(text)

    def check(self, text):
        if text in ("@", "!"):
            return _Always() if text == "@" else _Never()
        kind, sep, match = text.partition(":")
        if not sep or not kind or not match:
            self.error(f"{text!r} is not a check of the form KIND:VALUE")
        if _SUBST.sub("", match).count("%"):
            self.error(f"bad substitution in {text!r}; use %(dotted.key)s")
        if kind == "rule":
            return _RuleRef(match)
        if kind == "role":
            return _RoleCheck(match)
        if kind in ("http", "https"):
            self.error(f"{kind}: checks are not supported")
        value = _literal(match)
        if isinstance(value, str) and match[:1] in "'\"":
            match = value  # 'quoted' value: compare the text inside the quotes
        return _GenericCheck(kind, match, _literal(kind))


def parse_rule(check_str: str, name: str = "<inline>"):
    """Parse a check string into a callable check(flat_target, creds, rules) -> bool."""
    if not isinstance(check_str, str):
        raise PolicyParseError(name, check_str, "check string must be a string")
    return _Parser(name, check_str).parse()


def _references(check):
    if isinstance(check, _RuleRef):
        yield check.name
    if isinstance(check, (_And, _Or)):
        children = check.checks
    else:
        children = [check.check] if isinstance(check, _Not) else []
    for child in children:
        yield from _references(child)


def _check_rule_graph(checks: Mapping, sources: Mapping[str, str]) -> None:
    """Raise on rule:... cycles; warn about references to undefined rules."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name, path):
        state[name] = 1
        for ref in _references(checks[name]):
            if ref not in checks:
                LOG.warning("policy: rule %r references undefined rule %r", name, ref)
            elif state.get(ref) == 1:
                raise PolicyParseError(name, sources[name], "rule cycle: " + " -> ".join(path + [ref]))
            elif ref not in state:
                visit(ref, path + [ref])
        state[name] = 2

    for name in checks:
        if name not in state:
            visit(name, [name])


def flatten_target(target: Mapping | None) -> dict[str, Any]:
    """{'target': {'project': {'id': 1}}} -> {'target.project.id': 1}; flat keys pass."""
    flat: dict[str, Any] = {}

    def walk(prefix, mapping):
        for key, value in mapping.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping):
                walk(path, value)
            else:
                flat[path] = value

    walk("", target or {})
    return flat


# ---------------------------------------------------------------- engine
class PolicyEngine:
    """Defaults plus an optional operator file (YAML or JSON) that overrides them.

    Rules are parsed once.  The file is stat'ed at most once per ``reload_interval``
    seconds (from ``enforce``) and re-read when its mtime, size or inode change; a
    file that fails to load at start-up raises PolicyParseError, one that breaks
    later is logged and the previous rules stay in force; a deleted file means the
    defaults again.
    """

    def __init__(self, defaults: Mapping[str, str], policy_file: str | None = None, *,
                 reload_interval: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._defaults = {name: parse_rule(s, name) for name, s in defaults.items()}
        self._default_sources = dict(defaults)
        self._policy_file, self._interval, self._clock = policy_file, reload_interval, clock
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._next_stat = 0.0
        self._sources, self._checks = dict(defaults), dict(self._defaults)
        _check_rule_graph(self._checks, self._sources)
        if policy_file:
            self._load(self._stat(), initial=True)
            self._next_stat = clock() + reload_interval

    @property
    def rules(self) -> dict[str, str]:
        """The effective check strings (defaults merged with the operator file)."""
        self._maybe_reload()
        return dict(self._sources)

    def enforce(self, rule: str, target: Mapping | None, creds: Mapping | None) -> bool:
        self._maybe_reload()
        checks = self._checks  # one consistent snapshot, even if a reload swaps it
        check = checks.get(rule)
        if check is None:
            LOG.warning("policy: unknown rule %r; denying", rule)
            return False
        return bool(check(flatten_target(target), creds or {}, checks))

    def authorize(self, rule: str, target: Mapping | None, creds: Mapping | None) -> None:
        if not self.enforce(rule, target, creds):
            raise PolicyNotAuthorized(rule)

    def reload(self) -> None:
        """Re-read the policy file now if it changed (normally done lazily)."""
        with self._lock:
            signature = self._stat()
            if signature != self._signature:
                self._load(signature)

    def _maybe_reload(self) -> None:
        if not self._policy_file or self._clock() < self._next_stat:
            return
        self._next_stat = self._clock() + self._interval
        self.reload()

    def _stat(self):
        try:
            st = os.stat(self._policy_file)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _load(self, signature, initial: bool = False) -> None:
        try:
            overrides = self._read_file() if signature else {}
            checks = dict(self._defaults)
            checks.update({name: parse_rule(s, name) for name, s in overrides.items()})
            sources = {**self._default_sources, **overrides}
            _check_rule_graph(checks, sources)
        except (PolicyError, OSError) as exc:
            if initial:
                raise
            LOG.error("policy: keeping previous rules, cannot load %s: %s", self._policy_file, exc)
            self._signature = signature  # don't retry until the file changes again
            return
        LOG.info("policy: loaded %d overrides from %s", len(overrides), self._policy_file)
        self._checks, self._sources, self._signature = checks, sources, signature

    def _read_file(self) -> dict[str, str]:
        with open(self._policy_file, encoding="utf-8") as f:
            try:
                data = yaml.safe_load(f)  # YAML is a superset of JSON
            except yaml.YAMLError as exc:
                raise PolicyParseError(self._policy_file, None, f"not valid YAML or JSON: {exc}") from exc
        if data is None:
            return {}
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise PolicyParseError(self._policy_file, None, "the file must map rule names to check strings")
        return data


def render_table(defaults: Mapping[str, str], descriptions: Mapping[str, str]) -> str:
    """A Markdown table: rule | default check string | description."""
    def cell(text):
        return " ".join(str(text).split()).replace("|", "\\|")

    lines = ["| Rule | Default check string | Description |", "|---|---|---|"]
    for name, check_str in defaults.items():
        shown = f"`{cell(check_str)}`" if check_str.strip() else '`""` (always allowed)'
        lines.append(f"| `{cell(name)}` | {shown} | {cell(descriptions.get(name, ''))} |")
    return "\n".join(lines) + "\n"

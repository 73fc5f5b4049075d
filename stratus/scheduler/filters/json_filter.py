"""JsonFilter: the ``query`` scheduler hint, upstream's small JSON language.

A query is a JSON list ``[op, arg, ...]``; an arg is a literal, a nested
query, or a ``$variable`` naming a host value (nova's HostState names:
``$free_ram_mb``, ``$free_disk_mb``, ``$vcpus_total``, ``$vcpus_used``,
``$total_usable_ram_mb``, ``$num_instances``, ``$hypervisor_type``, ... and
``$stats.key`` into the agent-reported stats; see ``host_attrs``)::

    ["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 204800]]

Operators, as upstream:

* ``=``, ``<``, ``>``, ``<=``, ``>=``: the first arg compared with each of the
  others; all must hold (``["<", 1, "$vcpus_used", 10]`` is not a range!).
* ``in``: the first arg equals one of the others.
* ``not``: negates each arg; ``or``/``and``: any/all of the args.

As upstream, a variable the host lacks (None) is dropped from the arguments
(so a comparison left with fewer than two args is false), a top-level
result that is a list (``not``) passes when any element is true, and a
host passes when there is no query.  One deviation: a nested ``not`` result
(a list) counts as ``any`` of its elements too, where upstream treats any
non-empty list as true.

:func:`validate` checks a query before it is stored (so the API can answer
400): it raises ``ValueError`` naming the problem (bad JSON, not a list,
unknown operator, wrong number of arguments, unknown variable).  At
scheduling time an invalid query fails every host (never an exception).
"""
from __future__ import annotations

import json
import operator
from typing import Any, Callable, Sequence

import numpy as np

from stratus.scheduler import host_attrs
from stratus.scheduler.filters.base import BaseHostFilter

HINT = "query"


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[list], bool]:
    def run(args: list) -> bool:
        if len(args) < 2:
            return False
        try:
            return all(op(args[0], a) for a in args[1:])
        except TypeError:                   # e.g. "abc" < 3: no match, not a crash
            return False
    return run


def _truth(value: Any) -> bool:
    return any(value) if isinstance(value, list) else bool(value)


COMMANDS: dict[str, Callable[[list], Any]] = {
    "=": _compare(operator.eq),
    "<": _compare(operator.lt),
    ">": _compare(operator.gt),
    "<=": _compare(operator.le),
    ">=": _compare(operator.ge),
    "in": lambda args: len(args) >= 2 and args[0] in args[1:],
    "not": lambda args: [not _truth(a) for a in args],
    "or": lambda args: any(_truth(a) for a in args),
    "and": lambda args: all(_truth(a) for a in args),
}
# Fewest arguments each operator takes (as written, before dropping None).
MIN_ARGS = {"=": 2, "<": 2, ">": 2, "<=": 2, ">=": 2, "in": 2, "not": 1, "or": 1, "and": 1}


def parse(query: Any) -> list:
    """The hint as a query list: a JSON string, a list, or a one-element list
    holding the JSON string (a hint given once through a list-valued API)."""
    if isinstance(query, (list, tuple)) and len(query) == 1 and isinstance(query[0], str) \
            and query[0].lstrip().startswith("["):
        query = query[0]
    if isinstance(query, (bytes, str)):
        try:
            query = json.loads(query)
        except ValueError as exc:
            raise ValueError(f"query hint is not valid JSON: {exc}") from None
    if not isinstance(query, (list, tuple)):
        raise ValueError(f"query hint must be a JSON list like "
                         f"[\">=\", \"$free_ram_mb\", 1024], not {type(query).__name__}")
    return list(query)


def _validate(query: Sequence, where: str) -> None:
    if not query:
        return
    op = query[0]
    if not isinstance(op, str) or op not in COMMANDS:
        raise ValueError(f"query hint: unknown operator {op!r} at {where} "
                         f"(known: {', '.join(COMMANDS)})")
    args = query[1:]
    if len(args) < MIN_ARGS[op]:
        raise ValueError(f"query hint: {op!r} at {where} takes at least {MIN_ARGS[op]} "
                         f"argument(s), got {len(args)}")
    for i, arg in enumerate(args, 1):
        if isinstance(arg, (list, tuple)):
            if not arg:
                raise ValueError(f"query hint: empty list as argument {i} of {op!r} at {where}")
            _validate(arg, f"{where}[{i}]")
        elif isinstance(arg, str):
            if arg.startswith("$"):
                root = arg[1:].split(".", 1)[0]
                if not root or not (host_attrs.is_variable(root)):
                    raise ValueError(f"query hint: unknown variable {arg!r} at {where}[{i}] "
                                     f"(use $stats.<key> for agent-reported values)")
        elif isinstance(arg, dict):
            raise ValueError(f"query hint: objects are not allowed (argument {i} of "
                             f"{op!r} at {where})")


def validate(query: Any) -> None:
    """Raise ValueError with a clear message unless ``query`` is a valid query
    (JSON text or an already decoded list).  An empty query is valid."""
    if query is None or query == "":
        return
    _validate(parse(query), "top level")


def _resolve(value: str, host) -> Any:
    if not value:
        return None
    if not value.startswith("$"):
        return value
    return host_attrs.lookup_path(host, value[1:].split("."))


def evaluate(query: Sequence, host) -> Any:
    """The value of a (validated) query on ``host``."""
    if not query:
        return True
    cooked = []
    for arg in query[1:]:
        if isinstance(arg, (list, tuple)):
            arg = evaluate(arg, host)
        elif isinstance(arg, str):
            arg = _resolve(arg, host)
        if arg is not None:
            cooked.append(arg)
    return COMMANDS[query[0]](cooked)


def variables(query: Sequence) -> set[str]:
    """The ``$variables`` a (validated) query reads."""
    out: set[str] = set()
    for arg in query[1:]:
        if isinstance(arg, (list, tuple)):
            out |= variables(arg)
        elif isinstance(arg, str) and arg.startswith("$"):
            out.add(arg)
    return out


class JsonFilter(BaseHostFilter):
    name = "JsonFilter"

    @staticmethod
    def _query(spec) -> tuple[list | None, str | None]:
        """(query or None when absent, error message or None)."""
        raw = spec.hints.get(HINT)
        if raw is None or raw == "" or raw == []:
            return None, None
        try:
            query = parse(raw)
            _validate(query, "top level")
        except ValueError as exc:
            return None, str(exc)
        return query, None

    def host_passes(self, host, spec) -> bool:
        query, error = self._query(spec)
        if error:
            return False
        return self._passes(query, host)

    @staticmethod
    def _passes(query, host) -> bool:
        return query is None or _truth(evaluate(query, host))

    def filter_all(self, hosts, spec):
        query, error = self._query(spec)           # parse once per request
        if error:
            return []
        if query is None:
            return list(hosts)
        return [h for h in hosts if self._passes(query, h)]

    def mask(self, cols, spec):
        """The hosts grouped by the values of the query's variables
        (``Columns.partition``), the query evaluated once per group."""
        query, error = self._query(spec)
        if error:
            return np.zeros(cols.n, np.bool_)
        if query is None:
            return True
        names = tuple(sorted(variables(query)))
        paths = [name[1:].split(".") for name in names]
        part = cols.partition(("json", names), lambda h, _p=paths: tuple(
            host_attrs.lookup_path(h, p) for p in _p))
        return part.evaluate(lambda h: self._passes(query, h))

    def reason(self, spec) -> str:
        query, error = self._query(spec)
        if error:
            return error
        return f"does not satisfy the query hint {json.dumps(query)}"

"""The operator language of flavor extra specs, as nova's ``extra_specs_ops``.

``match(value, req)`` says whether a host-side ``value`` (an aggregate
metadata value, a host capability) satisfies the requirement ``req`` of a
flavor extra spec.  ``req`` is either a plain string (compared for
equality) or ``"<op> <operand>..."``:

====================  =====================================================
``= N``               value >= N, numerically (a floor, not equality)
``== N`` ``!= N``     numeric equal / not equal
``>= N`` ``<= N``     numeric comparisons
``s== S`` ``s!= S``   string comparisons (also ``s>=``, ``s>``, ``s<=``,
                      ``s<``; lexicographic)
``<in> S``            S is a substring of value
``<all-in> A B ...``  every word is in value (substring)
``<or> A <or> B``     value equals one of the alternatives
====================  =====================================================

Deviations from upstream, all toward "no match" instead of an exception:
a numeric operator over a non-number, an operator without operand, and a
dangling ``<or>`` do not match.  Pure; no I/O.
"""
from __future__ import annotations

import operator
from typing import Any, Callable


def _num(op: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, operand: Any) -> bool:
        try:
            return op(float(value), float(operand))
        except (TypeError, ValueError):
            return False
    return compare


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": _num(operator.ge),
    "==": _num(operator.eq),
    "!=": _num(operator.ne),
    ">=": _num(operator.ge),
    "<=": _num(operator.le),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
    "<in>": lambda value, operand: operand in value,
    "<all-in>": lambda value, words: all(w in value for w in words),
}
OR = "<or>"


def match(value: Any, req: Any) -> bool:
    """Whether ``value`` satisfies ``req`` (see the module docstring)."""
    req = "" if req is None else str(req)
    words = req.split()
    op = words[0] if words else None
    if op != OR and op not in OPERATORS:
        return value == req                      # no operator: plain equality
    if value is None:
        return False
    value = str(value)
    args = words[1:]
    if op == OR:
        # "<or> a <or> b <or> c": the alternatives are every other word.
        return value in args[::2]
    if not args:
        return False
    if op == "<all-in>":
        return OPERATORS[op](value, args)
    return OPERATORS[op](value, args[0])

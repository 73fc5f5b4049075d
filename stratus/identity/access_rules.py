"""Matching a request against application-credential access rules, as
keystonemiddleware does: the service type must be equal, the method equal
(case-insensitive), and the path match the rule's pattern segment by segment,
where ``*`` matches exactly one segment and ``**`` any number (including none).
Pure functions."""
from __future__ import annotations


def path_matches(pattern: str, path: str) -> bool:
    pat = [p for p in pattern.strip("/").split("/") if p != ""]
    segs = [s for s in path.strip("/").split("/") if s != ""]

    def match(i: int, j: int) -> bool:
        while i < len(pat):
            if pat[i] == "**":
                return any(match(i + 1, k) for k in range(j, len(segs) + 1))
            if j >= len(segs) or (pat[i] != "*" and pat[i] != segs[j]):
                return False
            i, j = i + 1, j + 1
        return j == len(segs)
    return match(0, 0)


def allowed(rules: list[dict], service: str, method: str, path: str) -> bool:
    """rules: [{'service','method','path'}]; an empty list means unrestricted."""
    if not rules:
        return True
    method = method.upper()
    if method == "HEAD":  # a HEAD is allowed wherever the GET is
        method_ok = ("HEAD", "GET")
    else:
        method_ok = (method,)
    return any(r["service"] == service and r["method"].upper() in method_ok
               and path_matches(r["path"], path) for r in rules)

"""Listing bodies in Swift's three formats: text (one name a line), JSON and
XML; the format comes from ``?format=`` or the Accept header."""
from __future__ import annotations

import json
from xml.sax.saxutils import escape

from stratus.objectstore import errors

TYPES = {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8",
         "plain": "text/plain; charset=utf-8"}


def wanted_format(query, headers) -> str:
    fmt = (query.get("format") or "").lower()
    if fmt in ("json", "xml", "plain"):
        return fmt
    if fmt:
        return "plain"
    accept = (headers.get("accept") or "").lower()
    for part in accept.split(","):
        media = part.split(";")[0].strip()
        if media == "application/json":
            return "json"
        if media in ("application/xml", "text/xml"):
            return "xml"
        if media in ("text/plain", "*/*", "text/*", ""):
            return "plain"
    if accept and not any(m in accept for m in ("json", "xml", "text", "*")):
        raise errors.NotAcceptable("No acceptable listing format.")
    return "plain"


def body(fmt: str, kind: str, owner_name: str, entries: list[dict]) -> str:
    """``kind``: "account" (entries are containers) or "container" (objects);
    an entry with only ``subdir`` is a collapsed prefix."""
    if fmt == "json":
        return json.dumps(entries)
    if fmt == "xml":
        tag = "container" if kind == "account" else "object"
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               f'<{kind} name="{escape(owner_name, {chr(34): "&quot;"})}">']
        for e in entries:
            if "subdir" in e:
                out.append(f'<subdir name="{escape(e["subdir"], {chr(34): "&quot;"})}">'
                           f'<name>{escape(e["subdir"])}</name></subdir>')
                continue
            fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in e.items())
            out.append(f"<{tag}>{fields}</{tag}>")
        out.append(f"</{kind}>")
        return "\n".join(out)
    return "".join((e.get("subdir") or e["name"]) + "\n" for e in entries)

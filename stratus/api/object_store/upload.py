"""Receiving an object body: streamed block by block into a staging file of
the backend, hashed (MD5) on the way, fsynced before it may be committed.
A client that disconnects, a short body or any error removes the file, so
nothing partial is ever committed."""
from __future__ import annotations

import hashlib
import os

from starlette.requests import ClientDisconnect

from stratus.api.object_store.common import blocking
from stratus.objectstore import errors

BLOCK = 1 << 20


def expected_length(req) -> int | None:
    """The declared body length; None for chunked; 411/400/413 as Swift."""
    raw = req.headers.get("content-length")
    chunked = "chunked" in (req.headers.get("transfer-encoding") or "").lower()
    if raw is None:
        if not chunked:
            raise errors.LengthRequired("Missing Content-Length header.")
        return None
    try:
        length = int(raw)
        if length < 0:
            raise ValueError
    except ValueError:
        raise errors.BadRequest("Invalid Content-Length header value") from None
    if length > req.oconf.max_file_size:
        raise errors.EntityTooLarge("Your request is too large.")
    return length


def _write(f, h, data: bytes) -> None:
    f.write(data)
    h.update(data)


def _finish(f) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()


async def receive(req, length: int | None) -> tuple[str, str, int]:
    """(staged path, md5 hex, size) of the complete body."""
    f, path = await blocking(req.backend.temp_file)
    h, size, pending = hashlib.md5(), 0, bytearray()
    try:
        async for chunk in req.raw.stream():
            pending += chunk
            size += len(chunk)
            if size > req.oconf.max_file_size:
                raise errors.EntityTooLarge("Your request is too large.")
            if len(pending) >= BLOCK:
                await blocking(_write, f, h, bytes(pending))
                pending.clear()
        if pending:
            await blocking(_write, f, h, bytes(pending))
        if length is not None and size != length:
            raise errors.ClientDisconnect("The client disconnected before sending the body.")
        await blocking(_finish, f)
    except ClientDisconnect:
        await blocking(_discard, f, path)
        raise errors.ClientDisconnect("The client disconnected before sending the body.") \
            from None
    except BaseException:
        await blocking(_discard, f, path)
        raise
    return path, h.hexdigest(), size


def _discard(f, path: str) -> None:
    try:
        f.close()
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def stage_pieces(backend, reader) -> tuple[str, str, int]:
    """Copy a reader (e.g. a PieceReader) into a staged file; (path, md5, size)."""
    f, path = backend.temp_file()
    h, size = hashlib.md5(), 0
    try:
        for block in iter(lambda: reader.read(BLOCK), b""):
            _write(f, h, block)
            size += len(block)
        _finish(f)
    except BaseException:
        _discard(f, path)
        raise
    finally:
        reader.close()
    return path, h.hexdigest(), size

"""Password hashing with bcrypt.

The password is first reduced with SHA-256 (base64) so that passwords longer
than bcrypt's 72-byte input limit are neither truncated nor rejected.
Successful verifications are remembered in memory as an HMAC under a random
per-process key, so a repeated login skips the deliberately slow bcrypt work;
the memo is keyed by the stored hash, so a password change invalidates it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading

import bcrypt

_PROCESS_KEY = os.urandom(32)
_memo: dict[str, bytes] = {}
_memo_lock = threading.Lock()
_MEMO_MAX = 100_000


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, stored_hash: str | None) -> bool:
    if not stored_hash or password is None:
        return False
    tag = hmac.new(_PROCESS_KEY, stored_hash.encode() + b"\0" + password.encode("utf-8"),
                   hashlib.sha256).digest()
    known = _memo.get(stored_hash)
    if known is not None and hmac.compare_digest(known, tag):
        return True
    try:
        ok = bcrypt.checkpw(_prehash(password), stored_hash.encode("ascii"))
    except ValueError:
        return False
    if ok:
        with _memo_lock:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[stored_hash] = tag
    return ok

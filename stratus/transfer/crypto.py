"""Handshake key schedule and AEAD nonces (pure functions over `cryptography`).

Key schedule (docs/design/transfer-protocol.md, "Keys"):
  shared  = X25519(client_eph, server_eph)
  th1     = SHA-256(ClientHello frame || ServerHello frame)
  ctrl_{c2s,s2c} = HKDF-SHA256(shared, salt=th1, info="stratus-transfer/1 ctrl c2s|s2c")
  th2     = SHA-256(th1 || Request frame)     (the encrypted request, token included)
  data_{c2s,s2c} = HKDF-SHA256(shared, salt=th2, info="stratus-transfer/1 data c2s|s2c")
Every key is used in one direction only; nonces never repeat under one key.
"""
from __future__ import annotations

import hashlib
import os
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL = b"stratus-transfer/1 "
_NONCE_DATA = struct.Struct("!BBHQ")     # direction, 0, attempt, block
# 0x80|direction (report/probe) or 0x40|direction (control), 0, 0, seq
_NONCE_SEQ = struct.Struct("!BBHQ")


class Ephemeral:
    """One side's ephemeral X25519 key pair."""

    def __init__(self):
        self._key = X25519PrivateKey.generate()
        self.public = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def shared(self, peer_public: bytes) -> bytes:
        if len(peer_public) != 32:
            raise ValueError("X25519 public key must be 32 bytes")
        secret = self._key.exchange(X25519PublicKey.from_public_bytes(peer_public))
        if secret == bytes(32):   # low-order point: refuse (RFC 7748 section 6.1)
            raise ValueError("degenerate X25519 public key")
        return secret


def hkdf(secret: bytes, salt: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=LABEL + label.encode()).derive(secret)


def transcript(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def control_keys(shared: bytes, th1: bytes) -> tuple[bytes, bytes]:
    return hkdf(shared, th1, "ctrl c2s"), hkdf(shared, th1, "ctrl s2c")


def data_keys(shared: bytes, th2: bytes) -> tuple[bytes, bytes]:
    return hkdf(shared, th2, "data c2s"), hkdf(shared, th2, "data s2c")


def data_nonce(direction: int, attempt: int, block: int) -> bytes:
    """Nonce of a DATA packet: unique per (direction, block, attempt) in a session."""
    return _NONCE_DATA.pack(direction, 0, attempt, block)


def report_nonce(direction: int, seq: int) -> bytes:
    return _NONCE_SEQ.pack(0x80 | direction, 0, 0, seq)


def control_nonce(direction: int, seq: int) -> bytes:
    return _NONCE_SEQ.pack(0x40 | direction, 0, 0, seq)


class ControlCipher:
    """Seals and opens control frames in one direction with a frame counter;
    a replayed, reordered or tampered frame fails to open (InvalidTag)."""

    def __init__(self, key: bytes, direction: int):
        self.aead = AESGCM(key)
        self.direction = direction
        self.seq = 0

    def seal(self, body: bytes) -> bytes:
        out = self.aead.encrypt(control_nonce(self.direction, self.seq), body, None)
        self.seq += 1
        return out

    def open(self, body: bytes) -> bytes:
        out = self.aead.decrypt(control_nonce(self.direction, self.seq), body, None)
        self.seq += 1
        return out


def random_nonce() -> bytes:
    return os.urandom(32)

"""The control channel: length-prefixed frames on a TCP connection, JSON
messages, AES-GCM sealed after the key exchange.  Handshake:

  C -> S  hello   {"type":"hello","v":2,"pub":b64,"nonce":b64}          (clear)
  S -> C  hello   {"type":"hello","v":2,"pub":b64,"nonce":b64,"session":u32}  (clear)
  C -> S  request {...token, op, object...}     sealed with ctrl c2s
  S -> C  accept {...} | error {"status","message"}   sealed with ctrl s2c
then either side may send sealed messages until one closes.
"""
from __future__ import annotations

import base64
import os
import socket
import struct

from cryptography.exceptions import InvalidTag

from stratus.transfer import crypto, wire

VERSION = wire.VERSION      # 2: the 24-byte DATA header; 1 is refused (400)


class ProtocolError(Exception):
    """The peer broke the protocol (or the connection): the session ends."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ProtocolError("bad base64 field") from None


class Control:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.tx: crypto.ControlCipher | None = None
        self.rx: crypto.ControlCipher | None = None

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            k = self.sock.recv_into(view[got:])
            if k == 0:
                raise ProtocolError("control connection closed")
            got += k
        return bytes(buf)

    def send_raw(self, body: bytes) -> bytes:
        data = wire.frame(body)
        self.sock.sendall(data)
        return data

    def recv_raw(self) -> bytes:
        (n,) = wire.FRAME.unpack(self._recv_exact(4))
        if n > wire.MAX_FRAME:
            raise ProtocolError("control frame too large")
        return self._recv_exact(n)

    def send(self, msg: dict) -> bytes:
        """Send one message (sealed once keys are set); returns the frame sent."""
        body = wire.encode_json(msg)
        return self.send_raw(self.tx.seal(body) if self.tx else body)

    def recv(self) -> dict:
        body = self.recv_raw()
        if self.rx:
            try:
                body = self.rx.open(body)
            except InvalidTag:
                raise ProtocolError("control frame failed authentication") from None
        try:
            return wire.decode_json(body)
        except wire.WireError as exc:
            raise ProtocolError(str(exc)) from None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Keys:
    """The session's data keys and id, after the handshake."""

    def __init__(self, session: int, c2s: bytes, s2c: bytes):
        self.session, self.c2s, self.s2c = session, c2s, s2c


def client_handshake(ctl: Control, request: dict) -> tuple[dict, Keys]:
    """Run the client side; returns (server's reply to the request, keys)."""
    eph = crypto.Ephemeral()
    f1 = ctl.send({"type": "hello", "v": VERSION, "pub": b64(eph.public),
                   "nonce": b64(crypto.random_nonce())})
    raw = ctl.recv_raw()
    try:
        hello = wire.decode_json(raw)
    except wire.WireError as exc:
        raise ProtocolError(str(exc)) from None
    f2 = wire.frame(raw)
    if hello.get("type") == "error":
        return hello, None
    if hello.get("type") != "hello" or hello.get("v") != VERSION:
        raise ProtocolError(f"the server does not speak transfer protocol version {VERSION} "
                            f"(it answered version {hello.get('v')!r})")
    shared = eph.shared(unb64(hello.get("pub")))
    th1 = crypto.transcript(f1, f2)
    c2s, s2c = crypto.control_keys(shared, th1)
    ctl.tx, ctl.rx = crypto.ControlCipher(c2s, 0), crypto.ControlCipher(s2c, 1)
    f3 = ctl.send(request)
    d_c2s, d_s2c = crypto.data_keys(shared, crypto.transcript(th1, f3))
    return ctl.recv(), Keys(int(hello["session"]), d_c2s, d_s2c)


def server_handshake(ctl: Control) -> tuple[dict, Keys]:
    """Run the server side up to the request; returns (request, keys)."""
    f1 = ctl.recv_raw()
    try:
        hello = wire.decode_json(f1)
    except wire.WireError as exc:
        raise ProtocolError(str(exc)) from None
    if hello.get("type") != "hello" or hello.get("v") != VERSION:
        v = hello.get("v")
        ctl.send({"type": "error", "status": 400,
                  "message": f"Unsupported transfer protocol version {v!r}: this server "
                             f"speaks version {VERSION}; upgrade the client."})
        raise ProtocolError(f"client speaks transfer protocol version {v!r}, not {VERSION}")
    eph = crypto.Ephemeral()
    session = struct.unpack("!I", os.urandom(4))[0]
    f2 = ctl.send({"type": "hello", "v": VERSION, "pub": b64(eph.public),
                   "nonce": b64(crypto.random_nonce()), "session": session})
    try:
        shared = eph.shared(unb64(hello.get("pub")))
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None
    th1 = crypto.transcript(wire.frame(f1), f2)
    c2s, s2c = crypto.control_keys(shared, th1)
    ctl.rx, ctl.tx = crypto.ControlCipher(c2s, 0), crypto.ControlCipher(s2c, 1)
    f3_body = ctl.recv_raw()
    try:
        request = wire.decode_json(ctl.rx.open(f3_body))
    except (InvalidTag, wire.WireError):
        raise ProtocolError("request failed authentication") from None
    d_c2s, d_s2c = crypto.data_keys(shared, crypto.transcript(th1, wire.frame(f3_body)))
    return request, Keys(session, d_c2s, d_s2c)

"""Accelerated bulk transfer: a rate-based, delay-controlled, encrypted UDP
protocol between ``stratus transfer`` and the transfer server beside the
object store.  The wire protocol is specified in docs/design/transfer-protocol.md.

Pure logic (no sockets): ``wire`` (packet layouts), ``crypto`` (handshake key
schedule, nonces), ``congestion`` (rate controller), ``blocks`` (block maps,
loss detection, retransmission).  Side effects: ``sender``/``receiver`` (the
data loops), ``control`` (framed control channel and handshake), ``staging``
(resume files), ``server`` and ``client``.
"""

"""The last ``action_seq`` the agent executed per instance, kept in a JSON
file in the agent's state directory (written atomically), so a restarted
agent neither repeats nor loses a reboot, rebuild or snapshot."""
from __future__ import annotations

import json
import os
import threading


class SeqStore:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._seqs: dict[str, int] = {}
        if os.path.exists(path):
            with open(path) as f:
                self._seqs = {k: int(v) for k, v in json.load(f).items()}

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._seqs)

    def set(self, uuid: str, seq: int) -> None:
        with self._lock:
            if self._seqs.get(uuid) == seq:
                return
            self._seqs[uuid] = seq
            self._save()

    def forget(self, uuid: str) -> None:
        with self._lock:
            if self._seqs.pop(uuid, None) is not None:
                self._save()

    def _save(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            json.dump(self._seqs, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

"""Closed-loop HTTP load: C clients, each sending its next request as soon as
the previous one is answered, for a fixed time and at most a fixed count.

Each client has its own ``httpx.AsyncClient`` with one keep-alive connection
(a shared pool of C connections costs the generator O(C) per request in
httpcore).  The generator runs on the same machine as the server, so its own
CPU time is reported too.
"""
from __future__ import annotations

import asyncio
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import httpx

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass
class LoadResult:
    concurrency: int
    elapsed: float                 # seconds from first send to last answer
    ok: int                        # answers with the expected status
    errors: Counter = field(default_factory=Counter)  # "HTTP 500", "ReadTimeout", ...
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    client_cpu: float = 0.0        # CPU seconds the load generator used

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the successful latencies, in seconds."""
        if not self.latencies:
            return None
        data = sorted(self.latencies)
        rank = max(1, min(len(data), int(round(q / 100.0 * len(data) + 0.5))))
        return data[rank - 1]

    def summary(self) -> dict:
        p50, p99 = self.percentile(50), self.percentile(99)
        return {"concurrency": self.concurrency, "elapsed_s": round(self.elapsed, 3),
                "ok": self.ok, "errors": dict(self.errors), "rps": round(self.rps, 1),
                "p50_ms": None if p50 is None else round(p50 * 1000, 2),
                "p99_ms": None if p99 is None else round(p99 * 1000, 2),
                "client_cpu_s": round(self.client_cpu, 2)}


async def _drive(clients: list[httpx.AsyncClient], request: Request, expected: int,
                 duration: float, max_requests: int, result: LoadResult | None) -> None:
    deadline = time.perf_counter() + duration
    issued = 0

    async def one_client(client: httpx.AsyncClient) -> None:
        nonlocal issued
        while time.perf_counter() < deadline and issued < max_requests:
            issued += 1
            t0 = time.perf_counter()
            try:
                resp = await request(client)
                status = resp.status_code
            except httpx.HTTPError as exc:
                if result is not None:
                    result.errors[type(exc).__name__] += 1
                continue
            if result is None:
                continue
            if status == expected:
                result.ok += 1
                result.latencies.append(time.perf_counter() - t0)
            else:
                result.errors[f"HTTP {status}"] += 1

    await asyncio.gather(*(one_client(c) for c in clients))


async def run_load(request: Request, expected: int, concurrency: int, duration: float,
                   warmup: float = 1.0, max_requests: int = 200_000,
                   timeout: float = 60.0,
                   on_measure_start: Callable[[], object] | None = None) -> LoadResult:
    """Warm up (connections, caches) for ``warmup`` s unrecorded, then measure
    for ``duration`` s or ``max_requests`` requests, whichever ends first.
    In-flight requests finish after the deadline and are counted.
    ``on_measure_start`` is called right before the measured part (to read
    CPU counters)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # unused on http://, but costly to build per client
    clients = [httpx.AsyncClient(limits=limits, timeout=timeout, verify=tls)
               for _ in range(concurrency)]
    try:
        if warmup > 0:
            await _drive(clients, request, expected, warmup, max_requests, None)
        result = LoadResult(concurrency=concurrency, elapsed=0.0, ok=0)
        if on_measure_start is not None:
            on_measure_start()
        cpu0, t0 = time.process_time(), time.perf_counter()
        await _drive(clients, request, expected, duration, max_requests, result)
        result.elapsed = time.perf_counter() - t0
        result.client_cpu = time.process_time() - cpu0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return result

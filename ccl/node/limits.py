"""What one client may ask of a node: body sizes per route, request rates, upload quotas.

The language has its own limits (ccl.limits) and every input of an operation its length
(ccl.operations.Input.limit, checked in ccl.api.actions for every edge); these are the node's,
against a client that sends too much or too often:

- `body_bytes` / `upload_body_bytes`: the most bytes of a request body, per route — an
  operation's body is small, a contract upload carries up to 64 KiB of source. Checked before
  anything parses the body (ccl.node.app.BodyLimit): 413, L0500.
- `member_burst` / `member_per_minute`: a token bucket per signing DID, taken once the signature
  holds: 429, L0510, with `Retry-After`.
- `ip_burst` / `ip_per_minute`: a token bucket per client address for the traffic no member
  answers for — requests to a signed route that are unsigned or whose signature does not hold.
  Once an address has run out, its unsigned requests are refused before their body is read; a
  signed one is still checked (so that a member behind the same address as an attacker is not
  locked out) and refused with 429 only if its signature fails. The public routes
  (`/api/v1/health`, the OpenAPI document) are not counted: clients read the co-op's DID there.
- `uploads_per_day`: contracts a member may upload per UTC day (counted in the store's `uploads`
  side table, so it holds across restarts and nodes sharing a database): 429, L0511, with
  `Retry-After` until the day ends; nothing is recorded.
- `history_bytes_per_day`: the bytes of history (receipts, events, modules: the blocks a run
  puts) a member's requests may add per UTC day, counted in the `usage` side table in the run's
  own transaction: past it the run is refused, 429, L0511, and nothing of it is kept but its
  nonce. (Contract state and engine rows grow only with what receipts record: their arguments.)

Buckets live in the node process (a node behind a load balancer has a bucket per process) and
are counted in whole seconds of the clock the app is given, so tests drive them with a fake
clock. Arithmetic is in integers: a request costs 60 units and a bucket gains `per_minute` units
a second. Imports nothing of ccl.
"""

from __future__ import annotations

import threading
from typing import Optional

import attrs

DAY_S = 86_400


@attrs.frozen
class Limits:
    body_bytes: int = 16 * 1024
    upload_body_bytes: int = 96 * 1024
    member_burst: int = 120
    member_per_minute: int = 1_800          # 30 requests a second, sustained
    ip_burst: int = 60
    ip_per_minute: int = 600                # 10 a second
    uploads_per_day: int = 50
    history_bytes_per_day: int = 16 * 1024 * 1024     # what one member's requests may add to the history

    def body_limit(self, method: str, path: str) -> int:
        """The most bytes of a request body for this route."""
        if method == "POST" and path.rstrip("/") == "/api/v1/contracts":
            return self.upload_body_bytes
        return self.body_bytes


class Buckets:
    """Token buckets by key (a DID, an address): `take(key, now)` is None when the request may
    go ahead, else the whole seconds until it could (for `Retry-After`)."""

    COST = 60

    def __init__(self, burst: int, per_minute: int, keys_max: int = 100_000):
        self.capacity, self.rate, self.keys_max = burst * self.COST, per_minute, keys_max
        self.level: dict[str, tuple[int, int]] = {}          # key → (units, at)
        self.lock = threading.Lock()                          # handlers may run on worker threads

    def _now_level(self, key: str, now: int) -> int:
        units, at = self.level.get(key, (self.capacity, now))
        return min(self.capacity, units + max(0, now - at) * self.rate)

    def empty(self, key: str, now: int) -> bool:
        return self._now_level(key, now) < self.COST

    def take(self, key: str, now: int) -> Optional[int]:
        with self.lock:
            return self._take(key, now)

    def _take(self, key: str, now: int) -> Optional[int]:
        units = self._now_level(key, now)
        if units < self.COST:
            self.level[key] = (units, now)
            return max(1, -(-(self.COST - units) // self.rate)) if self.rate > 0 else DAY_S
        if key not in self.level and len(self.level) >= self.keys_max:
            self._forget(now)
        self.level[key] = (units - self.COST, now)
        return None

    def _forget(self, now: int) -> None:
        """Drop the buckets that are full again (the same as no bucket), else the oldest half."""
        full = [k for k in self.level if self._now_level(k, now) >= self.capacity]
        for k in full or sorted(self.level, key=lambda k: self.level[k][1])[: len(self.level) // 2]:
            del self.level[k]


def day_start(now: int) -> int:
    return now - now % DAY_S

"""Which labels `/feedback` accepts: only for rows of requests this server scored, once, at a bounded rate.

Request ids are issued by the server and carry their own proof: the issue time, the number
of rows scored and a random nonce, signed with HMAC-SHA256 under a key the server keeps
(`<log dir>/../request-id.key`, or `SHIPYARD_REQUEST_ID_KEY`, shared by every replica).
An id a client made up, an id of a refused request (0 rows), a row beyond the request's
rows or an id older than the retention window is refused without any lookup, so memory
does not grow with traffic. A client's own `X-Request-ID` is only echoed back as a
correlation id, never used as the request id.

Duplicates: the first label of a (request id, row) wins; a later one is refused (409)
while this server remembers it (the most recent `max_remembered` labelled rows).

Examples:
    >>> ids = RequestIds(b"k" * 32)
    >>> rid = ids.issue(rows=3, now=1_000.0)
    >>> ids.rows_of(rid, now=1_060.0, retention_s=3600)
    3
    >>> ids.rows_of(rid[:-1] + ("0" if rid[-1] != "0" else "1"), now=1_060.0, retention_s=3600) is None
    True
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path

logger = logging.getLogger(__name__)

KEY_ENV = "SHIPYARD_REQUEST_ID_KEY"
_MAC_HEX = 24


class RequestIds:
    """Issues and checks signed request ids `<issued s hex>.<rows hex>.<nonce>.<mac>`."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def for_folder(cls, folder: Path) -> RequestIds:
        """Ids signed with `key_for_folder(folder)`."""
        return cls(key_for_folder(folder))

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()[:_MAC_HEX]

    def issue(self, rows: int, now: float | None = None) -> str:
        """A new unguessable id for a request of `rows` scored rows (0: nothing may be labelled)."""
        issued = int(time.time() if now is None else now)
        payload = f"{issued:x}.{rows:x}.{secrets.token_hex(8)}"
        return f"{payload}.{self._mac(payload)}"

    def rows_of(self, request_id: str, *, now: float | None = None, retention_s: float) -> int | None:
        """The rows of an id this server issued within `retention_s`, else None."""
        parts = request_id.split(".")
        if len(parts) != 4 or len(request_id) > 80:
            return None
        payload, mac = ".".join(parts[:3]), parts[3]
        if not hmac.compare_digest(self._mac(payload), mac):
            return None
        try:
            issued, rows = int(parts[0], 16), int(parts[1], 16)
        except ValueError:
            return None
        age = (time.time() if now is None else now) - issued
        return rows if -60 <= age <= retention_s else None


def key_for_folder(folder: Path) -> bytes:
    """The key from `SHIPYARD_REQUEST_ID_KEY`, else `folder/request-id.key` (created 0600).

    When the file cannot be kept, a random key for this run (and its workers, through the
    environment): ids issued now cannot be labelled after a restart.
    """
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    path = folder / "request-id.key"
    try:
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return path.read_text().strip().encode()
    except OSError as exc:
        logger.warning(
            "Cannot keep the request-id key at %s (%s): ids issued now cannot be labelled after a "
            "restart. Set %s to share one key.",
            path,
            exc.strerror,
            KEY_ENV,
        )
        return secrets.token_hex(32).encode()


class LabelGuard:
    """First label wins (remembered rows), and a token bucket of labels per second per client."""

    def __init__(self, *, rate_per_s: float, burst: int, max_remembered: int = 1_000_000) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_remembered = max_remembered
        self._labelled: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, labels: int, now: float | None = None) -> float:
        """Spend `labels` from `client`'s bucket: 0.0 when allowed, else seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            level, last = self._buckets.get(client, (float(self.burst), now))
            level = min(float(self.burst), level + (now - last) * self.rate_per_s)
            if labels > level:
                self._buckets[client] = (level, now)
                return (labels - level) / self.rate_per_s
            self._buckets[client] = (level - labels, now)
            if len(self._buckets) > 10_000:
                self._buckets.pop(next(iter(self._buckets)))
            return 0.0

    def claim(self, keys: list[tuple[str, int]]) -> list[int]:
        """Indexes of `keys` labelled before (or twice within `keys`); when none, remember all of them."""
        seen: set[tuple[str, int]] = set()
        repeated = []
        with self._lock:
            for i, key in enumerate(keys):
                if key in self._labelled or key in seen:
                    repeated.append(i)
                seen.add(key)
            if not repeated:
                self._labelled.update(dict.fromkeys(keys))
                while len(self._labelled) > self.max_remembered:
                    self._labelled.popitem(last=False)
        return repeated

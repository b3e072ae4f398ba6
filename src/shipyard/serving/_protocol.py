"""uvicorn's httptools protocol with the limits it lacks: a header-read deadline and a header size cap.

uvicorn closes idle keep-alive connections but waits forever for a request's headers, so
a client sending one header byte every few seconds ("slowloris") holds a connection open
for good. Here the headers of every request must arrive within `header_timeout_s` and fit
in `max_header_bytes`, or the connection is closed (with a 431 for oversized headers).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TOO_LARGE_BODY = b'{"detail": "The request headers are too large."}'
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
)


class _HeadersTooLarge(Exception):
    """Raised inside the parser callbacks to stop reading oversized headers."""


def guarded_protocol(header_timeout_s: float, max_header_bytes: int) -> type[HttpToolsProtocol]:
    """An `HttpToolsProtocol` subclass enforcing these limits (uvicorn takes the class as `http=`)."""

    class GuardedProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_timer: asyncio.TimerHandle | None = None
            self._header_bytes = 0

        # uvicorn's own connection_made narrows asyncio's BaseTransport (and ignores [override]):
        # ours must take the same asyncio.Transport
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self._header_bytes += size
            if self._header_bytes > max_header_bytes:
                raise _HeadersTooLarge  # httptools stops parsing; uvicorn then calls send_400_response

        def send_400_response(self, msg: str) -> None:
            if self._header_bytes <= max_header_bytes:
                super().send_400_response(msg)
                return
            self._disarm()
            if not self.transport.is_closing():
                self.transport.write(_TOO_LARGE)
                self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_bytes = 0
                self._header_timer = self.loop.call_later(header_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedProtocol

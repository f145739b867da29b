"""uvicorn's HTTP protocol with a deadline for each request's head (its request line and headers).

uvicorn times a connection out only while it is idle between requests (keep-alive); a client that opens a
connection and sends nothing, or sends a request's head a byte at a time and stops, holds the connection and its
memory for as long as it likes (slowloris). greenfab/bodies.py times out a body that stops arriving, but a request
reaches the application, and so that guard, only once its head is complete: the deadline for the head is here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Seconds from a connection's start, or from the first byte of each next request on it, to the end of the
# request's headers. A browser or client sends a head in one write; 10 s is generous on any real link.
HEAD_TIMEOUT_S = 10.0


def _head_timeout_response(seconds: float) -> bytes:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "请求超时 / Request Timeout",
            "status": 408,
            "errors": [
                {
                    "path": "$",
                    "code": "head_timeout",
                    "message_zh": f"请求行和请求头未在 {seconds:g} 秒内送达，连接已关闭",
                    "message_en": f"the request line and headers did not arrive within {seconds:g} s; "
                    "the connection is closed",
                }
            ],
        },
        ensure_ascii=False,
    ).encode()
    return (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


class HeadDeadlineProtocol(HttpToolsProtocol):
    """httptools' protocol, closing a connection whose next request's head does not arrive in time (408)."""

    head_timeout_s = HEAD_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()  # a connection that never sends a byte is held no longer than a slow head

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_deadline is None:  # the first request keeps the deadline its connection started
            self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self.loop.call_later(self.head_timeout_s, self._head_too_late)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_late(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered (its head came in time); never cut a response short
        self.transport.write(_head_timeout_response(self.head_timeout_s))
        self.transport.close()

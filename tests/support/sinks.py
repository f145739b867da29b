"""Real receivers for notify's channels: an SMTP server (aiosmtpd) and a webhook endpoint that checks signatures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from aiosmtpd.controller import Controller

from services.notify.signature import valid
from tests.support.servers import free_port


@dataclass
class Mailbox:
    """What an SMTP server received."""

    port: int
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[Mailbox]:
    box = Mailbox(port or free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class WebhookSink:
    """Webhook calls received, each with whether its signature checked out against ``secrets``."""

    port: int
    secrets: dict[str, str] = field(default_factory=dict)  # path → secret
    calls: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # path → (status, body) instead of 204

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def webhook_server() -> Iterator[WebhookSink]:
    sink = WebhookSink(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            ts = int(self.headers.get("greenfab-timestamp", "0"))
            signature = self.headers.get("greenfab-signature", "")
            signed = valid(sink.secrets.get(self.path, ""), ts, body, signature, int(time.time()))
            delivery = unquote(self.headers.get("greenfab-delivery", ""))
            host = self.headers.get("host", "")
            sink.calls.append(
                {"path": self.path, "host": host, "delivery": delivery, "signed": signed, **json.loads(body)}
            )
            status, content = sink.answers.get(self.path, (204 if signed else 401, b""))
            self.send_response(status, "LEAKED-REASON" if content else None)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", sink.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()

"""Sending over e-mail (SMTP) and webhooks. Each send either returns or raises SendFailed with why."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import quote

import aiosmtplib
import httpx

from services.notify.signature import sign
from services.notify.tables import DeliveryRow, RecipientRow
from services.notify.webhook_guard import WebhookGuard, WebhookRefused, post


class SendFailed(Exception):
    """A try failed; the message says why (kept as the delivery's last error)."""


def delivery_key(d: DeliveryRow) -> str:
    """The delivery's stable key: the same on every try, so a receiver can drop a repeat."""
    return f"{d.source_event}/{d.recipient}/{d.channel}"


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int
    sender: str
    timeout_s: float
    username: str | None = None
    password: str | None = None
    starttls: bool = False

    async def send(self, d: DeliveryRow, to: RecipientRow) -> None:
        if not to.email:
            raise SendFailed(f"recipient {to.recipient} chose e-mail but has no address")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to.email, d.title
        # One Message-ID per delivery key: a repeat after a crash is the same message to the mail system.
        msg["Message-ID"] = make_msgid(idstring=str(d.id), domain="greenfab.local")
        msg["X-Greenfab-Delivery"] = str(d.id)  # the key itself is too long for an unencoded header
        msg.set_content(d.body)
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                timeout=self.timeout_s,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendFailed(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class WebhookChannel:
    timeout_s: float
    guard: WebhookGuard

    async def send(self, d: DeliveryRow, to: RecipientRow) -> None:
        if not to.webhook_url or not to.webhook_secret:
            raise SendFailed(f"recipient {to.recipient} chose webhooks but has no URL")
        try:
            target = await self.guard.target(to.webhook_url)
        except WebhookRefused as exc:
            raise SendFailed(f"webhook refused: {exc}") from exc
        body = json.dumps(
            {"delivery": delivery_key(d), "title": d.title, "body": d.body, "event": json.loads(d.payload)},
            ensure_ascii=False,
        ).encode()
        ts = int(time.time())
        headers = {
            "content-type": "application/json; charset=utf-8",
            "greenfab-timestamp": str(ts),
            "greenfab-signature": sign(to.webhook_secret, ts, body),
            # Recipients can be districts (大兴区): headers must be ASCII, so the key is percent-encoded.
            "greenfab-delivery": quote(delivery_key(d), safe="/:-_."),
        }
        # Only a status and a short reason are kept: the receiver's answer (its body, its own reason
        # phrase, an error's text) could carry anything, and the delivery log is shown to the caller.
        try:
            status = await post(target, body, headers, self.timeout_s)
        except httpx.TimeoutException as exc:
            raise SendFailed(f"webhook: no answer within {self.timeout_s:g} s ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise SendFailed(f"webhook: could not deliver ({type(exc).__name__})") from exc
        if status >= 300:
            raise SendFailed(f"webhook: HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip())

"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", as receivers check them.

Headers sent: `Greenfab-Timestamp` (Unix seconds), `Greenfab-Signature: v1=<hex>`,
`Greenfab-Delivery` (the delivery's stable key, percent-encoded, for the receiver to drop a repeat).
"""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def valid(secret: str, timestamp: int, body: bytes, signature: str, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (no replays)."""
    return abs(now - timestamp) <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature)

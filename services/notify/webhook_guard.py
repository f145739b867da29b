"""Resolving a webhook's host, checking every address it resolves to, and posting to the address checked.

The check runs when a URL is chosen (PUT /v1/channels) and again before every send, since a DNS
answer can change in between. The send then connects to the address that was checked, with the
URL's host in the Host header and as the TLS server name (so certificates are still verified
against the name): a second, different DNS answer cannot slip in between check and connection.
Proxies from the environment are ignored and redirects are not followed, for the same reason.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from services.notify.webhook_address import AllowList, IPAddress, addresses_problem, url_problem

Resolve = Callable[[str, int], Awaitable[list[IPAddress]]]


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for ``host``, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An IPv6 link-local answer carries its zone (fe80::1%eth0); the address alone is what is judged.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


class WebhookRefused(Exception):
    """The URL may not receive webhooks; the message says why, in English."""


@dataclass(frozen=True)
class Target:
    """Where one webhook call goes: ``url`` names the checked address in place of the host."""

    url: str
    host_header: str
    server_name: str | None


@dataclass(frozen=True)
class WebhookGuard:
    allow: AllowList = field(default_factory=AllowList)
    require_https: bool = True
    resolve: Resolve = system_resolve
    resolve_timeout_s: float = 5.0

    async def target(self, url: str) -> Target:
        """The checked address to post ``url``'s webhook to, or WebhookRefused."""
        problem = url_problem(url, self.require_https)
        if problem:
            raise WebhookRefused(problem)
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = [literal] if literal else await self._lookup(host, port)
        problem = addresses_problem(host, addresses, self.allow, literal is not None)
        if problem:
            raise WebhookRefused(problem)
        return Target(
            url=str(parsed.copy_with(host=str(addresses[0]))),
            host_header=parsed.netloc.decode("ascii"),
            server_name=None if literal else host,
        )

    async def _lookup(self, host: str, port: int) -> list[IPAddress]:
        try:
            return await asyncio.wait_for(self.resolve(host, port), self.resolve_timeout_s)
        except (OSError, TimeoutError, UnicodeError, ValueError):
            return []


async def post(target: Target, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    """POST ``body`` to the checked address; the answer's status. Its body is never read."""
    extensions = {"sni_hostname": target.server_name} if target.server_name else {}
    async with (
        httpx.AsyncClient(timeout=timeout_s, trust_env=False, follow_redirects=False) as client,
        client.stream(
            "POST", target.url, content=body, headers={**headers, "host": target.host_header}, extensions=extensions
        ) as answer,
    ):
        return answer.status_code

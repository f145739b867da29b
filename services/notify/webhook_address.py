"""Where a webhook may point: the public internet only, unless the operator allows a network or host.

A webhook URL is chosen by whoever holds a token, so without this check notify would POST to
anything the deployment can reach: its own services, the database, the cloud's metadata service.
Pure: these functions judge a URL and addresses already resolved; ``webhook_guard`` resolves the
host, calls them, and connects to the very address they passed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance metadata services: credentials live there (AWS, GCP, Azure, Alibaba, AWS ECS, AWS over IPv6).
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "169.254.169.253")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(r"(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?")


@dataclass(frozen=True)
class AllowList:
    """Networks (CIDR) and host names a webhook may reach although they are not public (tests, intranets)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """From entries such as ``10.20.0.0/16``, ``127.0.0.1``, ``hooks.intranet.example``; ValueError if bad."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_NAME.fullmatch(entry):
                raise ValueError(f"webhook allow-list entry {entry!r} is neither a network (CIDR) nor a host name")
            hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or int(address) >> 32 == 0:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not go to ``address`` (a short English phrase), or None when it is public."""
    if address in METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address) and not (address.is_loopback or address.is_unspecified):
        # Judged by the IPv4 address it reaches: NAT64 (DNS64) networks give IPv4-only hosts such addresses.
        inner = _embedded_ipv4(address)
        if inner is not None:
            why = refusal(inner)
            return f"an IPv6 form of {why}" if why else None
    for test, why in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return why
    if not address.is_global:
        return "not a public address"  # e.g. 100.64.0.0/10, shared by carriers and clouds
    return None


def url_problem(url: str, require_https: bool) -> str | None:
    """What is wrong with ``url`` as a webhook before any lookup, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "a webhook URL starts with https://"
    if require_https and parts.scheme != "https":
        return "webhooks must use https:// (plain http is allowed only where the operator allows it)"
    if not parts.hostname:
        return "a webhook URL names a host"
    return None


def addresses_problem(host: str, addresses: Iterable[IPAddress], allow: AllowList, literal: bool) -> str | None:
    """Why ``host``, resolved to ``addresses``, may not receive webhooks; None when every address may.

    Every address must pass, not just the first: a name that also resolves inside would let the
    connection go there. For a name (not a literal address) the answer does not say which address
    was refused, so the check cannot be used to read the deployment's internal DNS.
    """
    found = list(addresses)
    if allow.allows_host(host):
        return None if found else "the host does not resolve"
    if not found:
        return "the host does not resolve to a public address"
    for address in found:
        why = refusal(address)
        if why and not allow.allows(address):
            return f"{address} is {why}" if literal else "the host does not resolve to a public address only"
    return None

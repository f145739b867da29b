"""Which addresses a webhook may reach: public ones, and what the operator's allow-list names."""

from __future__ import annotations

import ipaddress

import pytest

from services.notify.webhook_address import AllowList, addresses_problem, refusal, url_problem

INSIDE = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "169.254.169.254": "metadata",  # AWS, GCP, Azure
    "169.254.170.2": "metadata",  # AWS ECS task credentials
    "100.100.100.200": "metadata",  # Alibaba Cloud
    "fd00:ec2::254": "metadata",  # AWS over IPv6
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "private",  # reserved for future use; the library files it under private
    "255.255.255.255": "private",
    "100.64.0.1": "not a public",  # carrier-grade NAT, shared
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:169.254.169.254": "metadata",
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "::127.0.0.1": "loopback",  # IPv4-compatible
    "2001:db8::1": "private",  # documentation
}


@pytest.mark.parametrize(("address", "kind"), INSIDE.items())
def test_every_inside_address_is_refused_and_named(address: str, kind: str) -> None:
    why = refusal(ipaddress.ip_address(address))
    assert why is not None and kind in why, (address, why)


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "::ffff:1.1.1.1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_a_name_is_refused_if_any_of_its_addresses_is_inside_without_saying_which() -> None:
    public, inside = ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.7")
    nothing = AllowList()
    assert addresses_problem("hooks.example", [public], nothing, literal=False) is None
    why = addresses_problem("hooks.example", [public, inside], nothing, literal=False)
    assert why is not None and "10.0.0.7" not in why, "the answer must not read the deployment's DNS out"
    assert addresses_problem("hooks.example", [], nothing, literal=False) is not None
    assert "10.0.0.7" in (addresses_problem("10.0.0.7", [inside], nothing, literal=True) or "")


def test_the_allow_list_admits_networks_and_names_for_tests_and_intranets() -> None:
    allow = AllowList.parse(["10.20.0.0/16", " 127.0.0.1 ", "Hooks.Intranet.example", ""])
    inside = ipaddress.ip_address("10.20.3.4")
    assert addresses_problem("x.example", [inside], allow, literal=False) is None
    assert addresses_problem("x.example", [ipaddress.ip_address("10.21.0.1")], allow, literal=False) is not None
    assert addresses_problem("hooks.intranet.example.", [ipaddress.ip_address("192.168.0.9")], allow, False) is None
    assert addresses_problem("hooks.intranet.example", [], allow, literal=False) is not None
    for bad in ("10.0.0.0/33", "http://x", "a b", "-x.example"):
        with pytest.raises(ValueError, match="allow-list"):
            AllowList.parse([bad])


def test_urls_must_be_https_unless_the_operator_allows_plain_http() -> None:
    assert url_problem("https://hooks.example/a", require_https=True) is None
    assert url_problem("http://hooks.example/a", require_https=True) is not None
    assert url_problem("http://hooks.example/a", require_https=False) is None
    assert url_problem("ftp://hooks.example/a", require_https=False) is not None
    assert url_problem("https:///a", require_https=True) is not None

"""IP address parsing and classification shared by the SSRF guard and the middleware chain."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "100::/64",
        "2001:db8::/32", "fd00:ec2::254/128",
    )
)
"""Never dialled by the SSRF guard: loopback, private, link-local, CGNAT, unique-local,
multicast, documentation, reserved, and cloud-metadata addresses."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Legacy inet_aton spellings: 2130706433, 0x7f000001, 0177.0.0.1, 127.1.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


def parse_ip(text: str) -> IPAddress | None:
    """A strict IP literal (``1.2.3.4``, ``::1``, ``[::1]``), or ``None``."""
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def parse_host_address(host: str) -> IPAddress | None:
    """The address a URL host means when it is an IP literal in any spelling a resolver accepts.

    Besides canonical forms this reads the legacy numeric encodings (``2130706433``,
    ``0x7f000001``, ``0177.0.0.1``, ``127.1``) exactly as ``inet_aton`` would, because the
    system resolver would read them that way too. Returns ``None`` for a host name.
    Raises ``ValueError`` for something numeric that no resolver would accept.
    """
    direct = parse_ip(host)
    if direct is not None:
        return direct
    if "%" in host:
        raise ValueError("scoped IPv6 addresses are not accepted")
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError as exc:
            raise ValueError(f"not a valid IPv4 address: {host!r}") from exc
    return None


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address tunnels to (mapped, compatible, NAT64, 6to4, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def is_blocked(address: IPAddress, allow: Iterable[IPNetwork] = ()) -> bool:
    """True when the SSRF guard must refuse ``address`` (``allow`` lists exempt networks)."""
    allowed = list(allow)
    if any(address in net for net in allowed if net.version == address.version):
        return False
    candidates: list[IPAddress] = [address, *embedded_ipv4(address)]
    for candidate in candidates:
        if any(candidate in net for net in BLOCKED_NETWORKS if net.version == candidate.version):
            return True
        if not candidate.is_global or candidate.is_multicast:
            return True
    return False


def parse_networks(entries: Iterable[str | IPNetwork]) -> list[IPNetwork]:
    """IPs and CIDRs (``"10.0.0.0/8"``, ``"192.168.1.2"``) as networks; raises ``ValueError``."""
    networks: list[IPNetwork] = []
    for entry in entries:
        if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(entry)
        else:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
    return networks


def is_loopback_ip(text: str | None) -> bool:
    """True for a loopback IP literal (``127.0.0.0/8``, ``::1``, IPv4-mapped loopback).

    Anything unparseable (a Unix socket, Litestar's ``"testclient"`` peer) is not loopback.
    """
    if not text:
        return False
    address = parse_ip(text)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback

"""The ``Host`` header, loopback names, the host allowlist and request origins."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from pluma_core.security.addresses import IPNetwork, is_loopback_ip, parse_ip

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def split_host(value: str | None) -> tuple[str, int | None] | None:
    """``"Example.org:8787"`` -> ``("example.org", 8787)``; ``[::1]:80`` -> ``("::1", 80)``.

    Returns ``None`` for an empty or malformed value.
    """
    if not value:
        return None
    text = value.strip()
    try:
        parts = urlsplit("//" + text)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return host.rstrip(".").lower(), port


def is_loopback_name(host: str) -> bool:
    """True for ``localhost`` (and ``*.localhost``), ``127.0.0.0/8`` and ``::1`` host names."""
    return host in LOOPBACK_NAMES or host.endswith(".localhost") or is_loopback_ip(host)


def is_ip_host(host: str) -> bool:
    """True when the host name is an IP literal (browsers refuse passkeys there)."""
    return parse_ip(host) is not None


class HostPatterns:
    """Compiled ``allowed_hosts``: IP literals, CIDRs and host-name patterns."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: list[IPNetwork] = []
        self.names: set[str] = set()
        self.suffixes: list[str] = []
        self.any = False
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            if entry == "*":
                self.any = True
            elif entry.startswith("*."):
                self.suffixes.append(entry[1:])
            else:
                try:
                    self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError:
                    self.names.add(entry)

    def matches(self, host: str) -> bool:
        """True when ``host`` (lower-case, no port) is admitted by a pattern."""
        if self.any or host in self.names:
            return True
        address = parse_ip(host)
        if address is not None:
            return any(address in net for net in self.networks if net.version == address.version)
        return any(host.endswith(suffix) and len(host) > len(suffix) for suffix in self.suffixes)


    def wildcard_for(self, host: str) -> str | None:
        """The wildcard entry (``*`` or ``*.suffix``) that admits ``host`` when no entry names it
        exactly; ``None`` when an exact name or IP entry admits it (or nothing does)."""
        if host in self.names:
            return None
        address = parse_ip(host)
        if address is not None:
            return "*" if self.any and not any(address in n for n in self.networks) else None
        for suffix in self.suffixes:
            if host.endswith(suffix) and len(host) > len(suffix):
                return "*" + suffix
        return "*" if self.any else None


@lru_cache(maxsize=32)
def compile_patterns(entries: tuple[str, ...]) -> HostPatterns:
    """Cached :class:`HostPatterns` (the config value is read on every request)."""
    return HostPatterns(entries)


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """Loopback names always; otherwise a match in ``allowed_hosts``."""
    return is_loopback_name(host) or compile_patterns(tuple(allowed_hosts)).matches(host)


def grace_group(host: str, allowed_hosts: Iterable[str]) -> str | None:
    """Which hosts share one first-pairing grace window with ``host``.

    Grace is per RP ID, but a client chooses its ``Host`` header: every name a pattern admits
    (``*.localhost``, ``*.example.org``, ``*``) would otherwise open a fresh grace window, and a
    passkey enrolled there would let a stranger in for good. So all loopback names form one
    group, and all names admitted by one wildcard entry form one group. ``None`` means the host
    was named exactly: its RP ID is its own group.
    """
    if is_loopback_name(host):
        return "loopback"
    return compile_patterns(tuple(allowed_hosts)).wildcard_for(host)


def origin_of(scheme: str, host_header: str) -> str:
    """The browser origin of a request: ``scheme://host[:port]`` (default ports dropped)."""
    parsed = split_host(host_header)
    if parsed is None:
        return ""
    host, port = parsed
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme in ("https", "wss") else 80
    web_scheme = "https" if scheme in ("https", "wss") else "http"
    return f"{web_scheme}://{shown}" if port in (None, default) else f"{web_scheme}://{shown}:{port}"


def normalise_origin(value: str) -> str | None:
    """An ``Origin`` header in the same canonical form as :func:`origin_of`; ``None`` if opaque."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        return None
    try:
        return origin_of(parts.scheme, parts.netloc) or None
    except ValueError:
        return None

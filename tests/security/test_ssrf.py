"""The SSRF-guarded fetcher against loopback fake servers and resolvers the test controls.

No test dials a private, link-local or metadata address: refusals are proven by a network
backend that records every dial (and fails the test on an unexpected one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import pytest

from pluma_core.errors import BadRequest, PayloadTooLarge, UpstreamError, UpstreamTimeout
from pluma_core.security.ssrf import REFUSED_MESSAGE, SsrfGuardedFetcher, static_resolver
from pluma_core.testing import RawHTTPServer, RawRequest, RawResponder


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The real AnyIO backend, remembering every (host, port) dialled; only loopback allowed."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.dials: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        self.dials.append((host, port))
        assert host == "127.0.0.1", f"the guard let a dial to {host} through"
        return await self.inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                            socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded(
    backend: RecordingBackend, names: dict[str, Any] | None = None, allow_loopback: bool = True
) -> SsrfGuardedFetcher:
    return SsrfGuardedFetcher(
        resolver=static_resolver(names or {"cards.test": "127.0.0.1"}),
        allow_networks=["127.0.0.1/32"] if allow_loopback else [],
        network_backend=backend,
    )


async def card(request: RawRequest, respond: RawResponder) -> None:
    await respond.send(200, b"PNGDATA", content_type="image/png", headers={"X-Echo-Host": request.headers["host"]})


async def test_fetches_public_name_from_fake_server() -> None:
    backend = RecordingBackend()
    with RawHTTPServer(card) as server:
        result = await guarded(backend).fetch(f"http://cards.test:{server.port}/a.png", max_bytes=100)
    assert result.status == 200
    assert result.content == b"PNGDATA"
    assert result.headers["content-type"] == "image/png"
    assert result.headers["x-echo-host"] == f"cards.test:{server.port}"
    assert server.requests[0].headers["user-agent"].startswith("Pluma/")
    assert backend.dials == [("127.0.0.1", server.port)]


BLOCKED_HOSTS = [
    "127.0.0.1", "127.0.0.2", "2130706433", "0x7f000001", "0x7f.0.0.1", "127.1", "0",
    "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]", "169.254.169.254", "2852039166", "[::ffff:169.254.169.254]",
    "[fd00:ec2::254]", "100.100.100.200", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1",
    "[fc00::1]", "[fe80::1]", "224.0.0.1", "[ff02::1]", "0.0.0.0", "255.255.255.255", "240.0.0.1",
]


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
async def test_refuses_local_and_private_literals(host: str) -> None:
    backend = RecordingBackend()
    fetcher = guarded(backend, allow_loopback=False)
    with pytest.raises(BadRequest) as caught:
        await fetcher.fetch(f"http://{host}/latest/meta-data/", max_bytes=100)
    assert caught.value.status_code == 400
    assert caught.value.message == REFUSED_MESSAGE
    assert backend.dials == []


@pytest.mark.parametrize(
    "answer",
    [["10.1.2.3"], ["169.254.169.254"], ["::1"], ["::ffff:10.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["fe80::1%eth0"]],
)
async def test_refuses_names_that_resolve_to_blocked_addresses(answer: list[str]) -> None:
    backend = RecordingBackend()
    fetcher = guarded(backend, {"evil.test": answer}, allow_loopback=False)
    with pytest.raises(BadRequest, match=REFUSED_MESSAGE):
        await fetcher.fetch("https://evil.test/card.png", max_bytes=100)
    assert backend.dials == []


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://cards.test/x", "gopher://cards.test/", "http://user:pw@cards.test/x", "not a url"],
)
async def test_refuses_other_schemes_and_userinfo(url: str) -> None:
    backend = RecordingBackend()
    with pytest.raises(BadRequest):
        await guarded(backend).fetch(url, max_bytes=100)
    assert backend.dials == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://metadata.test/computeMetadata/v1/",
        "http://2852039166/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://127.0.0.2/",
    ],
)
async def test_redirect_hops_are_rechecked(location: str) -> None:
    async def redirect(request: RawRequest, respond: RawResponder) -> None:
        await respond.send(302, b"", headers={"Location": location})

    backend = RecordingBackend()
    fetcher = guarded(backend, {"cards.test": "127.0.0.1", "metadata.test": "169.254.169.254"})
    with RawHTTPServer(redirect) as server, pytest.raises(BadRequest, match=REFUSED_MESSAGE):
        await fetcher.fetch(f"http://cards.test:{server.port}/start", max_bytes=100)
    assert backend.dials == [("127.0.0.1", server.port)]


async def test_follows_five_redirects_and_strips_credentials_across_hosts() -> None:
    async def chain(request: RawRequest, respond: RawResponder) -> None:
        step = int(request.path.rsplit("/", 1)[-1])
        if step < 5:
            host = "cards.test" if step < 2 else "mirror.test"
            port = request.headers["host"].split(":")[1]
            await respond.send(307 if step % 2 else 301, b"", headers={"Location": f"http://{host}:{port}/{step + 1}"})
        else:
            await respond.send(200, b"done", content_type="text/plain")

    backend = RecordingBackend()
    fetcher = guarded(backend, {"cards.test": "127.0.0.1", "mirror.test": "127.0.0.1"})
    with RawHTTPServer(chain) as server:
        result = await fetcher.fetch(f"http://cards.test:{server.port}/0", max_bytes=100,
                                     headers={"Authorization": "Bearer secret"})
    assert result.content == b"done"
    assert result.url == f"http://mirror.test:{server.port}/5"
    assert [r.path for r in server.requests] == ["/0", "/1", "/2", "/3", "/4", "/5"]
    assert "authorization" in server.requests[1].headers
    assert all("authorization" not in r.headers for r in server.requests[3:])


async def test_more_than_five_redirects_fail() -> None:
    async def loop(request: RawRequest, respond: RawResponder) -> None:
        await respond.send(302, b"", headers={"Location": "/again"})

    with RawHTTPServer(loop) as server, pytest.raises(UpstreamError, match="too many redirects"):
        await guarded(RecordingBackend()).fetch(f"http://cards.test:{server.port}/", max_bytes=100)
    assert len(server.requests) == 6


async def test_size_cap_declared_and_streamed() -> None:
    async def declared(request: RawRequest, respond: RawResponder) -> None:
        await respond.send(200, b"x" * 200)

    async def chunked(request: RawRequest, respond: RawResponder) -> None:
        await respond.head(200, {"Transfer-Encoding": "chunked"})
        for _ in range(10):
            await respond.write(b"20\r\n" + b"y" * 32 + b"\r\n")
        await respond.write(b"0\r\n\r\n")

    for handler in (declared, chunked):
        with RawHTTPServer(handler) as server, pytest.raises(PayloadTooLarge) as caught:
            await guarded(RecordingBackend()).fetch(f"http://cards.test:{server.port}/", max_bytes=100)
        assert caught.value.status_code == 413


async def test_time_cap() -> None:
    async def silent(request: RawRequest, respond: RawResponder) -> None:
        await respond.head(200, {"Content-Length": "10"})
        import asyncio

        await asyncio.sleep(30)

    with RawHTTPServer(silent) as server, pytest.raises(UpstreamTimeout) as caught:
        await guarded(RecordingBackend()).fetch(f"http://cards.test:{server.port}/", max_bytes=100, timeout=0.3)
    assert caught.value.status_code == 504


async def test_resolves_once_and_dials_the_checked_address() -> None:
    """A rebinding resolver's second answer is never asked for: the checked IP is dialled."""
    answers = [["127.0.0.1"], ["10.0.0.1"]]
    calls: list[str] = []

    async def rebinding(host: str) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), 2) - 1]

    backend = RecordingBackend()
    fetcher = SsrfGuardedFetcher(resolver=rebinding, allow_networks=["127.0.0.1"], network_backend=backend)
    with RawHTTPServer(card) as server:
        result = await fetcher.fetch(f"http://rebind.test:{server.port}/", max_bytes=100)
    assert result.status == 200
    assert calls == ["rebind.test"]
    assert backend.dials == [("127.0.0.1", server.port)]


async def test_unknown_name_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="could not resolve"):
        await guarded(RecordingBackend()).fetch("http://nowhere.test/", max_bytes=100)

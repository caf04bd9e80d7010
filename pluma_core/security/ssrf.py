"""The SSRF-guarded fetcher for URLs a user pastes (card and voice imports).

The guard sits where the socket is opened: a custom httpcore network backend resolves the host
itself, refuses the connection when any address is loopback, private, link-local, CGNAT,
unique-local, multicast or cloud metadata, and then dials exactly the address it checked, so a
second DNS answer cannot rebind the connection. Redirects are followed by hand (at most 5) and
every hop goes through the same dial; size and time are capped.
"""

from __future__ import annotations

import inspect
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import anyio
import httpcore
import httpx

from pluma_core.errors import BadRequest, PayloadTooLarge, UpstreamError, UpstreamTimeout
from pluma_core.http.clients import USER_AGENT
from pluma_core.security.addresses import IPAddress, IPNetwork, is_blocked, parse_host_address, parse_ip, parse_networks
from pluma_core.services import FetchResult

REFUSED_MESSAGE = "refusing to fetch private or local address"
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
_REDIRECTS = {301, 302, 303, 307, 308}
_CREDENTIAL_HEADERS = {"authorization", "cookie", "proxy-authorization"}

Resolver = Callable[[str], Awaitable[Iterable[str]] | Iterable[str]]
"""``resolver(host) -> addresses`` (sync or async): the IP strings ``host`` resolves to."""


class AddressRefused(Exception):
    """Raised at dial time when a host resolves to an address the guard refuses."""


async def system_resolver(host: str) -> list[str]:
    """The operating system's resolver (``getaddrinfo``), every address it returns."""
    try:
        infos = await anyio.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UpstreamError(f"could not resolve host {host!r}") from exc
    return [str(info[4][0]) for info in infos]


def static_resolver(table: Mapping[str, str | Sequence[str]]) -> Resolver:
    """A resolver for tests: ``static_resolver({"cards.test": "127.0.0.1"})``.

    Unknown names fail like an NXDOMAIN (502), so a test never reaches real DNS.
    """
    normalised = {name.lower().rstrip("."): [v] if isinstance(v, str) else list(v) for name, v in table.items()}

    def resolve(host: str) -> list[str]:
        try:
            return normalised[host.lower().rstrip(".")]
        except KeyError:
            raise UpstreamError(f"could not resolve host {host!r}") from None

    return resolve


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, and connects only to a checked one."""

    def __init__(self, fetcher: SsrfGuardedFetcher, inner: httpcore.AsyncNetworkBackend) -> None:
        self._fetcher = fetcher
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._fetcher.checked_addresses(host)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are never dialled")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that dials through :class:`_GuardedBackend`."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(trust_env=False, retries=0)
        # httpx has no public parameter for the network backend, so the pool is rebuilt here.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=backend, max_connections=4, retries=0,
        )


class SsrfGuardedFetcher:
    """Implements :class:`pluma_core.services.UrlFetcher` for user-supplied URLs.

    ``resolver`` (default: the system resolver) maps a host name to IP strings; it may be sync or
    async. ``allow_networks`` lists IPs/CIDRs exempt from the block list. Tests point a made-up
    name at a loopback fake server like this::

        fetcher = SsrfGuardedFetcher(
            resolver=static_resolver({"cards.test": "127.0.0.1"}),
            allow_networks=["127.0.0.1/32"],
        )
        result = await fetcher.fetch(f"http://cards.test:{port}/card.png", max_bytes=1 << 20)

    and install it with ``pluma.url_fetcher = fetcher``. ``network_backend`` replaces the
    httpcore backend under the guard (tests use it to record which addresses were dialled).
    """

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        allow_networks: Iterable[str | IPNetwork] = (),
        connect_timeout: float = CONNECT_TIMEOUT,
        max_redirects: int = MAX_REDIRECTS,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolver: Resolver = resolver or system_resolver
        self._allow = parse_networks(allow_networks)
        self._connect_timeout = connect_timeout
        self._max_redirects = max_redirects
        self._inner_backend = network_backend or httpcore.AnyIOBackend()
        self._ssl_context: ssl.SSLContext | None = None

    # -- the check ------------------------------------------------------------------------------
    def check_address(self, address: IPAddress) -> None:
        """Raise :class:`AddressRefused` when ``address`` may not be dialled."""
        if is_blocked(address, self._allow):
            raise AddressRefused(REFUSED_MESSAGE)

    async def checked_addresses(self, host: str) -> list[IPAddress]:
        """Every address ``host`` means, all checked; refuses if any one is blocked."""
        try:
            literal = parse_host_address(host)
        except ValueError as exc:
            raise AddressRefused(REFUSED_MESSAGE) from exc
        if literal is not None:
            self.check_address(literal)
            return [literal]
        answer = self._resolver(host)
        raw = await answer if inspect.isawaitable(answer) else answer
        addresses: list[IPAddress] = []
        for text in raw:
            address = parse_ip(str(text).split("%", 1)[0])
            if address is None:
                raise AddressRefused(REFUSED_MESSAGE)
            self.check_address(address)
            addresses.append(address)
        if not addresses:
            raise UpstreamError(f"could not resolve host {host!r}")
        return addresses

    # -- fetching -------------------------------------------------------------------------------
    def _client(self) -> httpx.AsyncClient:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(trust_env=False)
        transport = _GuardedTransport(_GuardedBackend(self, self._inner_backend), self._ssl_context)
        return httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    @staticmethod
    def _check_url(url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise BadRequest("invalid URL") from exc
        if parsed.scheme not in ("http", "https"):
            raise BadRequest("refusing to fetch: only http and https URLs are allowed")
        if parsed.userinfo:
            raise BadRequest("refusing to fetch: URLs with user:password@ are not allowed")
        if not parsed.host:
            raise BadRequest("invalid URL: no host")
        return parsed

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        timeout: float = 60.0,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET ``url`` following at most 5 redirects, every hop re-checked at dial time.

        Raises ``BadRequest`` for a refused address or scheme, ``PayloadTooLarge`` past
        ``max_bytes``, ``UpstreamTimeout`` past ``timeout`` seconds and ``UpstreamError`` for
        other network failures.
        """
        current = self._check_url(url)
        request_headers = dict(headers or {})
        try:
            with anyio.fail_after(timeout):
                async with self._client() as client:
                    for _hop in range(self._max_redirects + 1):
                        result = await self._one_hop(client, method, current, request_headers, max_bytes, timeout)
                        if isinstance(result, FetchResult):
                            return result
                        target = self._check_url(str(current.join(result)))
                        if (target.scheme, target.host, target.port) != (current.scheme, current.host, current.port):
                            request_headers = {
                                k: v for k, v in request_headers.items() if k.lower() not in _CREDENTIAL_HEADERS
                            }
                        current = target
                        if method not in ("GET", "HEAD"):
                            method = "GET"
                    raise UpstreamError(f"too many redirects (more than {self._max_redirects})")
        except AddressRefused as exc:
            raise BadRequest(str(exc)) from None
        except TimeoutError as exc:
            raise UpstreamTimeout("the remote server did not answer in time") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("the remote server did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"fetch failed: {type(exc).__name__}") from exc

    async def _one_hop(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        max_bytes: int,
        timeout: float,
    ) -> FetchResult | str:
        """One request: a ``FetchResult``, or the ``Location`` of a redirect to follow."""
        limits = httpx.Timeout(timeout, connect=min(self._connect_timeout, timeout))
        request = client.build_request(method, url, headers=headers, timeout=limits)
        response = await client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                return location
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise PayloadTooLarge(f"the remote file is larger than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise PayloadTooLarge(f"the remote file is larger than {max_bytes} bytes")
            return FetchResult(
                url=str(url),
                status=response.status_code,
                headers={k: ", ".join(response.headers.get_list(k)) for k in response.headers},
                content=bytes(body),
            )
        finally:
            await response.aclose()

"""Which upstream a chat goes to: saved profiles, the active one, the ``--base-url`` fallback.

Providers are built per request from the registered factories, each with the pooled httpx client
of its profile (``pluma.http``, closed at shutdown) and its key from the keyring.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from msgspec import UNSET, UnsetType

from pluma_core.errors import BadRequest, NotConfigured, NotFound, PlumaError, UpstreamError
from pluma_core.facade import Pluma
from pluma_core.ids import new_id, validate_id

from .providers.base import ChatProvider, ProviderProfile
from .schemas import Connection, ConnectionIn, LlmKeys
from .store import ConnectionStore, Profile

FALLBACK_ID = "fallback"
CHAT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=60.0, pool=30.0)
Source = Literal["profile", "fallback", "none"]


def secret_name(cid: str) -> str:
    """The keyring entry of a profile's API key."""
    return f"connection:{cid}"


def check_base_url(url: str) -> str:
    """An ``http(s)://host[:port][/path]`` URL without credentials, trailing ``/`` removed."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("base_url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise BadRequest("base_url must not contain credentials; use api_key")
    if parts.query or parts.fragment:
        raise BadRequest("base_url must not have a query or fragment")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise BadRequest("base_url has an invalid port") from exc
    return url.rstrip("/")


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one filled in) of a checked ``base_url``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def check_api_key(key: str | None) -> str | None:
    """A key that can go in an HTTP header: no control characters, nothing outside latin-1.

    Checked when the key arrives, so a pasted key with a line break is a clear 400 rather than
    a failure deep in the HTTP client on every later request. The message never shows the key.
    """
    if key is None:
        return None
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in key):
        raise BadRequest("api_key must not contain control characters (line breaks, tabs...)")
    if any(ord(c) > 0xFF for c in key):
        raise BadRequest("api_key must contain only latin-1 characters (API keys are plain ASCII)")
    return key


class Connections:
    """Profiles CRUD with keys in the keyring, and provider construction. Methods are blocking."""

    def __init__(self, pluma: Pluma) -> None:
        self.pluma = pluma
        self.store = ConnectionStore(pluma.db)
        # The chat path resolves the active profile and its key on every request; both change
        # only through this object, so they are cached and every write bumps the generation.
        self._generation = 0
        self._cached: tuple[ProviderProfile, str | None] | None = None

    def _changed(self) -> None:
        self._generation += 1
        self._cached = None

    # -- profiles ----------------------------------------------------------------------------
    def redact(self, profile: Profile) -> Connection:
        """The public form: no key, ``has_key`` instead."""
        return Connection(
            id=profile["id"], name=profile["name"], compat=profile["compat"], base_url=profile["base_url"],
            model=profile["model"], has_key=self.pluma.secrets.get(secret_name(profile["id"])) is not None,
            created_at=profile["created_at"], updated_at=profile["updated_at"],
        )

    def check_compat(self, compat: str) -> str:
        """A compat id some plugin registered a provider for."""
        if compat not in self.pluma.llm_providers:
            known = ", ".join(self.pluma.llm_providers.names()) or "none"
            raise BadRequest(f"unknown compat {compat!r} (registered providers: {known})")
        return compat

    def save(self, body: ConnectionIn) -> Connection:
        """Create (no or unknown ``id``) or update a profile; a non-empty ``api_key`` goes to the keyring.

        On an update, a field the body omits keeps its stored value: only sent fields change.

        An update that moves ``base_url`` to another origin (scheme, host or port) without a new
        ``api_key`` forgets the stored key: it was given for the old server, not the new one.
        """
        cid = validate_id(body.id, "connection id") if body.id else new_id()
        if cid == FALLBACK_ID:
            raise BadRequest(f"{FALLBACK_ID!r} is reserved for the --base-url connection")
        previous = self.store.get(cid)
        if body.base_url is not UNSET:
            base_url = check_base_url(body.base_url)
        elif previous is not None:
            base_url = previous["base_url"]
        else:
            raise BadRequest("base_url is required to create a connection")
        compat = self.check_compat(_sent(body.compat, previous, "compat", "openai"))
        api_key = check_api_key(body.api_key)
        name = _sent(body.name, previous, "name", "").strip() or (urlsplit(base_url).hostname or base_url)
        model = _sent(body.model, previous, "model", "").strip()
        profile, _ = self.store.save(cid, name=name, compat=compat, base_url=base_url, model=model)
        if api_key:
            self.pluma.secrets.set(secret_name(cid), api_key)
        elif previous is not None and origin(previous["base_url"]) != origin(base_url):
            self.pluma.secrets.delete(secret_name(cid))
        self._changed()
        return self.redact(profile)

    def stored_key_for(self, cid: str, base_url: str) -> str | None:
        """The stored key of profile ``cid``, only if ``base_url`` has the profile's origin."""
        profile = self.store.get(cid)
        if profile is None or origin(profile["base_url"]) != origin(base_url):
            return None
        return self.pluma.secrets.get(secret_name(cid))

    def key(self, profile: ProviderProfile) -> str | None:
        """The stored key of ``profile`` (blocking: keyring), ``None`` for the fallback."""
        return None if profile.id == FALLBACK_ID else self.pluma.secrets.get(secret_name(profile.id))

    def require(self, cid: str) -> Profile:
        """A saved profile, or 404."""
        profile = self.store.get(validate_id(cid, "connection id"))
        if profile is None:
            raise NotFound(f"no connection {cid!r}")
        return profile

    def delete(self, cid: str) -> None:
        """Remove the profile and its key."""
        validate_id(cid, "connection id")
        if not self.store.delete(cid):
            raise NotFound(f"no connection {cid!r}")
        self.pluma.secrets.delete(secret_name(cid))
        self._changed()

    def clear_key(self, cid: str) -> None:
        """Forget the API key, keep the profile."""
        self.require(cid)
        self.pluma.secrets.delete(secret_name(cid))
        self._changed()

    def activate(self, cid: str) -> str:
        """Make a saved profile the one ``/api/chat`` uses."""
        self.require(cid)
        self.store.set_active(cid)
        self._changed()
        return cid

    def fallback_url(self) -> str | None:
        """``--base-url`` / ``PLUMA_BASE_URL`` / ``base_url`` in config.toml, if set."""
        url = self.pluma.config.get(LlmKeys).base_url.strip()
        return url.rstrip("/") or None

    # -- resolution --------------------------------------------------------------------------
    def active(self) -> tuple[ProviderProfile | None, Source]:
        """The active profile, else the first profile, else the fallback (only with no profiles)."""
        cid = self.store.active_id()
        profile = self.store.get(cid) if cid else None
        if profile is None:
            profiles = self.store.list()
            profile = profiles[0] if profiles else None
        if profile is not None:
            return _as_provider_profile(profile), "profile"
        url = self.fallback_url()
        if url:
            return ProviderProfile(id=FALLBACK_ID, name="--base-url", compat="openai", base_url=url), "fallback"
        return None, "none"

    def provider(self, profile: ProviderProfile, api_key: str | None = None,
                 client: httpx.AsyncClient | None = None, lookup_key: bool = True) -> ChatProvider:
        """Build the provider for ``profile`` with its pooled client and (unless given) stored key."""
        factory = self.pluma.llm_providers.get(profile.compat)
        if factory is None:
            raise NotConfigured(f"no provider is registered for compat {profile.compat!r}")
        if api_key is None and lookup_key and profile.id != FALLBACK_ID:
            api_key = self.pluma.secrets.get(secret_name(profile.id))
        if client is None:
            client = self.pluma.http.client(secret_name(profile.id), base_url=profile.base_url,
                                            timeout=CHAT_TIMEOUT)
        try:
            provider: Any = factory(profile=profile, api_key=api_key, client=client)
        except PlumaError:
            raise
        except Exception as exc:
            raise UpstreamError(f"the {profile.compat!r} provider failed to start: {type(exc).__name__}") from exc
        return provider

    def resolve_active(self) -> tuple[ProviderProfile, str | None]:
        """The active profile and its key (blocking: database and keyring), or 503."""
        generation = self._generation
        profile, _ = self.active()
        if profile is None:
            raise NotConfigured("no LLM connection: add one, or start Pluma with --base-url")
        key = self.key(profile)
        if generation == self._generation:
            self._cached = (profile, key)
        return profile, key

    def cached_active(self) -> tuple[ProviderProfile, str | None] | None:
        """The last resolution, if nothing changed since (no I/O)."""
        return self._cached

    def active_provider(self) -> tuple[ProviderProfile, ChatProvider, str | None]:
        """The provider ``/api/chat`` uses now and its key (to redact), or 503 (blocking on a cache miss)."""
        profile, key = self._cached or self.resolve_active()
        return profile, self.provider(profile, api_key=key, lookup_key=False), key


def _sent(value: str | UnsetType, previous: Profile | None, field: str, default: str) -> str:
    """A field of ``PUT /api/connections``: as sent, else the stored value (update), else ``default``."""
    if value is not UNSET:
        return value
    return str(previous[field]) if previous is not None else default


def _as_provider_profile(profile: Profile) -> ProviderProfile:
    return ProviderProfile(id=profile["id"], name=profile["name"], compat=profile["compat"],
                           base_url=profile["base_url"], model=profile["model"])

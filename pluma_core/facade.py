"""The object every hook receives: what a plugin may use of the host.

New attributes may be added over time; hooks receive this one object, so adding one never
breaks an existing plugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.di import NamedDependency

from pluma_core import __version__
from pluma_core.config import Config, Settings
from pluma_core.conversations.store import ConversationStore
from pluma_core.http.clients import HttpClients
from pluma_core.jobs import JobRegistry
from pluma_core.plugins import PluginHost
from pluma_core.registry_types import HealthCheck, Registry
from pluma_core.services import UrlFetcher
from pluma_core.storage.crypto import Cipher
from pluma_core.storage.db import Database
from pluma_core.storage.secrets import SecretStore


class Pluma:
    """The app facade handed to hooks and injected into handlers as ``pluma``.

    Attributes: ``settings``, ``config``, ``data_dir``, ``db``, ``secrets``, ``cipher``,
    ``conversations``, ``http``, ``jobs``, ``plugins``, the registries ``llm_providers``,
    ``image_backends``, ``tts_providers``, ``health_checks``, and ``services``: shared services
    that one plugin provides and another uses (e.g. ``"prompt_builder"``), so plugins never
    import each other. ``state`` is scratch space for the core.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        config: Config,
        data_dir: Path,
        db: Database,
        secrets: SecretStore,
        cipher: Cipher,
        conversations: ConversationStore,
        http: HttpClients,
        jobs: JobRegistry,
        plugins: PluginHost,
    ) -> None:
        self.settings = settings
        self.config = config
        self.data_dir = data_dir
        self.db = db
        self.secrets = secrets
        self.cipher = cipher
        self.conversations = conversations
        self.http = http
        self.jobs = jobs
        self.plugins = plugins
        self.llm_providers: Registry[Any] = Registry("LLM provider")
        self.image_backends: Registry[Any] = Registry("image backend")
        self.tts_providers: Registry[Any] = Registry("TTS provider")
        self.health_checks: Registry[HealthCheck] = Registry("health check")
        self.services: Registry[Any] = Registry("service")
        self.version = __version__
        self.state: dict[str, Any] = {}
        # The SSRF-guarded fetcher for user-pasted URLs (set by the core security module).
        self.url_fetcher: UrlFetcher | None = None


PlumaDep = NamedDependency[Pluma]
"""Annotate a handler parameter ``pluma: PlumaDep`` to receive the facade."""

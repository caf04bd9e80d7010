"""One test per hook (named ``test_hook_<hook>``) and a meta-test that keeps it so."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from pathlib import Path

import click
import msgspec
import pytest
from click.testing import CliRunner
from litestar import Request, Response, get
from litestar.middleware import ASGIMiddleware
from litestar.testing import TestClient

from pluma_core import hookimpl, hookspecs
from pluma_core.errors import StartupError
from pluma_core.plugins import PluginHost
from pluma_core.registry_types import ConfigSection, HealthCheck, MiddlewareOrder, MiddlewareSpec, Migrations

REPO = Path(__file__).resolve().parents[2]
HOOK_NAMES = sorted(name for name in dir(hookspecs) if name.startswith("register_"))


def test_every_hook_is_documented_and_has_a_test() -> None:
    docs = (REPO / "docs" / "hooks.md").read_text("utf-8")
    tests = "\n".join(p.read_text("utf-8") for p in (REPO / "tests").rglob("test_*.py"))
    for name in HOOK_NAMES:
        assert re.search(rf"^## `{name}\(", docs, re.M), f"docs/hooks.md has no section for {name}"
        assert f"def test_hook_{name}(" in tests, f"no test_hook_{name} in tests/"


class DemoSettings(msgspec.Struct, kw_only=True):
    greeting: str = "hello"
    volume: int = 3
    tags: list[str] = msgspec.field(default_factory=list)


class ConfigPlugin:
    PLUGIN_NAME = "demo"

    @hookimpl
    def register_config_sections(self):
        return [ConfigSection(schema=DemoSettings, table="demo")]


def test_hook_register_config_sections(make_app, pluma_settings) -> None:
    toml = '# my notes stay\n[demo]\n# loud!\nvolume = 7\n'
    app = make_app(plugins=[ConfigPlugin()], config_toml=toml, env={"PLUMA_DEMO_GREETING": "hi"})
    config = app.state["pluma"].config
    assert config.get(DemoSettings) == DemoSettings(greeting="hi", volume=7, tags=[])
    config.update(DemoSettings, tags=["a", "b"])
    text = (pluma_settings.data_dir / "config.toml").read_text()
    assert "# my notes stay" in text and "# loud!" in text and 'tags = ["a", "b"]' in text
    with pytest.raises(StartupError, match=r"config.toml: unknown key 'colour' in table \[demo\]"):
        make_app(plugins=[ConfigPlugin()], config_toml="[demo]\ncolour = 'red'\n")
    with pytest.raises(StartupError, match=r"invalid value in table \[demo\]"):
        make_app(plugins=[ConfigPlugin()], config_toml="[demo]\nvolume = 'loud'\n")


class MigrationPlugin:
    PLUGIN_NAME = "notes"
    steps = ["CREATE TABLE notes (id TEXT PRIMARY KEY);"]

    @hookimpl
    def register_migrations(self):
        return [Migrations("notes", list(self.steps))]


def test_hook_register_migrations(make_app) -> None:
    plugin = MigrationPlugin()
    db = make_app(plugins=[plugin]).state["pluma"].db
    db.execute("INSERT INTO notes(id) VALUES ('a')")
    assert db.version("notes") == 1
    db.close()
    plugin.steps = [*MigrationPlugin.steps, "ALTER TABLE notes ADD COLUMN body TEXT;"]
    db = make_app(plugins=[plugin]).state["pluma"].db
    assert db.version("notes") == 2
    assert [tuple(r) for r in db.query("SELECT id, body FROM notes")] == [("a", None)]
    db.close()
    plugin.steps = plugin.steps[:1]
    with pytest.raises(StartupError, match="newer than this code knows"):
        make_app(plugins=[plugin])


def test_hook_register_services(make_app) -> None:
    class Clock:
        def now(self) -> str:
            return "noon"

    @get("/api/clock")
    async def clock(request: Request) -> dict[str, str]:
        return {"now": request.app.state["pluma"].services.require("clock").now()}

    class Provider:
        PLUGIN_NAME = "clock-provider"

        @hookimpl
        def register_services(self, pluma):
            return {"clock": Clock()}

    seen_at_route_time: list[object] = []

    class Consumer:
        PLUGIN_NAME = "clock-consumer"

        @hookimpl
        def register_routes(self, pluma):
            seen_at_route_time.append(pluma.services.get("clock"))
            return [clock]

    # The consumer registers first, yet sees the service: services are published before routes.
    with TestClient(make_app(plugins=[Consumer(), Provider()]), base_url="http://localhost") as client:
        assert client.get("/api/clock").json() == {"now": "noon"}
    assert isinstance(seen_at_route_time[0], Clock)
    with TestClient(make_app(plugins=[Consumer()]), base_url="http://localhost") as client:
        response = client.get("/api/clock")
    assert response.status_code == 503 and "'clock'" in response.json()["error"]
    with pytest.raises(StartupError, match="duplicate service 'clock'"):
        make_app(plugins=[Provider(), type("Again", (Provider,), {"PLUGIN_NAME": "again"})()])


def test_hook_register_routes(make_app) -> None:
    @get("/api/echo-facade")
    async def echo(request: Request) -> dict[str, str]:
        return {"version": request.app.state["pluma"].version}

    class RoutePlugin:
        PLUGIN_NAME = "echo"

        @hookimpl
        def register_routes(self, pluma):
            return [echo]

    with TestClient(make_app(plugins=[RoutePlugin()]), base_url="http://localhost") as client:
        assert client.get("/api/echo-facade").json()["version"]


def _tagging_middleware(tag: str):
    class Tag(ASGIMiddleware):
        async def handle(self, scope, receive, send, next_app) -> None:
            async def tagged_send(message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"x-chain", tag.encode())]
                await send(message)

            await next_app(scope, receive, tagged_send)

    return Tag


def test_hook_register_middleware(make_app) -> None:
    class ChainPlugin:
        PLUGIN_NAME = "chain"

        @hookimpl
        def register_middleware(self, pluma):
            return [
                MiddlewareSpec("inner", MiddlewareOrder.CORS + 1, lambda p: _tagging_middleware("inner")()),
                MiddlewareSpec("outer", MiddlewareOrder.TRUSTED_PROXIES - 1, lambda p: _tagging_middleware("outer")()),
            ]

    with TestClient(make_app(plugins=[ChainPlugin()]), base_url="http://localhost") as client:
        # Headers are appended on the way out: the innermost middleware adds its tag first.
        tags = client.get("/api/plugins").headers.get_list("x-chain")
    assert tags == ["inner", "outer"]


def test_hook_register_lifespan(make_app) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan():
        events.append("start")
        yield
        events.append("stop")

    class LifePlugin:
        PLUGIN_NAME = "life"

        @hookimpl
        def register_lifespan(self, pluma):
            return lifespan

    with TestClient(make_app(plugins=[LifePlugin()]), base_url="http://localhost"):
        assert events == ["start"]
    assert events == ["start", "stop"]


def _registry_plugin(hook: str, key: str):
    class RegistryPlugin:
        PLUGIN_NAME = f"reg-{hook}"

    def impl(self, pluma):
        return {key: dict}

    setattr(RegistryPlugin, hook, hookimpl(impl, specname=hook))
    return RegistryPlugin()


@pytest.mark.parametrize(("hook", "attr"), [("register_llm_providers", "llm_providers")])
def test_hook_register_llm_providers(make_app, hook: str, attr: str) -> None:
    registry = getattr(make_app(plugins=[_registry_plugin(hook, "native-x")]).state["pluma"], attr)
    assert registry.get("native-x") is dict and registry.owner("native-x") == f"reg-{hook}"


def test_hook_register_image_backends(make_app) -> None:
    pluma = make_app(plugins=[_registry_plugin("register_image_backends", "fancy-sd")]).state["pluma"]
    assert pluma.image_backends.get("fancy-sd") is dict


def test_hook_register_tts_providers(make_app) -> None:
    pluma = make_app(plugins=[_registry_plugin("register_tts_providers", "speaky")]).state["pluma"]
    assert pluma.tts_providers.get("speaky") is dict


async def test_hook_register_health_checks(make_app) -> None:
    async def disk() -> dict[str, object]:
        return {"ok": True, "free_gb": 12}

    class HealthPlugin:
        PLUGIN_NAME = "health"

        @hookimpl
        def register_health_checks(self, pluma):
            return [HealthCheck("disk", disk, timeout=1.0)]

    check = make_app(plugins=[HealthPlugin()]).state["pluma"].health_checks.get("disk")
    assert check.timeout == 1.0 and await check.check() == {"ok": True, "free_gb": 12}


def test_hook_register_commands() -> None:
    class CommandPlugin:
        @hookimpl
        def register_commands(self, cli):
            @cli.command("wave")
            @click.argument("name")
            def wave(name: str) -> None:
                click.echo(f"hello {name}")

    host = PluginHost(env={})
    host.add(CommandPlugin(), "waver")
    group = click.Group("pluma")
    list(host.call_each("register_commands", cli=group))
    result = CliRunner().invoke(group, ["wave", "ada"])
    assert result.exit_code == 0 and result.output == "hello ada\n"


def test_hook_register_exception_handlers(make_app) -> None:
    class Teapot(Exception):
        pass

    @get("/api/teapot")
    async def brew() -> None:
        raise Teapot("short and stout")

    class TeapotPlugin:
        PLUGIN_NAME = "teapot"

        @hookimpl
        def register_routes(self, pluma):
            return [brew]

        @hookimpl
        def register_exception_handlers(self, pluma):
            return {Teapot: lambda request, exc: Response({"error": str(exc)}, status_code=418)}

    with TestClient(make_app(plugins=[TeapotPlugin()]), base_url="http://localhost") as client:
        response = client.get("/api/teapot")
    assert response.status_code == 418 and response.json() == {"error": "short and stout"}

"""Loading plugins: entry points, isolation, selection, strictness, duplicates."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from litestar import get
from litestar.testing import TestClient

from pluma_core import hookimpl
from pluma_core.errors import StartupError
from pluma_core.registry_types import ConfigSection

THIRD_PARTY = Path(__file__).resolve().parents[1] / "plugins" / "thirdparty_hello"


def install_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module_source: str | None = None,
                 name: str = "hello", module: str = "pluma_thirdparty_hello") -> Path:
    """Make a distribution visible to importlib.metadata: a module plus a dist-info folder."""
    site = tmp_path / "site"
    dist_info = site / f"{module}-0.3.1.dist-info"
    dist_info.mkdir(parents=True)
    shutil.copy(THIRD_PARTY / "METADATA", dist_info / "METADATA")
    (dist_info / "METADATA").write_text(
        (THIRD_PARTY / "METADATA").read_text().replace("pluma-thirdparty-hello", module.replace("_", "-"))
    )
    (dist_info / "entry_points.txt").write_text(f"[pluma]\n{name} = {module}\n")
    if module_source is None:
        shutil.copy(THIRD_PARTY / "pluma_thirdparty_hello.py", site / f"{module}.py")
    else:
        (site / f"{module}.py").write_text(module_source)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return site


def test_third_party_distribution_adds_a_route(make_app, tmp_path, monkeypatch) -> None:
    install_dist(tmp_path, monkeypatch)
    with TestClient(make_app(load_entrypoints=True), base_url="http://localhost") as client:
        assert client.get("/api/hello-third-party").json() == {"hello": "from a third party"}
        record = {p["name"]: p for p in client.get("/api/plugins").json()}["hello"]
    assert record == {
        "name": "hello", "distribution": "pluma-thirdparty-hello", "version": "0.3.1",
        "hooks": ["register_routes"], "status": "loaded", "default": False, "error": None,
    }


def test_broken_plugin_is_skipped_unless_strict(make_app, tmp_path, monkeypatch) -> None:
    install_dist(tmp_path, monkeypatch, module_source="raise ImportError('missing dependency xyz')\n")
    with pytest.raises(StartupError, match="missing dependency xyz"):
        make_app(load_entrypoints=True)
    app = make_app(load_entrypoints=True, env={"PLUMA_STRICT_PLUGINS": "0"})
    with TestClient(app, base_url="http://localhost") as client:
        record = {p["name"]: p for p in client.get("/api/plugins").json()}["hello"]
        assert record["status"] == "failed" and "missing dependency xyz" in record["error"]
        assert client.get("/api/conversations").status_code == 200


def test_load_and_disable_switches(make_app, tmp_path, monkeypatch) -> None:
    install_dist(tmp_path, monkeypatch)
    app = make_app(load_entrypoints=True, env={"PLUMA_DISABLE_PLUGINS": "hello,conversations"})
    with TestClient(app, base_url="http://localhost") as client:
        status = {p["name"]: p["status"] for p in client.get("/api/plugins").json()}
        assert status["hello"] == "disabled" and status["conversations"] == "disabled"
        assert client.get("/api/hello-third-party").status_code == 404
        assert client.get("/api/conversations").status_code == 404
    app = make_app(load_entrypoints=True, env={"PLUMA_LOAD_PLUGINS": "hello"})
    with TestClient(app, base_url="http://localhost") as client:
        status = {p["name"]: p["status"] for p in client.get("/api/plugins").json()}
        assert status["hello"] == "loaded" and status["llm"] == "disabled"


class AsyncHookPlugin:
    PLUGIN_NAME = "async-hook"

    @hookimpl
    async def register_routes(self, pluma):
        return []


class UnknownHookPlugin:
    PLUGIN_NAME = "unknown-hook"

    @hookimpl
    def register_everything(self):
        return []


@pytest.mark.parametrize(("plugin", "message"), [(AsyncHookPlugin(), "is async"),
                                                 (UnknownHookPlugin(), "unknown hook")])
def test_wrong_hook_implementations_are_refused(make_app, plugin, message) -> None:
    with pytest.raises(StartupError, match=message):
        make_app(plugins=[plugin])


def _route_plugin(name: str, path: str):
    @get(path)
    async def handler() -> str:
        return name

    class RoutePlugin:
        PLUGIN_NAME = name

        @hookimpl
        def register_routes(self, pluma):
            return [handler]

    return RoutePlugin()


def test_duplicate_route_names_both_plugins(make_app) -> None:
    with pytest.raises(StartupError, match=r"GET /api/same.*'one'.*'two'"):
        make_app(plugins=[_route_plugin("one", "/api/same"), _route_plugin("two", "/api/same")])


def test_duplicate_route_with_other_param_name_is_caught(make_app) -> None:
    with pytest.raises(StartupError, match="duplicate route"):
        make_app(plugins=[_route_plugin("one", "/api/x/{a:str}"), _route_plugin("two", "/api/x/{b:str}")])


def test_route_clashing_with_a_core_route_names_the_core(make_app) -> None:
    with pytest.raises(StartupError, match=r"'conversations'.*'intruder'"):
        make_app(plugins=[_route_plugin("intruder", "/api/conversations")])


def test_duplicate_config_key_names_both_plugins(make_app) -> None:
    import msgspec

    class PortAgain(msgspec.Struct):
        port: int = 1

    class Clash:
        PLUGIN_NAME = "clash"

        @hookimpl
        def register_config_sections(self):
            return [ConfigSection(schema=PortAgain)]

    with pytest.raises(StartupError, match=r"duplicate config key 'port'.*'core'.*'clash'"):
        make_app(plugins=[Clash()])


def test_duplicate_provider_id_names_both_plugins(make_app) -> None:
    def provider_plugin(name: str):
        class P:
            PLUGIN_NAME = name

            @hookimpl
            def register_llm_providers(self, pluma):
                return {"shared-id": object}

        return P()

    with pytest.raises(StartupError, match=r"duplicate LLM provider 'shared-id'.*'first'.*'second'"):
        make_app(plugins=[provider_plugin("first"), provider_plugin("second")])


def test_hook_that_raises_names_the_plugin(make_app) -> None:
    class Boom:
        PLUGIN_NAME = "boom"

        @hookimpl
        def register_routes(self, pluma):
            raise ValueError("kaput")

    with pytest.raises(StartupError, match="plugin 'boom' failed in register_routes: ValueError: kaput"):
        make_app(plugins=[Boom()])

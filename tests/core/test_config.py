"""Data dir and config precedence: flag > PLUMA_* env > config.toml > default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pluma_core.config import ServerKeys
from pluma_core.errors import BadRequest, StartupError
from pluma_core.storage.datadir import resolve_data_dir


def test_data_dir_precedence(tmp_path: Path) -> None:
    env = {"PLUMA_DATA_DIR": str(tmp_path / "env"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert resolve_data_dir(tmp_path / "flag", env) == tmp_path / "flag"
    assert resolve_data_dir(None, env) == tmp_path / "env"
    assert resolve_data_dir(None, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "pluma"
    assert resolve_data_dir(None, {}) == Path.home() / ".config" / "pluma"


def test_first_start_creates_private_data_dir_and_config(make_app, pluma_settings) -> None:
    make_app()
    data = pluma_settings.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "pluma.db").stat().st_mode) == 0o600
    text = (data / "config.toml").read_text()
    assert text.startswith("# Pluma configuration") and "never secrets" in text


def test_precedence_flag_env_file_default(make_app) -> None:
    assert make_app().state["pluma"].config.get(ServerKeys) == ServerKeys()
    app = make_app(config_toml="port = 9000\nhost = '0.0.0.0'\n")
    assert app.state["pluma"].config.get(ServerKeys) == ServerKeys(host="0.0.0.0", port=9000)
    app = make_app(config_toml="port = 9000\n", env={"PLUMA_PORT": "9100"})
    assert app.state["pluma"].config.get(ServerKeys).port == 9100
    app = make_app(config_toml="port = 9000\n", env={"PLUMA_PORT": "9100"}, port=9200)
    config = app.state["pluma"].config
    assert config.get(ServerKeys).port == 9200 and config.env_overridden(ServerKeys, "port")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("colour = 'red'\n", "unknown key 'colour' at the top level"),
        ("port = 'eighty'\n", "invalid value in the top level"),
        ("port = [\n", "not valid TOML"),
        ("[port]\nx = 1\n", "unknown key 'port'|invalid value"),
    ],
)
def test_bad_config_stops_startup_naming_file_and_key(make_app, toml: str, message: str) -> None:
    with pytest.raises(StartupError, match=rf"config.toml: .*({message})"):
        make_app(config_toml=toml)


def test_update_validates_and_keeps_comments(make_app, pluma_settings) -> None:
    config = make_app(config_toml="# keep me\nport = 9000 # inline too\n").state["pluma"].config
    config.update(ServerKeys, host="127.0.0.2")
    text = (pluma_settings.data_dir / "config.toml").read_text()
    assert "# keep me" in text and "# inline too" in text and 'host = "127.0.0.2"' in text
    with pytest.raises(BadRequest, match="unknown setting"):
        config.update(ServerKeys, colour="red")
    with pytest.raises(BadRequest, match="invalid setting"):
        config.update(ServerKeys, port="high")
    assert "colour" not in (pluma_settings.data_dir / "config.toml").read_text()


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_out_of_range_port_is_refused_and_the_env_var_blamed(make_app, port: str) -> None:
    with pytest.raises(StartupError, match=r"environment variable PLUMA_PORT"):
        make_app(env={"PLUMA_PORT": port})
    with pytest.raises(StartupError, match=r"config.toml: invalid value"):
        make_app(config_toml=f"port = {port}\n")


def test_deeply_nested_body_is_a_400(client) -> None:
    body = '{"x":' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.put("/api/conversations/deep", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json() == {"error": "the request body is nested too deeply"}
    response = client.put("/api/conversations/deep", content=b"", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json() == {"error": "a request body is required"}


@pytest.mark.parametrize("toml", ['require_auth = "false"\n', "require_auth = 0\n", 'port = "8812"\n'])
def test_file_values_of_the_wrong_type_are_refused(make_app, toml: str) -> None:
    """QA finding: `require_auth = "false"` (a string) started and switched the auth gate off."""
    with pytest.raises(StartupError, match=r"config.toml: invalid value in the top level"):
        make_app(config_toml=toml)


def test_env_strings_still_convert(make_app) -> None:
    app = make_app(env={"PLUMA_PORT": "8812", "PLUMA_LOOPBACK_AUTH_BYPASS": "false"})
    assert app.state["pluma"].config.get(ServerKeys).port == 8812


def test_update_keeps_hand_edits_made_while_running(make_app, pluma_settings) -> None:
    """QA finding: a setting saved by the app rewrote config.toml from memory, losing hand edits."""
    config = make_app(config_toml="port = 9000\n").state["pluma"].config
    path = pluma_settings.data_dir / "config.toml"
    path.write_text("port = 9000\n# added by hand\nhost = '127.0.0.3'\n")
    config.update(ServerKeys, port=9001)
    text = path.read_text()
    assert "# added by hand" in text and "127.0.0.3" in text and "9001" in text
    assert config.get(ServerKeys) == ServerKeys(host="127.0.0.3", port=9001)
    before = path.stat().st_mtime_ns
    config.update(ServerKeys, port=9001)  # nothing changes: the file is not rewritten
    assert path.stat().st_mtime_ns == before
    path.write_text("port = [\n")
    with pytest.raises(BadRequest, match="cannot be used"):
        config.update(ServerKeys, port=9002)
    assert path.read_text() == "port = [\n"

"""The `pluma` command: storage-key backup round trip, plugin list, and a real server process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pluma_core.cli import cli
from pluma_core.testing import MemoryKeyring, free_port


def test_export_then_import_storage_key(tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch) -> None:
    monkeypatch.setenv("PLUMA_KEY_PASSPHRASE", "correct horse battery staple")
    memory_keyring.set_password("pluma", "storage-key", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    runner = CliRunner()
    target = tmp_path / "backup.key"
    result = runner.invoke(cli, ["export-storage-key", str(target)], obj={})
    assert result.exit_code == 0, result.output
    assert oct(target.stat().st_mode & 0o777) == "0o600" and b"QUFB" not in target.read_bytes()

    memory_keyring.delete_password("pluma", "storage-key")
    result = runner.invoke(cli, ["import-storage-key", str(target)], obj={})
    assert result.exit_code == 0, result.output
    assert memory_keyring.get_password("pluma", "storage-key") == "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="

    memory_keyring.set_password("pluma", "storage-key", "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=")
    result = runner.invoke(cli, ["import-storage-key", str(target)], obj={})
    assert result.exit_code != 0 and "--force" in result.output

    monkeypatch.setenv("PLUMA_KEY_PASSPHRASE", "wrong")
    result = runner.invoke(cli, ["import-storage-key", "--force", str(target)], obj={})
    assert result.exit_code != 0 and "wrong passphrase" in result.output


def test_export_without_a_key_explains(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLUMA_KEY_PASSPHRASE", "x")
    result = CliRunner().invoke(cli, ["export-storage-key", str(tmp_path / "k")], obj={})
    assert result.exit_code != 0 and "start Pluma once first" in result.output


def test_plugins_command_lists_json() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"], obj={})
    assert result.exit_code == 0, result.output
    names = {p["name"]: p["status"] for p in json.loads(result.output)}
    assert names["conversations"] == "loaded" and names["llm"] == "loaded"


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUMA_")}
    env.update(
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",  # headless: exercise the key-file fallback
        XDG_STATE_HOME=str(tmp_path / "state"),
        HOME=str(tmp_path / "home"),
        PLUMA_STRICT_PLUGINS="1",
    )
    return env


def _wait_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read() if proc.stderr else "server exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_serve_runs_keeps_data_and_stops_cleanly_on_sigterm(tmp_path: Path, server_env: dict[str, str]) -> None:
    port = free_port()
    data = tmp_path / "data"
    command = [sys.executable, "-m", "pluma_core", "serve", "--port", str(port), "--data-dir", str(data)]
    base = f"http://127.0.0.1:{port}"
    for round_number in range(2):
        proc = subprocess.Popen(command, env=server_env, stderr=subprocess.PIPE, text=True)
        try:
            _wait_up(f"{base}/api/plugins", proc)
            if round_number == 0:
                message = {"id": "m", "role": "user", "content": "zebra-quartz-7"}
                response = httpx.put(f"{base}/api/conversations/keep", json={"title": "t", "messages": [message]})
                assert response.status_code == 200
            else:
                assert httpx.get(f"{base}/api/conversations/keep").json()["messages"][0]["content"] == "zebra-quartz-7"
        finally:
            proc.send_signal(signal.SIGTERM)
            stderr = proc.communicate(timeout=30)[1]
        # uvicorn re-raises the captured SIGTERM after a complete shutdown.
        assert proc.returncode in (0, -signal.SIGTERM), stderr
        assert "Application shutdown complete" in stderr
        assert "no OS keyring backend is available" in stderr
        assert "zebra-quartz-7" not in stderr
        wal = data / "pluma.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and closed on shutdown
    key_file = tmp_path / "state" / "pluma" / "secrets.json"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_export_refuses_overwrite_and_weak_passphrase(tmp_path: Path, memory_keyring: MemoryKeyring,
                                                      monkeypatch) -> None:
    memory_keyring.set_password("pluma", "storage-key", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    target = tmp_path / "backup.key"
    target.write_text("precious")
    monkeypatch.setenv("PLUMA_KEY_PASSPHRASE", "long enough passphrase")
    result = CliRunner().invoke(cli, ["export-storage-key", str(target)], obj={})
    assert result.exit_code != 0 and "--force" in result.output and target.read_text() == "precious"
    assert CliRunner().invoke(cli, ["export-storage-key", "--force", str(target)], obj={}).exit_code == 0
    monkeypatch.setenv("PLUMA_KEY_PASSPHRASE", "short")
    result = CliRunner().invoke(cli, ["export-storage-key", str(tmp_path / "other.key")], obj={})
    assert result.exit_code != 0 and "at least 8 characters" in result.output


def test_serve_reports_an_unusable_data_dir(tmp_path: Path, server_env: dict[str, str]) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    proc = subprocess.run(
        [sys.executable, "-m", "pluma_core", "serve", "--port", str(free_port()), "--data-dir", str(blocker / "data")],
        env=server_env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "cannot use the data dir" in proc.stderr and "Traceback" not in proc.stderr

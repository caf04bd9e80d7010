"""Benchmark the chat relay: Pluma vs the direct upstream (and LiteLLM's proxy when installed).

Everything runs on loopback, each server in its own process: a synthetic OpenAI upstream that
emits chunks as fast as it can (``pluma_core.testing.openai.FakeOpenAI`` in firehose mode),
``pluma serve`` pointed at it with ``--base-url``, and optionally ``litellm --model`` from a
throwaway venv under ``.cache/litellm-venv``. Each figure is measured against the direct upstream
in the same run. The table is written between the ``chat_relay`` markers of docs/benchmarks.md.

    .venv/bin/python bench/chat_relay.py            # full run (about two minutes)
    .venv/bin/python bench/chat_relay.py --quick    # fewer repetitions
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
LITELLM = REPO / ".cache" / "litellm-venv" / "bin" / "litellm"
START, END = "<!-- chat_relay:start -->", "<!-- chat_relay:end -->"
MODEL = "fake-model"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_upstream(port: int) -> None:
    """Child process: the synthetic upstream."""
    import uvicorn

    from pluma_core.testing.openai import FakeOpenAI

    uvicorn.run(FakeOpenAI(models=[MODEL], firehose=1), host="127.0.0.1", port=port, log_level="warning")


@dataclass
class Server:
    """A child process serving OpenAI-compatible chat at ``chat_url``."""

    name: str
    args: list[str]
    chat_url: str
    ready_url: str
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, log_dir: Path) -> None:
        out = (log_dir / f"{self.name}.log").open("wb")
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                     env={**os.environ, **self.env}, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {log_dir / (self.name + '.log')}")
            try:
                if httpx.get(self.ready_url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def rss_mib(self) -> float:
        """Resident memory of the process and its children."""
        assert self.proc is not None
        pids = [self.proc.pid]
        # Direct children from /proc, not pgrep: the sampler runs every 20 ms.
        with contextlib.suppress(OSError):
            pids += [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        total = 0
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(match.group(1)) if match else 0
        return total / 1024

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def body(chunks: int, model: str = MODEL) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "go"}], "stream": True, "max_tokens": chunks}


async def one_stream(client: httpx.AsyncClient, url: str, chunks: int, model: str) -> tuple[float, int, bool]:
    """(seconds to the first content byte, content chunks seen, ended with [DONE])."""
    started = time.perf_counter()
    first = 0.0
    seen = 0
    tail = b""
    async with client.stream("POST", url, json=body(chunks, model)) as response:
        if response.status_code != 200:
            await response.aread()
            return 0.0, 0, False
        async for raw in response.aiter_raw():
            data = tail + raw
            count = data.count(b'"content":"x"') + data.count(b'"content": "x"')
            if count and not first:
                first = time.perf_counter() - started
            seen += count
            tail = data[-16:]
            # The tail is re-counted next time only when it could hold a split marker.
            seen -= tail.count(b'"content":"x"') + tail.count(b'"content": "x"')
        seen += tail.count(b'"content":"x"') + tail.count(b'"content": "x"')
    return first, seen, tail.rstrip().endswith(b"[DONE]")


async def ttft(url: str, model: str, runs: int, headers: dict[str, str]) -> list[float]:
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        for _ in range(10):
            await one_stream(client, url, 1, model)
        return [(await one_stream(client, url, 1, model))[0] * 1000 for _ in range(runs)]


async def rate(url: str, model: str, chunks: int, runs: int, headers: dict[str, str]) -> list[float]:
    rates = []
    async with httpx.AsyncClient(timeout=300, headers=headers) as client:
        await one_stream(client, url, 1000, model)
        for _ in range(runs):
            started = time.perf_counter()
            _, seen, done = await one_stream(client, url, chunks, model)
            elapsed = time.perf_counter() - started
            rates.append(seen / elapsed if done and seen == chunks else 0.0)
    return rates


async def concurrent(url: str, model: str, streams: int, chunks: int, server: Server) -> dict[str, float]:
    peak = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, server.rss_mib())
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with httpx.AsyncClient(timeout=600, limits=limits, headers=server.headers) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(one_stream(client, url, chunks, model) for _ in range(streams)),
                                       return_exceptions=True)
        elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    ok = [r for r in results if isinstance(r, tuple) and r[2] and r[1] == chunks]
    return {"errors": streams - len(ok), "crowd_rate": sum(r[1] for r in ok) / elapsed, "peak_rss": peak,
            "seconds": elapsed}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def write_section(text: str) -> None:
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{text.rstrip()}\n{END}"
    if START in doc and END in doc:
        doc = doc[: doc.index(START)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(doc)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-peer", action="store_true", help="skip LiteLLM (and do not write the doc)")
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        serve_upstream(args.upstream)
        return
    runs_ttft, runs_rate, rate_chunks = (100, 3, 20000) if args.quick else (200, 5, 50000)
    streams, stream_chunks = 100, 2000

    work = Path(tempfile.mkdtemp(prefix="pluma-bench-"))
    up_port, pluma_port = free_port(), free_port()
    upstream = Server("upstream", [sys.executable, __file__, "--upstream", str(up_port)],
                      f"http://127.0.0.1:{up_port}/v1/chat/completions", f"http://127.0.0.1:{up_port}/v1/models")
    pluma = Server("pluma", [str(Path(sys.executable).parent / "pluma"), "serve", "--data-dir", str(work / "data"),
                             "--port", str(pluma_port), "--base-url", f"http://127.0.0.1:{up_port}"],
                   f"http://127.0.0.1:{pluma_port}/api/chat", f"http://127.0.0.1:{pluma_port}/api/health",
                   env={"XDG_STATE_HOME": str(work / "state"),
                        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    targets: list[tuple[Server, str]] = [(upstream, MODEL), (pluma, MODEL)]
    litellm_note = ""
    if LITELLM.exists() and not args.no_peer:
        ll_port = free_port()
        master = "sk-" + os.urandom(24).hex()
        litellm = Server("litellm", [str(LITELLM), "--model", f"openai/{MODEL}", "--api_base",
                                     f"http://127.0.0.1:{up_port}/v1", "--port", str(ll_port), "--host", "127.0.0.1"],
                         f"http://127.0.0.1:{ll_port}/v1/chat/completions",
                         f"http://127.0.0.1:{ll_port}/health/liveliness",
                         env={"OPENAI_API_KEY": "sk-bench", "LITELLM_LOG": "ERROR", "LITELLM_MASTER_KEY": master},
                         headers={"Authorization": f"Bearer {master}"})
        targets.append((litellm, f"openai/{MODEL}"))
    else:
        litellm_note = ("LiteLLM: not measured; `pip install 'litellm[proxy]'` into .cache/litellm-venv "
                        "did not produce a `litellm` command on this machine.")

    rows: dict[str, dict[str, float]] = {}
    try:
        upstream.start(work)
        for server, model in targets:
            # One relay at a time: an idle peer still burns CPU (LiteLLM does) on shared cores.
            if server is not upstream:
                server.start(work)
            time.sleep(1)
            print(f"measuring {server.name} ...", flush=True)
            idle = server.rss_mib()
            first = asyncio.run(ttft(server.chat_url, model, runs_ttft, server.headers))
            rates = asyncio.run(rate(server.chat_url, model, rate_chunks, runs_rate, server.headers))
            crowd = asyncio.run(concurrent(server.chat_url, model, streams, stream_chunks, server))
            rows[server.name] = {"ttft": med(first), "rate": med(rates), "idle": idle, **crowd}
            print(f"  {rows[server.name]}", flush=True)
            if server is not upstream:
                server.stop()
    finally:
        for server, _ in reversed(targets):
            server.stop()

    direct = rows["upstream"]
    names = {"upstream": "direct upstream", "pluma": "**Pluma**", "litellm": "LiteLLM proxy (peer)"}
    lines = [
        "## Chat relay (bench/chat_relay.py)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}, {machine()}.",
        "",
        "| | time to first token, median | added vs direct | one stream, chunks/s (median) | ratio vs direct "
        f"| {streams} concurrent streams x {stream_chunks} chunks: errors | aggregate chunks/s | RSS idle | "
        f"RSS peak under {streams} streams |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        added = "—" if name == "upstream" else f"{row['ttft'] - direct['ttft']:+.2f} ms"
        ratio = "—" if name == "upstream" else f"{row['rate'] / direct['rate']:.2f}x"
        lines.append(
            f"| {names.get(name, name)} | {row['ttft']:.2f} ms | {added} | {row['rate']:,.0f} | {ratio} | "
            f"{int(row['errors'])} | {row['crowd_rate']:,.0f} | {row['idle']:.0f} MiB | {row['peak_rss']:.0f} MiB |"
        )
    lines += [
        "",
        f"Time to first token: {runs_ttft} sequential streamed requests of one chunk each, after a warm-up, on a "
        "kept-alive connection; measured from sending the request to the first content byte. One stream: "
        f"{rate_chunks:,} chunks as fast as the synthetic upstream emits them, median of {runs_rate}. Concurrent: "
        f"{streams} streams started at once, each must deliver all {stream_chunks:,} chunks and `[DONE]`. RSS is "
        "the server process (and its children), sampled every 20 ms. Each relay runs alone beside the upstream "
        "(started, measured, stopped); the upstream, the relay and the client share the same cores, so the "
        "direct figures are the ceiling of this machine, not of the upstream.",
    ]
    ours = rows["pluma"]
    added = ours["ttft"] - direct["ttft"]
    verdicts = [
        f"time to first token added {added:.2f} ms (target under 5 ms: {'met' if added < 5 else 'missed'})",
        f"one stream {ours['rate']:,.0f} chunks/s (target 10,000: {'met' if ours['rate'] >= 10000 else 'missed'})",
        f"{streams} concurrent streams with {int(ours['errors'])} errors "
        f"(target none: {'met' if ours['errors'] == 0 else 'missed'})",
    ]
    lines += ["", "Targets for Pluma: " + "; ".join(verdicts) + "."]
    if litellm_note:
        lines += ["", litellm_note]
    if not args.no_peer:
        write_section("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""In-memory background jobs shared by plugins (portrait generation, downloads, imports).

A job belongs to a ``kind`` and an optional ``key`` (e.g. kind ``"portrait"``, key the character
id), so one plugin can start it and another can ask for its state without importing each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec

from pluma_core.ids import new_id

JobStatus = Literal["pending", "running", "done", "failed", "cancelled"]


class Job(msgspec.Struct, kw_only=True):
    """The public state of one job."""

    id: str
    kind: str
    key: str | None = None
    status: JobStatus = "pending"
    error: str | None = None
    progress: float | None = None
    result: Any = None
    created_at: float = 0.0
    updated_at: float = 0.0


class JobHandle:
    """What a running job's coroutine gets, to report progress."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def progress(self, fraction: float | None, **_: Any) -> None:
        """Record progress (0..1) for status readers."""
        self.job.progress = fraction
        self.job.updated_at = time.time()


class JobRegistry:
    """Starts, tracks and cancels asyncio tasks; keeps the last ``history`` finished jobs."""

    def __init__(self, history: int = 200) -> None:
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._history = history

    def start(
        self,
        kind: str,
        run: Callable[[JobHandle], Awaitable[Any]],
        key: str | None = None,
    ) -> Job:
        """Schedule ``run(handle)`` on the running loop and return its job record."""
        now = time.time()
        job = Job(id=new_id(), kind=kind, key=key, created_at=now, updated_at=now)
        self._jobs[job.id] = job
        self._tasks[job.id] = asyncio.get_running_loop().create_task(self._run(job, run))
        self._trim()
        return job

    async def _run(self, job: Job, run: Callable[[JobHandle], Awaitable[Any]]) -> None:
        job.status = "running"
        job.updated_at = time.time()
        try:
            job.result = await run(JobHandle(job))
            job.status = "done"
        except asyncio.CancelledError:
            job.status = "cancelled"
        except Exception as exc:
            job.status = "failed"
            job.error = str(exc) or type(exc).__name__
        finally:
            job.updated_at = time.time()
            self._tasks.pop(job.id, None)

    def get(self, job_id: str) -> Job | None:
        """One job by id."""
        return self._jobs.get(job_id)

    def latest(self, kind: str, key: str | None = None) -> Job | None:
        """The newest job of ``kind`` (and ``key``), or ``None``."""
        found = [j for j in self._jobs.values() if j.kind == kind and (key is None or j.key == key)]
        return max(found, key=lambda j: j.created_at) if found else None

    def list(self, kind: str | None = None) -> list[Job]:
        """Jobs, newest first."""
        jobs = [j for j in self._jobs.values() if kind is None or j.kind == kind]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def cancel(self, job_id: str) -> bool:
        """Cancel a pending or running job; False when it is unknown or already finished."""
        task = self._tasks.get(job_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def aclose(self) -> None:
        """Cancel everything still running (shutdown)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _trim(self) -> None:
        finished = [j for j in self._jobs.values() if j.id not in self._tasks]
        if len(finished) > self._history:
            for job in sorted(finished, key=lambda j: j.updated_at)[: len(finished) - self._history]:
                self._jobs.pop(job.id, None)

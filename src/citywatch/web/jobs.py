"""`JobRunner`: with several server processes, exactly one runs plan jobs.

Every process tries, every `poll` seconds, to take an exclusive ``flock`` on one lock file
(beside the key file). The process holding it is the runner: it first re-queues what a
previous runner left queued or running (`services.resume_jobs`), then keeps submitting
queued plans to its pool. The lock is the kernel's, so it is released when the runner
dies however it dies, and the next process to try takes over; no plan is solved twice
while one runner lives. The other processes only record new plans as queued.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from citywatch.store.models import PlanRecord
from citywatch.web import services

__all__ = ["JobRunner"]

log = logging.getLogger("citywatch.web")


class JobRunner:
    """Elect one runner of plan jobs among the processes sharing `lock_path`.

    Parameters
    ----------
    lock_path
        The lock file every process of the service uses.
    sessions, read_sessions
        Write and read sessions on the service's database.
    submit
        Submits ``(fn, *args)`` to the pool that solves plans.
    poll
        Seconds between looks for the lock and for queued plans.
    cache
        The app's plan cache (``app.state.plans``), filled by the jobs it runs.
    """

    def __init__(self, lock_path: Path, sessions: sessionmaker[Session],
                 read_sessions: sessionmaker[Session], submit: Callable[..., Any],
                 poll: float = 0.5, cache: services.PlanCache | None = None) -> None:
        self.cache = cache
        self.lock_path = lock_path
        self.sessions = sessions
        self.read_sessions = read_sessions
        self.submit = submit
        self.poll = poll
        self.leader = False
        self._fd: int | None = None
        self._submitted: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="citywatch-jobs",
                                        daemon=True)

    def start(self) -> None:
        """Start trying for the lock (and, once held, running jobs)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop, and give the lock up for another process."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.leader = False

    def _try_lock(self) -> bool:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def step(self) -> list[int]:
        """One round: take the lock if free; as runner, submit queued plans (their ids)."""
        if not self.leader:
            if not self._try_lock():
                return []
            self.leader = True
            log.info("process %d runs plan jobs", os.getpid())
            resumed = services.resume_jobs(self.sessions, self.submit, self.cache)
            self._submitted.update(resumed)
            return resumed
        with self.read_sessions() as session:
            queued = list(session.execute(select(PlanRecord.id).where(
                PlanRecord.status == "queued").order_by(PlanRecord.id)).scalars())
        new = [pid for pid in queued if pid not in self._submitted]
        for pid in new:
            self._submitted.add(pid)
            self.submit(services.run_plan_job, self.sessions, pid, self.cache)
        return new

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # keep trying: a database hiccup must not end job running
                log.exception("job runner round failed")
            self._stop.wait(self.poll)

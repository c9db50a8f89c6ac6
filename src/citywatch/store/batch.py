"""`AuditBatcher`: group commit for the audit records of reads and refusals.

Every read of a plan, roster or the log is audited, and each audit record must be
durable (``synchronous=FULL``: one fsync per commit, ~5-20 ms on a shared disk) before
the answer goes out. One commit per record would cap a process at a few dozen audited
reads a second, all queued on the database's write lock. The batcher's thread instead
takes every record waiting, appends them all in one transaction and commits once; each
caller blocks until the commit holding its record is done, so no record is ever lost or
acknowledged early, and under load one fsync serves many requests.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from citywatch.store.audit import append_audit
from citywatch.store.db import with_retry

__all__ = ["AuditBatcher"]

_Item = tuple[dict[str, Any], "Future[None]"]


class AuditBatcher:
    """Append audit records in batches, one transaction per batch.

    Parameters
    ----------
    sessions
        Write sessions (their factory's audit chain keys the records).
    max_batch
        Most records in one transaction.
    idle
        Seconds without records after which the thread ends (the next record starts one).
    """

    def __init__(self, sessions: sessionmaker[Session], max_batch: int = 500,
                 idle: float = 5.0) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self.idle = idle
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def append(self, *, timeout: float = 120.0, **fields: Any) -> None:
        """Append one record (the `append_audit` keywords) and wait until it is committed."""
        fut: Future[None] = Future()
        with self._lock:
            self._queue.put((fields, fut))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="citywatch-audit",
                                                daemon=True)
                self._thread.start()
        fut.result(timeout=timeout)

    def close(self) -> None:
        """Finish the records queued so far and stop the thread."""
        with self._lock:
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.idle)
            except queue.Empty:
                with self._lock:  # `append` puts under this lock: nothing can be missed
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            if item is None:
                with self._lock:
                    self._thread = None
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                with_retry(self.sessions, lambda s: [append_audit(s, **f) for f, _ in batch])
            except BaseException as err:  # noqa: BLE001  (each caller gets the error)
                for _, fut in batch:
                    fut.set_exception(err)
            else:
                for _, fut in batch:
                    fut.set_result(None)
            if stop:
                with self._lock:
                    self._thread = None
                return

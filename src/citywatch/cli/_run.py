"""Long CLI runs: progress bars on a terminal, and Ctrl-C that stops at once and says what was done.

The work runs in a worker thread (HiGHS releases the GIL while it solves), so the main
thread keeps receiving SIGINT: on Ctrl-C it prints one line naming the stages finished
and the one interrupted, and exits with status 130 within a fraction of a second. Outputs
are written by the main thread after the work returns, inside `writing`, which holds a
Ctrl-C back until every file is written, so no output is ever left half-written.
"""

from __future__ import annotations

import contextvars
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from citywatch import progress
from citywatch.cli._common import err_console

__all__ = ["RichReporter", "run_long", "writing"]

T = TypeVar("T")


class _LeftColumn(ProgressColumn):
    """Time left: the ETA of a counted stage, or the time to a solver's limit (an upper bound)."""

    def render(self, task: Task) -> Text:
        limit = task.fields.get("limit_s")
        if limit is not None:
            left = max(0.0, limit - (task.elapsed or 0.0))
            return Text(f"≤ {left:.0f} s left (limit)", style="progress.remaining")
        remaining = task.time_remaining
        if remaining is None:
            return Text("", style="progress.remaining")
        return Text(f"ETA {remaining:.0f} s", style="progress.remaining")


class RichReporter:
    """Rich progress bars on stderr: one line per stage, kept when the stage ends."""

    def __init__(self, *, what: str) -> None:
        self.what = what
        self.current: str | None = None
        self._task: Any = None
        self._lock = threading.Lock()
        self.bars = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                             TaskProgressColumn(), TimeElapsedColumn(), _LeftColumn(),
                             console=err_console, transient=False, refresh_per_second=4)

    def start(self, name: str, *, total: float | None, limit_s: float | None) -> None:
        """Open a bar for the stage."""
        with self._lock:
            self.current = name
            self._task = self.bars.add_task(name, total=total, limit_s=limit_s)

    def advance(self, amount: float) -> None:
        """Advance the current bar."""
        with self._lock:
            if self._task is not None:
                self.bars.advance(self._task, amount)

    def finish(self, name: str, seconds: float) -> None:
        """Fill and stop the stage's bar."""
        with self._lock:
            if self._task is not None:
                task = self.bars.tasks[-1]
                self.bars.update(self._task, total=task.total or 1,
                                 completed=task.total or 1, limit_s=None)
                self.bars.stop_task(self._task)
            self.current = None
            self._task = None

    def tick(self) -> None:
        """Let time-limited bars fill with the time used so far."""
        with self._lock:
            if self._task is None:
                return
            task = self.bars.tasks[-1]
            limit = task.fields.get("limit_s")
            if limit:
                self.bars.update(self._task, total=limit,
                                 completed=min(limit, task.elapsed or 0.0))


class _Silent:
    """Records stages without drawing anything (not a terminal)."""

    def __init__(self) -> None:
        self.current: str | None = None

    def start(self, name: str, *, total: float | None, limit_s: float | None) -> None:
        self.current = name

    def advance(self, amount: float) -> None:
        pass

    def finish(self, name: str, seconds: float) -> None:
        self.current = None

    def tick(self) -> None:
        pass


def _interrupted(what: str, done: list[str], current: str | None, note: str) -> str:
    finished = f"finished {', '.join(done)}" if done else "nothing finished"
    during = f"; stopped during {current}" if current else ""
    return f"interrupted: {what} {finished}{during}; {note}"


def run_long(fn: Callable[[], T], *, what: str,
             nothing_written: str = "nothing was written") -> T:
    """Run `fn` with progress bars (on a terminal) and a prompt, clean Ctrl-C.

    Parameters
    ----------
    fn
        The work; it reports its stages through `citywatch.progress`.
    what
        What the run is, for the interrupt message ("plan:").
    nothing_written
        What the interrupt message says about outputs.
    """
    bars = err_console.is_terminal
    reporter: RichReporter | _Silent = RichReporter(what=what) if bars else _Silent()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # handed to the main thread
            box["error"] = err

    with ExitStack() as stack:
        done = stack.enter_context(progress.reporting(reporter))
        if isinstance(reporter, RichReporter):
            stack.enter_context(reporter.bars)
        ctx = contextvars.copy_context()
        thread = threading.Thread(target=ctx.run, args=(work,), daemon=True,
                                  name=f"citywatch-{what}")
        try:
            thread.start()
            while thread.is_alive():
                thread.join(0.25)
                reporter.tick()
        except KeyboardInterrupt:
            if isinstance(reporter, RichReporter):
                reporter.bars.stop()
            finished = list(done)
            err_console.print(_interrupted(what, finished, reporter.current, nothing_written),
                              markup=False, soft_wrap=True, highlight=False)
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(130)  # the solver thread cannot be stopped politely; nothing is open
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


@contextmanager
def writing(what: str) -> Iterator[None]:
    """Hold Ctrl-C back while outputs are written; then exit 130 if it came."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hit: list[float] = []
    previous = signal.signal(signal.SIGINT, lambda *_: hit.append(time.monotonic()))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if hit:
        err_console.print(f"interrupted: {what} finished and its outputs were written in full",
                          markup=False, soft_wrap=True, highlight=False)
        raise SystemExit(130)

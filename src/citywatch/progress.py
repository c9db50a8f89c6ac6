"""Progress of long runs, reported stage by stage to whoever listens (silent otherwise).

The core marks its long stages with `stage` and their steps with `advance`; an adapter
(the CLI's progress bars) listens by installing a `Reporter` with `reporting`. Nothing
is printed, timed or stored when no reporter is installed, so results never depend on
it. The reporter lives in a context variable: a worker thread sees it when started
with ``contextvars.copy_context().run``.

A stage either counts steps (``total`` steps, `advance` after each) or is bounded by a
time limit (``limit_s``: a solver that stops at its limit at the latest; the listener
shows the time left until the limit as the upper bound of the wait).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Reporter", "advance", "finished_stages", "reporting", "stage"]


class Reporter(Protocol):
    """What listens to progress (e.g. the CLI's rich progress bars)."""

    def start(self, name: str, *, total: float | None, limit_s: float | None) -> None:
        """A stage begins."""

    def advance(self, amount: float) -> None:
        """The current stage made `amount` steps of progress."""

    def finish(self, name: str, seconds: float) -> None:
        """The stage `name` ended after `seconds`."""


_current: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar(
    "citywatch_progress", default=None)
_finished: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "citywatch_finished", default=None)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[list[str]]:
    """Send progress in this context to `reporter`; yields the names of finished stages."""
    done: list[str] = []
    token = _current.set(reporter)
    token_done = _finished.set(done)
    try:
        yield done
    finally:
        _current.reset(token)
        _finished.reset(token_done)


@contextmanager
def stage(name: str, *, total: float | None = None,
          limit_s: float | None = None) -> Iterator[None]:
    """Mark a long stage of work (a no-op unless a reporter listens).

    Parameters
    ----------
    name
        What the stage does, in a planner's words ("Bayesian solve", "roster day").
    total
        Steps the stage will take (call `advance` after each), if known.
    limit_s
        The stage's time limit in seconds, if it has one.
    """
    reporter = _current.get()
    if reporter is None:
        yield
        return
    t0 = time.monotonic()
    reporter.start(name, total=total, limit_s=limit_s)
    try:
        yield
    finally:
        reporter.finish(name, time.monotonic() - t0)
    done = _finished.get()
    if done is not None:
        done.append(name)


def advance(amount: float = 1.0) -> None:
    """Report `amount` steps of the current stage (a no-op unless a reporter listens)."""
    reporter = _current.get()
    if reporter is not None:
        reporter.advance(amount)


def finished_stages() -> list[str]:
    """Names of the stages finished so far in this reporting context."""
    done = _finished.get()
    return list(done) if done is not None else []

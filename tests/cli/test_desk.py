"""The CLI on long runs and in narrow terminals: Ctrl-C, progress, help, readable tables."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _cli import run

ENV = {**os.environ, "COLUMNS": "80", "TERM": "xterm"}


def _citywatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "citywatch", *args]


def test_sigint_during_plan_stops_at_once_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    # the joint ARV search run to its local optimum (~9,000 placements, 10-20 s) keeps
    # the plan busy well past the imports and the payoffs (1-3 s)
    proc = subprocess.Popen(_citywatch("plan", "--attacker", "bayesian", "--mip-nodes", "-1",
                                       "--time-limit", "120", "--arv-evaluations", "100000",
                                       "--arv-time-limit", "120", "--out", str(out)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV)
    time.sleep(6)
    assert proc.poll() is None, proc.communicate()
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 130, (stdout, stderr)
    assert took < 5, took
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: plan:"), stderr
    assert "nothing was written" in lines[0]
    assert "Traceback" not in stderr
    assert not out.exists()  # no half-written output


def _on_a_terminal(*args: str, timeout: float = 240) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal; what it drew."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(_citywatch(*args), stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=ENV, close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from _scenarios import write_tiny

    return write_tiny(tmp_path_factory.mktemp("tiny") / "tiny")


def test_plan_and_roster_show_progress_on_a_terminal_only(tiny: Path, tmp_path: Path) -> None:
    drawn = _on_a_terminal("plan", "--scenario", str(tiny), "--attacker", "bayesian",
                           "--arv", "joint", "--roster-days", "2", "--seed", "1", "--out",
                           str(tmp_path / "p"))
    for stage in ("ARV posts", "payoffs", "Bayesian", "roster"):
        assert stage in drawn, drawn
    assert "━" in drawn or "100%" in drawn  # a bar was drawn
    piped = run("plan", "--scenario", str(tiny), "--attacker", "mixture", "--arv", "greedy")
    assert piped.returncode == 0, piped.stderr
    assert "━" not in piped.stderr and "%" not in piped.stderr  # no bars when piped


def test_help_shows_no_bool_on_flags() -> None:
    for args in (["--help"], ["plan", "--help"], ["respond", "--help"]):
        proc = subprocess.run(_citywatch(*args), capture_output=True, text=True, env=ENV,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "<bool>" not in proc.stdout, args
        assert "--help" in proc.stdout


def test_tables_are_readable_at_80_columns() -> None:
    proc = subprocess.run(_citywatch("scenario", "explain", "kings_cross_st_pancras_stn"),
                          capture_output=True, text=True, env=ENV, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    assert "…" not in proc.stdout  # neither names nor headers are cut
    assert "King's Cross St Pancras stations" in proc.stdout
    # the plan's tables too: names wrap, they are never cut
    proc = subprocess.run(_citywatch("plan", "--attacker", "mixture", "--arv", "greedy"),
                          capture_output=True, text=True, env=ENV, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    assert "…" not in proc.stdout
    assert "worst site (minutes)" in proc.stdout


def test_dispatch_defaults_to_the_current_local_slot() -> None:
    from citywatch.data import london
    from citywatch.model.clock import slot_at

    sc = london()
    before = sc.slot_names[slot_at(sc)]
    proc = run("dispatch", "--at", "51.5055,-0.0875", "--json")
    after = sc.slot_names[slot_at(sc)]
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["slot"] in (before, after)

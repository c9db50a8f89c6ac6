"""Run the ``citywatch`` command as a user would, for CLI tests."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m citywatch ARGS`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "citywatch", *args], capture_output=True,
                          text=True, timeout=timeout)


def assert_clean_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit status 2, no traceback, and each needle in stderr."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for needle in needles:
        assert needle in proc.stderr, proc.stderr

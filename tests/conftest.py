"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from _scenarios import write_tiny


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """A valid tiny scenario folder."""
    return write_tiny(tmp_path / "tiny")

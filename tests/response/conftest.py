"""Small random coverage instances shared by the response tests."""

from __future__ import annotations

import numpy as np
import pytest
from _response import random_instance


@pytest.fixture(params=range(6))
def instance(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random instance (minutes, weights)."""
    return random_instance(int(request.param))

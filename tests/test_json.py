"""citywatch._json: orjson and the standard-library fallback write and read the same data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import citywatch._json as cj

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20)


@pytest.fixture(params=["orjson", "stdlib"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "orjson":
        pytest.importorskip("orjson")
    else:
        monkeypatch.setattr(cj, "orjson", None)
    yield request.param


@settings(max_examples=60, deadline=None)
@given(JSON_VALUES)
def test_round_trip_matches_the_standard_library(data: object) -> None:
    for pretty in (False, True):
        text = cj.dumps(data, pretty=pretty)
        assert cj.loads(text) == json.loads(json.dumps(data)) == json.loads(text)


def test_both_backends_agree(backend: str, tmp_path: Path) -> None:
    data = {"a": [1.5, 0.1, 1e300, -0.0, 3], "b": {"c": None, "d": "Café — ok"},
            "n": np.arange(3), "f": np.float64(2.25), 7: True}
    compact = cj.dumps(data)
    pretty = cj.dumps(data, pretty=True)
    assert "\n" not in compact and " " not in compact.replace("Café — ok", "")
    assert pretty.startswith('{\n  "a": [')
    expected = {"a": [1.5, 0.1, 1e300, -0.0, 3], "b": {"c": None, "d": "Café — ok"},
                "n": [0, 1, 2], "f": 2.25, "7": True}
    assert cj.loads(compact) == cj.loads(pretty) == expected
    path = cj.write_json(tmp_path / "sub" / "x.json", data, pretty=True)
    assert path.read_text(encoding="utf-8") == pretty
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_invalid_json_raises_a_value_error(backend: str) -> None:
    with pytest.raises(cj.JSONDecodeError):
        cj.loads(b"{not json")
    with pytest.raises(ValueError):
        cj.loads("[1, 2")


def test_failed_write_leaves_no_file(backend: str, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        cj.write_json(tmp_path / "x.json", {"bad": object()})
    assert list(tmp_path.iterdir()) == []

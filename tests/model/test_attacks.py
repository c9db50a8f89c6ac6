"""The attacks.csv parser: any file in the format, optional columns, one-line errors."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.errors import ScenarioError
from citywatch.model.attacks import (
    ATTACK_COMPONENTS,
    default_attacks,
    parse_attack_type,
    read_attacks,
    read_attacks_text,
)


def test_shipped_file_matches_the_shared_format() -> None:
    rows = default_attacks()
    assert len(rows) == 11
    by_id = {r.id: r for r in rows}
    w = by_id["westminster_2017"]
    assert w.type == ("vehicle", "bladed") and w.casualties == 55
    assert w.minutes_to_stop == 1.4 and w.local_time is not None and w.local_time.hour == 14
    assert by_id["woolwich_2013"].targets == 1 and by_id["woolwich_2013"].targets_source == "notes"
    assert all(r.targets is None for r in rows if r.id != "woolwich_2013")


def test_only_id_and_type_are_required() -> None:
    rows = read_attacks_text("type,id,extra\nbladed,a,whatever\nvehicle+bladed,b,\n")
    assert [r.id for r in rows] == ["a", "b"]
    assert rows[0].people_present is None and rows[0].casualties is None
    with pytest.raises(ScenarioError, match="`type` column is required"):
        read_attacks_text("id,people_present\na,10\n")


def test_targets_column_wins_over_notes() -> None:
    text = "id,type,targets,notes\na,bladed,,a targeted attack\nb,bladed,3,\n"
    a, b = read_attacks_text(text)
    assert a.targets is None and b.targets == 3 and b.targets_source == "column"


@pytest.mark.parametrize(("column", "value", "match"), [
    ("people_present", "lots", "row 2: `people_present` = 'lots'"),
    ("people_present", "-5", "row 2: `people_present` = '-5'"),
    ("minutes_to_stop", "nan", "row 2: `minutes_to_stop` = 'nan'"),
    ("killed", "2.5", "row 2: `killed` = '2.5'"),
    ("lat", "91", "row 2: `lat` = '91'"),
    ("local_time", "25:00", "row 2: `local_time` = '25:00'"),
    ("date", "2017-13-01", "row 2: `date` = '2017-13-01'"),
    ("type", "drone", "row 2: `type` = 'drone'"),
])
def test_bad_value_names_row_field_and_value(column: str, value: str, match: str) -> None:
    good = {"id": "x", "type": "bladed", column: "bladed" if column == "type" else ""}
    bad = {"id": "y", "type": "bladed", column: value}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(["id", "type", column])))
    w.writeheader()
    w.writerow(good)
    w.writerow(bad)
    with pytest.raises(ScenarioError, match=match.replace("(", r"\(")) as err:
        read_attacks_text(buf.getvalue(), source="f.csv")
    assert "\n" not in str(err.value)


def test_duplicate_ids_and_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScenarioError, match="duplicates row 1"):
        read_attacks_text("id,type\na,bladed\na,pbied\n")
    with pytest.raises(ScenarioError, match="not found"):
        read_attacks(tmp_path / "nope.csv")


_types = st.lists(st.sampled_from(ATTACK_COMPONENTS), min_size=1, max_size=4,
                  unique=True).map("+".join)
_num = st.one_of(st.just(""), st.integers(0, 100_000).map(str),
                 st.floats(0, 1e5, allow_nan=False).map(lambda x: f"{x:.3f}"))
_minutes = st.one_of(st.just(""), st.integers(0, 1440).map(str),
                     st.floats(0, 1440, allow_nan=False).map(lambda x: f"{x:.3f}"))
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                max_size=20)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_types, _num, _minutes, st.integers(0, 500), st.integers(0, 500), _text),
                min_size=1, max_size=6), st.booleans())
def test_parser_round_trips_any_valid_file(rows, shuffle) -> None:  # type: ignore[no-untyped-def]
    header = ["id", "type", "people_present", "minutes_to_stop", "killed", "injured", "notes"]
    if shuffle:
        header = header[::-1] + ["unknown"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
    w.writeheader()
    for k, (t, ppl, mins, killed, injured, notes) in enumerate(rows):
        w.writerow({"id": f"r{k}", "type": t, "people_present": ppl, "minutes_to_stop": mins,
                    "killed": killed, "injured": injured, "notes": notes, "unknown": "?"})
    got = read_attacks_text(buf.getvalue())
    assert [r.id for r in got] == [f"r{k}" for k in range(len(rows))]
    for r, (t, ppl, mins, killed, injured, _) in zip(got, rows, strict=True):
        assert r.type == parse_attack_type(t)
        assert r.people_present == (float(ppl) if ppl else None)
        assert r.minutes_to_stop == (float(mins) if mins else None)
        assert r.casualties == killed + injured


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=12).filter(lambda s: s.strip() != ""))
def test_parser_rejects_or_reads_any_people_value(value: str) -> None:
    text = "id,type,people_present\na,bladed,\"" + value.replace('"', '""') + "\"\n"
    try:
        (r,) = read_attacks_text(text)
    except ScenarioError as err:
        assert "people_present" in str(err) and "\n" not in str(err)
    else:
        assert r.people_present is not None and r.people_present >= 0

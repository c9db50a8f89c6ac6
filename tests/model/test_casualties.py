"""The crowd-driven casualty model: shape, combination rule, targeted attacks, file."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywatch.errors import ScenarioError
from citywatch.model.casualties import (
    CasualtyParameters,
    attacker_curve,
    burst_and_rate,
    casualty_curve,
    default_casualty_parameters,
    load_casualty_parameters,
    predict_casualties,
    reach_cap,
)
from citywatch.model.scenario import AttackerType

TYPES = ("mtfa", "bladed", "vehicle", "pbied", "vehicle+bladed", "vehicle+mtfa")


@pytest.mark.parametrize("kind", TYPES)
def test_monotone_in_crowd_and_time(kind: str) -> None:
    people = np.array([10.0, 100.0, 1000.0, 10_000.0, 100_000.0])
    k = predict_casualties(kind, people, 5.0)
    assert np.all(np.diff(k) >= 0), k
    grows = people <= (reach_cap(kind, default_casualty_parameters()) or np.inf)
    assert np.all(np.diff(k[grows]) > 0), k
    minutes = np.array([0.0, 1.0, 5.0, 15.0, 30.0])
    k_t = predict_casualties(kind, 2000.0, minutes)
    if kind == "pbied":
        assert np.allclose(k_t, k_t[0]) and k_t[0] > 0   # a blast: response changes nothing
    else:
        assert np.all(np.diff(k_t) > 0), k_t


def test_a_blast_reaches_a_bounded_crowd() -> None:
    """A device on a 20,000-person shopping street harms those within its reach only."""
    p = default_casualty_parameters()
    assert reach_cap("pbied", p) == 1000.0 and reach_cap("mtfa", p) is None
    assert reach_cap("pbied+mtfa", p) is None
    small, large = predict_casualties("pbied", [1000.0, 20_000.0], 0.0)
    assert small == large == pytest.approx(p.burst["pbied"])
    assert predict_casualties("mtfa", 20_000.0, 5.0) > predict_casualties("mtfa", 1000.0, 5.0)


def test_crowd_is_not_only_a_cap() -> None:
    """±50% footfall moves casualties materially at crowded sites (the old cap did not)."""
    beta = default_casualty_parameters().crowd_exponent
    assert 0.3 < beta < 0.8
    base = predict_casualties("bladed", 4000.0, 8.0)
    up, down = predict_casualties("bladed", [6000.0, 2000.0], 8.0)
    assert up / base == pytest.approx(1.5 ** beta)
    assert down / base == pytest.approx(0.5 ** beta)
    assert up / base > 1.15 and down / base < 0.8


@given(st.floats(0.0, 1e6), st.floats(0.0, 600.0), st.sampled_from(TYPES))
def test_never_more_casualties_than_people(people: float, minutes: float, kind: str) -> None:
    k = float(predict_casualties(kind, people, minutes))
    assert 0.0 <= k <= people + 1e-9


def test_combined_attack_rule() -> None:
    p = default_casualty_parameters()
    b, r = burst_and_rate("vehicle+bladed", p)
    assert b == pytest.approx(p.burst["vehicle"])
    assert r == pytest.approx(p.rate["bladed"])          # the vehicle is abandoned
    assert burst_and_rate("bladed+vehicle", p) == (b, r)
    bv, rv = burst_and_rate("vehicle", p)
    assert rv == pytest.approx(p.rate["vehicle"]) and bv == pytest.approx(b)
    # a combined attack does at least the harm of the vehicle's burst and of the knives
    for minutes in (0.5, 5.0, 20.0):
        both = predict_casualties("vehicle+bladed", 3000.0, minutes)
        assert both >= predict_casualties("bladed", 3000.0, minutes)
        assert both >= predict_casualties("vehicle", 3000.0, 0.0)


def test_targeted_attack_reaches_only_its_targets() -> None:
    crowd = predict_casualties("vehicle+bladed", 50.0, 14.0)
    targeted = predict_casualties("vehicle+bladed", 50.0, 14.0, targets=1)
    assert crowd > 5 and targeted == pytest.approx(1.0)
    # the crowd around a targeted attack does not change it
    assert predict_casualties("bladed", [50.0, 5000.0], 14.0, targets=2).tolist() == \
        pytest.approx([float(predict_casualties("bladed", 2.0, 14.0))] * 2)
    with pytest.raises(ScenarioError, match="targets"):
        predict_casualties("bladed", 10.0, 1.0, targets=0.5)


@pytest.mark.parametrize(("kind", "people", "minutes", "observed", "factor"), [
    ("vehicle", 30_000, 5, 520, 1.6),              # Nice 2016
    ("pbied", 1000, 0, 272, 1.6),                  # Manchester Arena 2017
    ("vehicle+bladed", 1000, 1.4, 55, 1.6),        # Westminster 2017
    ("mtfa", 1500, 20, 290, 1.6),                  # Bataclan 2015
])
def test_sanity_targets_of_the_issue(kind: str, people: float, minutes: float,
                                     observed: float, factor: float) -> None:
    k = float(predict_casualties(kind, people, minutes))
    assert observed / factor <= k <= observed * factor


def test_hardening_and_attacker_curve_agree() -> None:
    p = default_casualty_parameters()
    b, r = burst_and_rate("bladed", p)
    a = AttackerType("bladed", "knife", 1.0, b, r, 1.0, 0.5, 20.0, 0.3, kind="bladed",
                     crowd_exponent=p.crowd_exponent, reference_people=p.reference_people)
    people = np.array([[100.0, 4000.0], [0.0, 12_000.0]])
    hard = np.array([0.0, 0.5])
    got = attacker_curve(a, people, hardening=hard)(7.0)
    want = casualty_curve("bladed", people, hardening=hard, hardening_effect=0.3)(7.0)
    assert np.allclose(got, want)
    assert np.allclose(got[:, 1], predict_casualties("bladed", people[:, 1], 7.0) * 0.85)
    assert got[1, 0] == 0.0


def test_legacy_curve_is_the_zero_exponent_case() -> None:
    a = AttackerType("x", "x", 1.0, 15.0, 1.0, 0.1, 0.15, 20.0, 0.9)
    k = attacker_curve(a, np.array([100.0, 10_000.0]))(np.array([3.0, 3.0]))
    assert k.tolist() == pytest.approx([min(10.0, 18.0), 18.0])


def test_parameter_file_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = default_casualty_parameters()
    assert p.version and p.log_sd and p.interval90 and np.isfinite(p.residual_sd)
    lo, hi = p.interval90["crowd_exponent"]
    assert lo <= p.crowd_exponent <= hi
    bad = tmp_path / "bad.toml"
    bad.write_text("reference_people = 1000\n[fitted]\nburst = { vehicle = 1 }\n")
    with pytest.raises(ScenarioError, match="malformed"):
        load_casualty_parameters(bad)
    neg = tmp_path / "neg.toml"
    neg.write_text("reference_people = 1000\n[fitted]\ncrowd_exponent = 0.5\n"
                   "burst = { vehicle = -1 }\nrate = {}\n")
    with pytest.raises(ScenarioError, match="burst.vehicle"):
        load_casualty_parameters(neg)
    with pytest.raises(ScenarioError, match="only"):
        CasualtyParameters(0.5, 1000.0, {"bladed": 1.0}, {})


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(ScenarioError, match="`type`"):
        predict_casualties("drone", 10.0, 1.0)
    with pytest.raises(ScenarioError, match="`type`"):
        predict_casualties("bladed+bladed", 10.0, 1.0)

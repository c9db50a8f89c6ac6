"""The casualty model: harm grows with the crowd in an attack's reach and with time to armed help.

An attack of type θ (one component or several joined by ``+``) with ``P`` people in its
reach, stopped ``T`` minutes after it began, causes (killed + injured)::

    K(P, T) = min(P, (P / P0)^β · (b_θ + r_θ · T))

* ``P0`` is a reference crowd (1,000 people), so ``b_θ`` (the burst at onset) and ``r_θ``
  (casualties a minute while the attack goes on) are read "at 1,000 people";
* ``β`` is the crowd exponent, shared by every type: the harm done grows with the crowd
  but less than in proportion (an attacker reaches the people nearest first; a denser
  crowd is reached faster) — fitted, not assumed;
* no attack harms more people than are present (``min(P, ·)``);
* components: ``mtfa`` and ``bladed`` harm at a rate (no burst), ``pbied`` is a burst
  only (``r = 0``: armed response does not change a blast), ``vehicle`` has a burst and a
  rate while it keeps driving;
* a **combined** attack adds its components' bursts; its rate is that of the
  components that follow the vehicle (the vehicle is abandoned when the attackers go on
  foot, as at Westminster and London Bridge 2017), so ``vehicle+bladed`` has
  ``b = b_vehicle`` and ``r = r_bladed``;
* a **targeted** attack (aimed at ``n`` people, not at the crowd, as at Woolwich 2013)
  has ``P = n`` people in its reach whatever the crowd;
* a blast reaches only the people within tens of metres, so a ``pbied`` has at most
  ``max_reach`` people in its reach (1,000: the Manchester Arena foyer, the largest crowd
  around a device in the data) however large the site [assumption]; the moving attacks
  (firearms, knives, vehicles) reach the whole crowd of a site.

Protective security (hardening ``h``) multiplies the result by ``1 − e_θ·h`` as before.
The parameters were fitted to real attacks (`citywatch.model.calibration`) and ship in
``citywatch/data/casualty_model.toml`` with their uncertainty. Because the curve is
linear in ``T`` below its cap, every (type, site, slot) reduces to three numbers
``K(T) = min(cap, initial + rate · T)`` (`CasualtyCurve`), the form the simulator's
kernels evaluate.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from citywatch.errors import ScenarioError
from citywatch.model.attacks import ATTACK_COMPONENTS, parse_attack_type

__all__ = [
    "CasualtyCurve",
    "CasualtyParameters",
    "CurveSpec",
    "attacker_curve",
    "burst_and_rate",
    "component_weights",
    "curve_arrays",
    "casualty_curve",
    "default_casualty_parameters",
    "load_casualty_parameters",
    "predict_casualties",
    "reach_cap",
]

FloatArray = npt.NDArray[np.float64]

#: Components harmed at onset (burst) and over time (rate); the others are zero.
_HAS_BURST = ("vehicle", "pbied")
_HAS_RATE = ("mtfa", "bladed", "vehicle")


@dataclass(frozen=True)
class CasualtyParameters:
    """Fitted parameters of the casualty model (see the module docstring).

    Attributes
    ----------
    crowd_exponent
        ``β``.
    reference_people
        ``P0``.
    burst, rate
        ``b_c`` and ``r_c`` per component, casualties (per minute) at ``P0`` people.
    log_sd
        Standard error of each fitted parameter on the log scale (``β`` on its own
        scale), keyed ``"crowd_exponent"``, ``"burst.vehicle"``, ``"rate.bladed"``, ...
    interval90
        90% bootstrap interval of each fitted parameter (same keys).
    residual_sd
        Residual standard deviation of log casualties at the fit.
    max_reach
        Most people one attack of a component can reach, where that is bounded (an
        assumption, not fitted).
    version, source
        The parameter file's version and where it was read from.
    """

    crowd_exponent: float
    reference_people: float
    burst: Mapping[str, float]
    rate: Mapping[str, float]
    log_sd: Mapping[str, float] = field(default_factory=dict)
    interval90: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    residual_sd: float = float("nan")
    max_reach: Mapping[str, float] = field(default_factory=dict)
    version: str = ""
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.crowd_exponent) and 0.0 <= self.crowd_exponent <= 1.5):
            msg = f"`crowd_exponent` must lie in [0, 1.5], got {self.crowd_exponent}"
            raise ScenarioError(msg)
        if not (np.isfinite(self.reference_people) and self.reference_people > 0):
            msg = f"`reference_people` must be > 0, got {self.reference_people}"
            raise ScenarioError(msg)
        for table, allowed in (("burst", _HAS_BURST), ("rate", _HAS_RATE)):
            values = getattr(self, table)
            for comp, v in values.items():
                if comp not in allowed:
                    msg = f"`{table}.{comp}`: only {', '.join(allowed)} have a {table}"
                    raise ScenarioError(msg)
                if not (np.isfinite(v) and v >= 0):
                    msg = f"`{table}.{comp}` must be finite and >= 0, got {v}"
                    raise ScenarioError(msg)

    def as_vector(self) -> dict[str, float]:
        """The fitted parameters by name (``crowd_exponent``, ``burst.vehicle``, ...)."""
        out = {"crowd_exponent": self.crowd_exponent}
        out.update({f"burst.{c}": float(v) for c, v in self.burst.items()})
        out.update({f"rate.{c}": float(v) for c, v in self.rate.items()})
        return out


def component_weights(kind: str | Sequence[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Weights of each component's burst and rate in an attack type (the combination rule).

    Bursts add up; the rate is that of the components other than ``vehicle`` when there
    are any (the attackers leave the vehicle and go on), else the vehicle's own.
    """
    parts = parse_attack_type(kind) if isinstance(kind, str) else tuple(kind)
    followers = [c for c in parts if c != "vehicle"] if len(parts) > 1 else list(parts)
    return ({c: 1.0 for c in parts if c in _HAS_BURST},
            {c: 1.0 for c in followers if c in _HAS_RATE})


def reach_cap(kind: str | Sequence[str], params: CasualtyParameters) -> float | None:
    """Most people an attack of type `kind` can reach (``None``: the whole crowd).

    A combined attack reaches as far as its farthest-reaching component.
    """
    parts = parse_attack_type(kind) if isinstance(kind, str) else tuple(kind)
    caps = [params.max_reach.get(c) for c in parts]
    if any(c is None for c in caps):
        return None
    return float(max(c for c in caps if c is not None))


def burst_and_rate(kind: str | Sequence[str], params: CasualtyParameters) -> tuple[float, float]:
    """Burst ``b_θ`` and rate ``r_θ`` of an attack type at ``P0`` people (combination rule)."""
    wb, wr = component_weights(kind)
    return (float(sum(w * float(params.burst.get(c, 0.0)) for c, w in wb.items())),
            float(sum(w * float(params.rate.get(c, 0.0)) for c, w in wr.items())))


@dataclass(frozen=True, eq=False)
class CasualtyCurve:
    """``K(T) = min(cap, initial + rate · T)`` elementwise, hardening applied.

    Arrays broadcast together; a function of minutes, vectorised (`__call__`).
    """

    initial: FloatArray
    rate: FloatArray
    cap: FloatArray

    def __call__(self, minutes: npt.ArrayLike) -> FloatArray:
        """Casualties of attacks stopped after `minutes`."""
        t = np.asarray(minutes, dtype=np.float64)
        return np.asarray(np.minimum(self.cap, self.initial + self.rate * t))


class CurveSpec(Protocol):
    """What a casualty curve needs of an attacker type (`citywatch.model.scenario.AttackerType`)."""

    @property
    def initial_casualties(self) -> float: ...
    @property
    def casualties_per_minute(self) -> float: ...
    @property
    def people_cap(self) -> float: ...
    @property
    def crowd_exponent(self) -> float: ...
    @property
    def reference_people(self) -> float: ...
    @property
    def targets(self) -> float | None: ...
    @property
    def max_reach(self) -> float | None: ...
    @property
    def hardening_effect(self) -> float: ...


def curve_arrays(*, initial: float, rate: float, people_cap: float, crowd_exponent: float,
                 reference_people: float, targets: float | None, people: npt.ArrayLike,
                 hardening: npt.ArrayLike = 0.0, hardening_effect: float = 0.0,
                 max_reach: float | None = None) -> CasualtyCurve:
    """The curve ``min(cap·R, (R/P0)^β·(b + r·T))·(1 − e·h)`` with ``R`` people in reach.

    ``R`` is `people`, or ``min(people, targets)`` for a targeted attack, and at most
    `max_reach`; arrays broadcast together.
    """
    reach = np.asarray(people, dtype=np.float64)
    if np.any(reach < 0) or not np.all(np.isfinite(reach)):
        msg = "`people` must be finite and >= 0"
        raise ScenarioError(msg)
    if targets is not None:
        if not (np.isfinite(targets) and targets >= 1):
            msg = f"`targets` must be >= 1, got {targets}"
            raise ScenarioError(msg)
        reach = np.minimum(reach, float(targets))
    if max_reach is not None:
        reach = np.minimum(reach, float(max_reach))
    factor = 1.0 - float(hardening_effect) * np.asarray(hardening, dtype=np.float64)
    crowd = (reach / float(reference_people)) ** float(crowd_exponent) * factor
    ini, rt, cap = np.broadcast_arrays(float(initial) * crowd, float(rate) * crowd,
                                       float(people_cap) * reach * factor)
    return CasualtyCurve(np.array(ini), np.array(rt), np.array(cap))


def attacker_curve(attacker: CurveSpec, people: npt.ArrayLike, *,
                   hardening: npt.ArrayLike = 0.0) -> CasualtyCurve:
    """The casualty curve of a scenario's attacker type at sites with `people` present."""
    return curve_arrays(initial=attacker.initial_casualties,
                        rate=attacker.casualties_per_minute, people_cap=attacker.people_cap,
                        crowd_exponent=attacker.crowd_exponent,
                        reference_people=attacker.reference_people, targets=attacker.targets,
                        people=people, hardening=hardening,
                        hardening_effect=attacker.hardening_effect,
                        max_reach=attacker.max_reach)


def casualty_curve(kind: str | Sequence[str], people: npt.ArrayLike, *,
                   params: CasualtyParameters | None = None, targets: float | None = None,
                   hardening: npt.ArrayLike = 0.0,
                   hardening_effect: float = 0.0) -> CasualtyCurve:
    """The calibrated casualty curve of attacks of type `kind` with `people` present.

    Parameters
    ----------
    kind
        Attack type (``"bladed"``, ``"vehicle+bladed"``, or its components).
    people
        People present (any shape).
    params
        Model parameters; default the calibrated ones.
    targets
        People the attack is aimed at (a targeted attack); ``None``: the crowd.
    hardening, hardening_effect
        Site hardening ``h`` (broadcast with `people`) and the type's effect ``e``.
    """
    p = params or default_casualty_parameters()
    b, r = burst_and_rate(kind, p)
    return curve_arrays(initial=b, rate=r, people_cap=1.0, crowd_exponent=p.crowd_exponent,
                        reference_people=p.reference_people, targets=targets, people=people,
                        hardening=hardening, hardening_effect=hardening_effect,
                        max_reach=reach_cap(kind, p))


def predict_casualties(kind: str | Sequence[str], people: npt.ArrayLike,
                       minutes: npt.ArrayLike, *, params: CasualtyParameters | None = None,
                       targets: float | None = None) -> FloatArray:
    """Casualties (killed + injured) of an attack with `people` in reach stopped after `minutes`."""
    return casualty_curve(kind, people, params=params, targets=targets)(minutes)


def _parse(data: dict[str, Any], *, source: str) -> CasualtyParameters:
    try:
        fitted = data["fitted"]
        unc = data.get("uncertainty", {})
        burst = {c: float(v) for c, v in fitted.get("burst", {}).items()}
        rate = {c: float(v) for c, v in fitted.get("rate", {}).items()}
        for c in ATTACK_COMPONENTS:
            if c in _HAS_BURST:
                burst.setdefault(c, 0.0)
            if c in _HAS_RATE:
                rate.setdefault(c, 0.0)
        return CasualtyParameters(
            crowd_exponent=float(fitted["crowd_exponent"]),
            reference_people=float(data["reference_people"]),
            burst=burst, rate=rate,
            log_sd={k: float(v) for k, v in unc.get("log_sd", {}).items()},
            interval90={k: (float(v[0]), float(v[1]))
                        for k, v in unc.get("interval90", {}).items()},
            residual_sd=float(unc.get("residual_sd", float("nan"))),
            max_reach={c: float(v) for c, v in data.get("assumed", {}).get("max_reach",
                                                                            {}).items()},
            version=str(data.get("version", "")), source=source)
    except ScenarioError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as err:
        msg = f"{source}: malformed casualty-model file ({type(err).__name__}: {err})"
        raise ScenarioError(msg) from err


def load_casualty_parameters(path: str | Path) -> CasualtyParameters:
    """Read a ``casualty_model.toml`` parameter file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"casualty-model file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: invalid TOML: {err}") from err
    return _parse(data, source=str(path))


@functools.cache
def default_casualty_parameters() -> CasualtyParameters:
    """The calibrated parameters shipped with CityWatch (``data/casualty_model.toml``)."""
    text = resources.files("citywatch.data").joinpath("casualty_model.toml").read_text("utf-8")
    return _parse(tomllib.loads(text), source="citywatch/data/casualty_model.toml")

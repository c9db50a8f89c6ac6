"""Fit the casualty model to real attacks: penalised least squares on log casualties.

Method
------
The parameters ``θ = (β, log b_vehicle, log b_pbied, log r_mtfa, log r_bladed,
log r_vehicle)`` of `citywatch.model.casualties` minimise::

    Σ_rows ((log(1 + K_obs) − log(1 + K(P, T; θ))) / σ_d)²  +  Σ_j ((θ_j − μ_j) / σ_p)²

* ``K_obs`` = killed + injured; ``+ 1`` keeps an attack that harmed nobody in the sum;
* ``σ_d = 0.5`` (log scale): crowd estimates are orders of magnitude, so a row is
  trusted to about ±65% [assumption]; the fit reports the residual SD it finds;
* the second sum is a weak prior (``σ_p = 1``, a factor of e) on each burst and rate,
  centred on the rough figures of the domain reference (Westminster's ~50 casualties in
  the first 30 s for a vehicle, 1–6 a minute for knives, 5–6 killed a minute for
  firearms in a crowded venue, a device's blast) — it decides only what the data do not
  (a type with one row, and the left-out type in leave-one-out); ``β`` has no prior.

Solved with `scipy.optimize.least_squares` (trust-region reflective). Uncertainty two
ways: the Laplace (Gauss–Newton Hessian) standard errors ``sqrt(diag((JᵀJ)⁻¹))`` at the
optimum, and a row bootstrap (rows resampled with replacement, refitted; percentile
90% intervals). Generalisation: leave-one-out (each row predicted by a fit without it)
and leave-London-out (the London rows predicted by a fit to the rest).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares

from citywatch._random import as_generator
from citywatch.errors import ScenarioError
from citywatch.model.attacks import AttackRecord
from citywatch.model.casualties import CasualtyParameters, component_weights, reach_cap

__all__ = [
    "DATA_SD",
    "PRIOR_SD",
    "PRIORS",
    "CasualtyFit",
    "FitRow",
    "fit_casualty_model",
    "fit_parameters",
    "fit_to_toml",
]

FloatArray = npt.NDArray[np.float64]

#: Names of the fitted parameters, in the order of the vector θ.
NAMES = ("crowd_exponent", "burst.vehicle", "burst.pbied", "rate.mtfa", "rate.bladed",
         "rate.vehicle")
#: Prior centres (casualties, or casualties a minute, at 1,000 people) [est, see docstring].
PRIORS = {"burst.vehicle": 50.0, "burst.pbied": 100.0, "rate.mtfa": 11.0,
          "rate.bladed": 2.5, "rate.vehicle": 5.0}
#: Most people one attack of a component reaches, where bounded [assumption, not fitted]:
#: a blast reaches the people within tens of metres (Manchester Arena's foyer, ~1,000).
MAX_REACH = {"pbied": 1000.0}
#: Log-scale SD of a row's casualties [assumption].
DATA_SD = 0.5
#: Log-scale SD of each prior.
PRIOR_SD = 1.0
REFERENCE_PEOPLE = 1000.0
_MAX_REACH_PARAMS = CasualtyParameters(0.5, REFERENCE_PEOPLE, {}, {}, max_reach=MAX_REACH)
_START = np.array([0.5, *np.log([PRIORS[n] for n in NAMES[1:]])])


def _params(theta: FloatArray, *, version: str = "") -> CasualtyParameters:
    v = dict(zip(NAMES[1:], np.exp(theta[1:]), strict=True))
    return CasualtyParameters(max_reach=dict(MAX_REACH),
        crowd_exponent=float(np.clip(theta[0], 0.0, 1.5)), reference_people=REFERENCE_PEOPLE,
        burst={"vehicle": float(v["burst.vehicle"]), "pbied": float(v["burst.pbied"])},
        rate={"mtfa": float(v["rate.mtfa"]), "bladed": float(v["rate.bladed"]),
              "vehicle": float(v["rate.vehicle"])}, version=version)


def usable(records: Sequence[AttackRecord]) -> tuple[AttackRecord, ...]:
    """Rows a fit can use: casualties, people present and minutes to stop all known."""
    return tuple(r for r in records if r.casualties is not None and r.people_present is not None
                 and r.minutes_to_stop is not None)


@dataclass(frozen=True, eq=False)
class _Design:
    """The rows as arrays: reach, minutes, burst and rate weights per fitted parameter."""

    reach: FloatArray
    minutes: FloatArray
    burst: FloatArray   # (rows, 2): vehicle, pbied
    rate: FloatArray    # (rows, 3): mtfa, bladed, vehicle
    observed: FloatArray

    @classmethod
    def of(cls, rows: Sequence[AttackRecord]) -> _Design:
        reach, minutes, wb, wr = [], [], [], []
        for r in rows:
            p = float(r.people_present or 0.0)
            p = min(p, r.targets) if r.targets is not None else p
            cap = reach_cap(r.type, _MAX_REACH_PARAMS)
            reach.append(p if cap is None else min(p, cap))
            minutes.append(float(r.minutes_to_stop or 0.0))
            b, w = component_weights(r.type)
            wb.append([b.get(c, 0.0) for c in ("vehicle", "pbied")])
            wr.append([w.get(c, 0.0) for c in ("mtfa", "bladed", "vehicle")])
        return cls(np.array(reach), np.array(minutes), np.array(wb).reshape(-1, 2),
                   np.array(wr).reshape(-1, 3),
                   np.array([float(r.casualties or 0) for r in rows]))

    def take(self, idx: npt.ArrayLike) -> _Design:
        i = np.asarray(idx, dtype=np.int64)
        return _Design(self.reach[i], self.minutes[i], self.burst[i], self.rate[i],
                       self.observed[i])

    def predict(self, theta: FloatArray) -> FloatArray:
        v = np.exp(theta[1:])
        crowd = (self.reach / REFERENCE_PEOPLE) ** theta[0]
        k = crowd * (self.burst @ v[:2] + self.rate @ v[2:] * self.minutes)
        return np.asarray(np.minimum(self.reach, k))


def _residuals(theta: FloatArray, d: _Design) -> FloatArray:
    data = (np.log1p(d.observed) - np.log1p(d.predict(theta))) / DATA_SD
    prior = (theta[1:] - _START[1:]) / PRIOR_SD
    return np.concatenate([data, prior])


def _solve(d: _Design, *, strict: bool = True) -> tuple[FloatArray, FloatArray]:
    """Minimise the objective; a bootstrap resample may stop at the evaluation limit
    (``strict=False``) where the data leave a direction flat (e.g. no row informs ``β``)."""
    lower = np.array([0.0, *[-np.inf] * (len(NAMES) - 1)])
    upper = np.array([1.5, *[np.inf] * (len(NAMES) - 1)])
    res = least_squares(_residuals, _START, args=(d,), bounds=(lower, upper), method="trf",
                        max_nfev=2000)
    if strict and not res.success:
        msg = f"casualty fit did not converge: {res.message}"
        raise ScenarioError(msg)
    return np.asarray(res.x), np.asarray(res.jac)


def fit_parameters(records: Sequence[AttackRecord]) -> CasualtyParameters:
    """The penalised least-squares parameters for `records` (no uncertainty)."""
    rows = usable(records)
    if not rows:
        msg = "no usable attack rows: a fit needs casualties, people_present and minutes_to_stop"
        raise ScenarioError(msg)
    return _params(_solve(_Design.of(rows))[0])


@dataclass(frozen=True)
class FitRow:
    """One row's fit: prediction with all rows, without it, and log residuals (pred/obs)."""

    id: str
    type: str
    people: float
    minutes: float
    targeted: bool
    observed: float
    predicted: float
    loo_predicted: float

    @property
    def log_ratio(self) -> float:
        """``log((1 + predicted) / (1 + observed))``."""
        return float(np.log1p(self.predicted) - np.log1p(self.observed))

    @property
    def loo_log_ratio(self) -> float:
        """The same for the leave-one-out prediction."""
        return float(np.log1p(self.loo_predicted) - np.log1p(self.observed))


@dataclass(frozen=True)
class CasualtyFit:
    """A calibration: parameters with their uncertainty, and how well they predict."""

    parameters: CasualtyParameters
    rows: tuple[FitRow, ...]
    standard_errors: dict[str, float]
    interval90: dict[str, tuple[float, float]]
    residual_sd: float
    n_bootstrap: int
    seed: int

    @property
    def rms_log_ratio(self) -> float:
        """RMS of in-sample log residuals."""
        return float(np.sqrt(np.mean([r.log_ratio ** 2 for r in self.rows])))

    @property
    def loo_rms_log_ratio(self) -> float:
        """RMS of leave-one-out log residuals."""
        return float(np.sqrt(np.mean([r.loo_log_ratio ** 2 for r in self.rows])))

    def by_type(self) -> dict[str, dict[str, float]]:
        """Per attack type: rows, mean and RMS log residual, in sample and leave-one-out."""
        out: dict[str, dict[str, float]] = {}
        for t in dict.fromkeys(r.type for r in self.rows):
            rs = [r for r in self.rows if r.type == t]
            lr = np.array([r.log_ratio for r in rs])
            lo = np.array([r.loo_log_ratio for r in rs])
            out[t] = {"rows": float(len(rs)), "mean_log_ratio": float(lr.mean()),
                      "rms_log_ratio": float(np.sqrt((lr ** 2).mean())),
                      "loo_rms_log_ratio": float(np.sqrt((lo ** 2).mean()))}
        return out


def fit_casualty_model(records: Sequence[AttackRecord], *, n_bootstrap: int = 400,
                       seed: int = 2017, version: str = "") -> CasualtyFit:
    """Fit the casualty model and measure its uncertainty and leave-one-out error.

    Parameters
    ----------
    records
        Attack records; rows missing casualties, people or minutes are skipped.
    n_bootstrap
        Row-bootstrap refits for the 90% intervals (0: none).
    seed
        Seed of the bootstrap resampling (an int, so the fit file can record it).
    version
        Version string written with the parameters.
    """
    rows = usable(records)
    if len(rows) < len(NAMES):
        msg = f"a fit needs at least {len(NAMES)} usable rows, got {len(rows)}"
        raise ScenarioError(msg)
    d = _Design.of(rows)
    theta, jac = _solve(d)
    obs = d.observed
    pred = d.predict(theta)
    resid = np.log1p(obs) - np.log1p(pred)
    dof = max(len(rows) - len(NAMES), 1)
    residual_sd = float(np.sqrt((resid ** 2).sum() / dof))
    cov = np.linalg.pinv(jac.T @ jac)
    se = dict(zip(NAMES, np.sqrt(np.clip(np.diag(cov), 0.0, None)).tolist(), strict=True))
    loo = np.empty(len(rows))
    everyone = np.arange(len(rows))
    for i in everyone:
        t_i, _ = _solve(d.take(everyone[everyone != i]))
        loo[i] = d.take([i]).predict(t_i)[0]
    rng = as_generator(seed)
    boots = [_solve(d.take(rng.integers(0, len(rows), size=len(rows))), strict=False)[0]
             for _ in range(n_bootstrap)]
    interval: dict[str, tuple[float, float]] = {}
    if boots:
        b = np.array(boots)
        b[:, 1:] = np.exp(b[:, 1:])
        lo, hi = np.percentile(b, [5.0, 95.0], axis=0)
        interval = {n: (float(x), float(y)) for n, x, y in zip(NAMES, lo, hi, strict=True)}
    p = _params(theta, version=version)
    params = dataclasses.replace(p, log_sd=se, interval90=interval, residual_sd=residual_sd)
    fit_rows = tuple(FitRow(r.id, r.type_label, float(r.people_present or 0.0),
                            float(r.minutes_to_stop or 0.0), r.targets is not None,
                            float(o), float(q), float(lq))
                     for r, o, q, lq in zip(rows, obs, pred, loo, strict=True))
    return CasualtyFit(params, fit_rows, se, interval, residual_sd, n_bootstrap, seed)


def fit_to_toml(fit: CasualtyFit, *, data_source: str) -> str:
    """The parameter file (``casualty_model.toml``) for a fit, with its provenance."""
    p = fit.parameters

    def num(x: float) -> str:
        return f"{x:.6g}"

    lines = [
        "# Calibrated casualty model (citywatch.model.casualties); GENERATED by",
        "#   python tools/fit_casualty_model.py",
        "# from the attacks in " + data_source + " by penalised least squares on",
        "# log(1 + casualties) (citywatch.model.calibration: data SD "
        f"{DATA_SD}, prior SD {PRIOR_SD} on the log",
        "# of each burst and rate, no prior on the crowd exponent). Do not edit by hand:",
        "# change the data or the method and regenerate; the test suite checks this file",
        "# against a fresh fit.",
        "#",
        "# K(P, T) = min(P, (P / reference_people)^crowd_exponent * (burst + rate * T))",
        "# burst and rate are casualties (killed + injured) at reference_people people;",
        "# rate is per minute until armed officers stop the attack.",
        f'version = "{p.version}"',
        f"reference_people = {num(p.reference_people)}",
        "",
        "[fitted]",
        f"crowd_exponent = {num(p.crowd_exponent)}",
        "burst = { " + ", ".join(f"{c} = {num(v)}" for c, v in p.burst.items()) + " }",
        "rate = { " + ", ".join(f"{c} = {num(v)}" for c, v in p.rate.items()) + " }",
        "",
        "[assumed]",
        "# not fitted: most people one attack of the component reaches (a blast reaches",
        "# the people within tens of metres; Manchester Arena's foyer held about 1,000)",
        "max_reach = { " + ", ".join(f"{c} = {num(v)}" for c, v in p.max_reach.items()) + " }",
        "",
        "[uncertainty]",
        "# standard errors: Laplace (Gauss-Newton Hessian) at the optimum, on the log",
        "# scale for bursts and rates (crowd_exponent on its own scale)",
        f"residual_sd = {num(fit.residual_sd)}   # of log(1 + casualties), "
        f"{len(fit.rows)} rows",
        f"n_bootstrap = {fit.n_bootstrap}",
        f"seed = {fit.seed}",
        "log_sd = { " + ", ".join(f'"{k}" = {num(v)}' for k, v in fit.standard_errors.items())
        + " }",
        "# 90% row-bootstrap intervals (natural scale)",
        "interval90 = { " + ", ".join(f'"{k}" = [{num(a)}, {num(b)}]'
                                      for k, (a, b) in fit.interval90.items()) + " }",
        "",
        "[fit]",
        f"rms_log_ratio = {num(fit.rms_log_ratio)}",
        f"loo_rms_log_ratio = {num(fit.loo_rms_log_ratio)}",
        "",
    ]
    return "\n".join(lines)

"""``citywatch backtest``: the casualty and response models against real attacks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citywatch.cli._common import console, load, print_json


def _f(x: float | None, spec: str = ".1f") -> str:
    return "–" if x is None else format(x, spec)


def backtest(
    file: Annotated[Path | None, typer.Argument(
        help="CSV in the attacks.csv format (only id and type required); default the "
             "attacks CityWatch is calibrated on", show_default=False)] = None,
    scenario: Annotated[str, typer.Option(
        help="Scenario whose default plan predicts the response at rows inside it "
             "('none': casualties only)")] = "london",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulated response times")] = 0,
) -> None:
    """Predict each attack's casualties and time to armed help; compare with what happened."""
    from citywatch.model.attacks import default_attacks, read_attacks
    from citywatch.sim.backtest import backtest as run

    records = default_attacks() if file is None else read_attacks(file)
    plan = None
    if scenario.lower() != "none":
        from citywatch.planner import make_plan

        plan = make_plan(load(scenario))
    result = run(records, plan=plan, seed=seed)
    if json_out:
        print_json(result.to_dict())
        return
    t = Table(title="Casualties (killed + injured)")
    for col in ("attack", "type", "people", "min", "pred", "LOO", "obs", "ratio"):
        t.add_column(col, justify="left" if col in ("attack", "type") else "right")
    for r in result.rows:
        t.add_row(r.id, r.type + (" (targeted)" if r.targeted else ""),
                  _f(r.people_present, ",.0f"), _f(r.minutes_to_stop, "g"),
                  _f(r.predicted_casualties), _f(r.loo_predicted_casualties),
                  _f(r.observed_casualties, "d"), _f(r.ratio, ".2f"))
    console.print(t)
    console.print("pred: the calibrated model at the row's crowd and minutes; LOO: fitted "
                  "without the row.")
    timed = [r for r in result.rows if r.predicted_minutes is not None]
    if plan is not None:
        t = Table(title=f"Minutes to armed intervention under the {plan.scenario.name} plan")
        for col in ("attack", "slot", "on site", "p10", "median", "p90", "ARVs only",
                    "observed"):
            t.add_column(col, justify="left" if col in ("attack", "slot") else "right")
        for r in timed:
            q = r.predicted_minutes or {}
            q0 = r.predicted_minutes_no_patrol or {}
            t.add_row(r.id, r.slot or "", _f(r.armed_presence, ".2f"), _f(q.get("p10")),
                      _f(q.get("median")), _f(q.get("p90")),
                      f"{_f(q0.get('median'))} ({_f(q0.get('p10'))}-{_f(q0.get('p90'))})",
                      _f(r.observed_minutes, "g"))
        console.print(t)
        console.print("on site: probability the plan has armed officers at a site within "
                      "300 m; p10/median/p90: minutes from the call under the plan; ARVs "
                      "only: median (p10-p90) with nobody on site; observed: minutes to stop "
                      "from the start of the attack.")
        skipped = [f"{r.id} ({r.outside})" for r in result.rows if r.outside]
        if skipped:
            console.print("Not predicted: " + "; ".join(skipped) + ".")
    s = result.summary()
    console.print(f"{s['with_casualty_prediction']} of {s['rows']} rows predicted: RMS log "
                  f"ratio {s['rms_log_ratio']} in sample, {s['loo_rms_log_ratio']} leave-one-out; "
                  f"{s['within_factor_2']} within a factor of 2.")
    if s["with_time_prediction"]:
        console.print(f"Response predicted at {s['with_time_prediction']} rows in "
                      f"{s['scenario']}: observed minutes within p10-p90 at "
                      f"{s['observed_minutes_within_p10_p90']}.")
    for note in s["notes"]:
        console.print(f"Note: {note}")

"""Refit the casualty model to the shipped attacks and write ``data/casualty_model.toml``.

Usage: ``python tools/fit_casualty_model.py [--check]`` (``--check`` compares instead of
writing and exits 1 if the shipped file is stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

from citywatch.model.attacks import default_attacks
from citywatch.model.calibration import fit_casualty_model, fit_to_toml

OUT = Path(__file__).resolve().parents[1] / "src" / "citywatch" / "data" / "casualty_model.toml"
VERSION = "2026.12"


def main(argv: list[str]) -> int:
    fit = fit_casualty_model(default_attacks(), version=VERSION)
    text = fit_to_toml(fit, data_source="citywatch/data/attacks/attacks.csv")
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} is stale: run python tools/fit_casualty_model.py")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    for r in fit.rows:
        print(f"{r.id:24s} {r.type:15s} obs {r.observed:6.0f} pred {r.predicted:7.1f} "
              f"loo {r.loo_predicted:7.1f}")
    print(f"rms log ratio {fit.rms_log_ratio:.3f}, leave-one-out {fit.loo_rms_log_ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

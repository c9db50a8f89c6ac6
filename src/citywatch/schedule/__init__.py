"""Rosters: sampling teams, beats and shifts from a randomised plan, and exporting them."""

from citywatch.schedule.beat_plan import BeatPlan, sample_beats, solve_beats
from citywatch.schedule.beats import Beat
from citywatch.schedule.roster import (
    Forbid,
    Mission,
    OverrideImpact,
    Pin,
    Roster,
    SitePredictability,
    Team,
    WorkingTimeRules,
    build_teams,
    check_working_time,
    make_beat_roster,
    make_roster,
    predictability,
    roster_from_plan,
)
from citywatch.schedule.sampling import assign_teams, comb_sample, sample_joint_schedules
from citywatch.schedule.walking import candidate_beats

__all__ = [
    "Beat",
    "BeatPlan",
    "Forbid",
    "Mission",
    "OverrideImpact",
    "Pin",
    "Roster",
    "SitePredictability",
    "Team",
    "WorkingTimeRules",
    "assign_teams",
    "build_teams",
    "candidate_beats",
    "check_working_time",
    "comb_sample",
    "make_beat_roster",
    "make_roster",
    "predictability",
    "roster_from_plan",
    "sample_beats",
    "sample_joint_schedules",
    "solve_beats",
]

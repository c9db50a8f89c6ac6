"""Response-vehicle location models, live dispatch and the joint deter+respond plan."""

from citywatch.response._problem import CoverageProblem
from citywatch.response.backup import solve_backup
from citywatch.response.dispatch import UnitRecommendation, UnitState, recommend
from citywatch.response.joint import JointPlan, joint_plan, sequential_posts
from citywatch.response.lscp import solve_lscp
from citywatch.response.mclp import solve_mclp
from citywatch.response.mexclp import busy_probability, expected_coverage, solve_mexclp
from citywatch.response.moveup import Move, MoveUpOption, recommend_moveups
from citywatch.response.pcenter import solve_pcenter
from citywatch.response.pmedian import solve_pmedian
from citywatch.response.results import (
    DEFAULT_STANDARDS_MIN,
    CoverageResult,
    ResponseStats,
    response_stats,
)

__all__ = [
    "DEFAULT_STANDARDS_MIN",
    "CoverageProblem",
    "CoverageResult",
    "JointPlan",
    "Move",
    "MoveUpOption",
    "ResponseStats",
    "UnitRecommendation",
    "UnitState",
    "busy_probability",
    "expected_coverage",
    "joint_plan",
    "recommend",
    "recommend_moveups",
    "response_stats",
    "sequential_posts",
    "solve_backup",
    "solve_lscp",
    "solve_mclp",
    "solve_mexclp",
    "solve_pcenter",
    "solve_pmedian",
]

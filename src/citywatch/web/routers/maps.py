"""Map layers for the dashboard: a scenario's boundaries and sites, a plan's full map."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from citywatch.web import services
from citywatch.web.deps import SessionDep
from citywatch.web.routers.plans import READERS, get_plan
from citywatch.web.routers.scenarios import ExecutorDep, _get, _version
from citywatch.web.schemas import Id
from citywatch.web.security import allow

router = APIRouter(tags=["maps"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such scenario or plan"}}

_maps: OrderedDict[tuple[str, Any], bytes] = OrderedDict()
_lock = threading.Lock()


def _cached(key: tuple[str, Any], make: Any) -> bytes:
    with _lock:
        if key in _maps:
            _maps.move_to_end(key)
            return _maps[key]
    body = json.dumps(make(), separators=(",", ":")).encode()
    with _lock:
        _maps[key] = body
        while len(_maps) > 16:
            _maps.popitem(last=False)
    return body


@router.get("/api/scenarios/{scenario_id}/map", responses=NOT_FOUND)
@allow(*READERS)
def scenario_map(scenario_id: Id, session: SessionDep,
                 version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
                 ) -> Response:
    """Boundaries, basemap and sites of a scenario version (`citywatch.maps`)."""
    from citywatch.maps import scenario_map_data

    v = _version(_get(session, scenario_id), version)
    body = _cached(("scenario", v.sha256),
                   lambda: scenario_map_data(services.load_version(v)))
    return Response(body, media_type="application/json")


@router.get("/api/plans/{plan_id}/map", responses={
    **NOT_FOUND, 409: {"description": "Plan not finished"}})
@allow(*READERS)
def plan_map(plan_id: Id, session: SessionDep, executor: ExecutorDep) -> Response:
    """A finished plan's map: zone figures, response cells, ARV posts and sites."""
    from citywatch.maps import map_data

    rec = get_plan(session, plan_id)
    if rec.status != "done":
        raise HTTPException(409, f"plan_id: plan {plan_id} is {rec.status}, not done")
    body = _cached(("plan", plan_id), lambda: executor.submit(
        lambda: map_data(services.plan_object(rec))).result())
    return Response(body, media_type="application/json")

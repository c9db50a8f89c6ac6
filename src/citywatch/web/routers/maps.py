"""Map layers for the dashboard: a scenario's boundaries and sites, a plan's full map."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from citywatch.web import services
from citywatch.web.deps import SessionDep
from citywatch.web.routers.plans import READERS, get_plan
from citywatch.web.routers.scenarios import ExecutorDep, _get, _version
from citywatch.web.schemas import Id
from citywatch.web.security import allow

router = APIRouter(tags=["maps"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such scenario or plan"}}

_lock = threading.Lock()


def _cached(request: Request, key: tuple[str, Any], make: Any) -> bytes:
    """The encoded map for `key`, made once per app (a finished plan's map never changes)."""
    with _lock:
        maps: OrderedDict[tuple[str, Any], bytes] | None = getattr(request.app.state,
                                                                   "maps", None)
        if maps is None:
            maps = request.app.state.maps = OrderedDict()
        if key in maps:
            maps.move_to_end(key)
            return maps[key]
    body = json.dumps(make(), separators=(",", ":")).encode()
    with _lock:
        maps[key] = body
        while len(maps) > 16:
            maps.popitem(last=False)
    return body


@router.get("/api/scenarios/{scenario_id}/map", responses=NOT_FOUND)
@allow(*READERS)
def scenario_map(scenario_id: Id, request: Request, session: SessionDep,
                 version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
                 ) -> Response:
    """Boundaries, basemap and sites of a scenario version (`citywatch.maps`)."""
    from citywatch.maps import scenario_map_data

    v = _version(_get(session, scenario_id), version)
    body = _cached(request, ("scenario", v.sha256),
                   lambda: scenario_map_data(services.load_version(v)))
    return Response(body, media_type="application/json")


@router.get("/api/plans/{plan_id}/map", responses={
    **NOT_FOUND, 409: {"description": "Plan not finished"}})
@allow(*READERS)
def plan_map(plan_id: Id, request: Request, session: SessionDep,
             executor: ExecutorDep) -> Response:
    """A finished plan's map: zone figures, response cells, ARV posts and sites."""
    from citywatch.maps import map_data

    rec = get_plan(session, plan_id)
    if rec.status != "done":
        raise HTTPException(409, f"plan_id: plan {plan_id} is {rec.status}, not done")
    body = _cached(request, ("plan", plan_id), lambda: executor.submit(
        lambda: map_data(services.plan_object(rec, request.app.state.plans))).result())
    return Response(body, media_type="application/json")

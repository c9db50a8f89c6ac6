"""The CityWatch planning service: FastAPI app, routers and the offline dashboard."""

from __future__ import annotations

from citywatch.errors import require

require("fastapi", "web")

from citywatch.web.app import create_app  # noqa: E402
from citywatch.web.settings import Settings  # noqa: E402

__all__ = ["Settings", "create_app"]

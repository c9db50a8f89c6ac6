"""The scenario's H3 demand grid."""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pytest

from citywatch.model.demand import demand_grid
from citywatch.model.io import load_scenario


def test_grid_conserves_people(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    grid = demand_grid(sc, resolution=8)
    assert grid.residents.sum() == pytest.approx(sum(z.population for z in sc.zones))
    assert grid.footfall.shape == (len(sc.slots), grid.n_cells)
    np.testing.assert_allclose(grid.footfall.sum(axis=1), sc.people().sum(axis=0))
    site = sc.site("alpha")
    cell = h3.latlng_to_cell(site.lat, site.lon, 8)
    assert grid.footfall[0, grid.cells.index(cell)] >= site.people[0]

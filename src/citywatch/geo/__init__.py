"""Travel times: straight-line model, road networks and H3 demand grids."""

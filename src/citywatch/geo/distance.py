"""Great-circle distances and straight-line travel-time estimates, without a road network."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from citywatch.errors import TravelTimeError

__all__ = [
    "EARTH_RADIUS_M",
    "haversine_m",
    "straight_line_times",
]

FloatArray = npt.NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""


def haversine_m(
    lat1: npt.ArrayLike,
    lon1: npt.ArrayLike,
    lat2: npt.ArrayLike,
    lon2: npt.ArrayLike,
) -> FloatArray:
    """Great-circle distance in metres between points given in degrees.

    The four arguments broadcast against each other like any NumPy operation, so
    ``haversine_m(lat[:, None], lon[:, None], lat2[None, :], lon2[None, :])`` gives
    a full distance matrix. Inputs are not validated; see `straight_line_times`
    for a validating caller.

    Parameters
    ----------
    lat1, lon1
        Latitude and longitude of the first points, degrees.
    lat2, lon2
        Latitude and longitude of the second points, degrees.

    Returns
    -------
    numpy.ndarray
        Distances in metres on a sphere of radius `EARTH_RADIUS_M`, with the
        broadcast shape of the inputs.
    """
    phi1 = np.radians(np.asarray(lat1, dtype=np.float64))
    phi2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2.0) ** 2
    # clip guards arcsin against a rounding excursion just above 1 for antipodal points
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return np.asarray(d, dtype=np.float64)


def straight_line_times(
    orig_lat: npt.ArrayLike,
    orig_lon: npt.ArrayLike,
    dest_lat: npt.ArrayLike,
    dest_lon: npt.ArrayLike,
    *,
    speed_kmh: float | npt.ArrayLike,
    circuity: float = 1.3,
    short_trip_circuity: float = 1.4,
    short_trip_m: float = 2000.0,
) -> FloatArray:
    r"""Travel times in seconds from every origin to every destination, without a road network.

    The road distance is the great-circle distance :math:`d` inflated by a circuity
    factor, higher for short trips, whose routes wind more relative to their length:

    .. math::

        r(d) = \begin{cases}
            c_s \, d & d < d_s \\
            \max(c \, d,\; c_s \, d_s) & d \ge d_s
        \end{cases}

    with :math:`c` = `circuity`, :math:`c_s` = `short_trip_circuity` and
    :math:`d_s` = `short_trip_m`. The floor :math:`c_s d_s` on longer trips keeps
    :math:`r` continuous and non-decreasing in :math:`d` (a trip just over
    :math:`d_s` is never estimated shorter than one just under it); it only acts
    for :math:`d_s \le d < d_s c_s / c` (2000–2154 m with the defaults). The time
    is :math:`r(d)` divided by the speed. Defaults follow the rule of thumb that
    London road distance is about 1.3 times the great-circle distance, 1.4 for
    trips under 2 km.

    Parameters
    ----------
    orig_lat, orig_lon
        Origin coordinates in degrees, shape (n_orig,).
    dest_lat, dest_lon
        Destination coordinates in degrees, shape (n_dest,).
    speed_kmh
        Travel speed in km/h: a scalar, or one speed per destination, shape
        (n_dest,) (for example inner- and outer-London blue-light speeds by the
        destination's area).
    circuity
        Ratio of road to great-circle distance for trips of `short_trip_m` or more.
    short_trip_circuity
        Ratio of road to great-circle distance for trips shorter than `short_trip_m`.
    short_trip_m
        Great-circle distance in metres under which `short_trip_circuity` applies.

    Returns
    -------
    numpy.ndarray
        Seconds, shape (n_orig, n_dest).

    Raises
    ------
    TravelTimeError
        If a coordinate is out of range or not finite, the coordinate arrays are
        not 1-D or differ in length, a speed is not positive and finite, a
        circuity is below 1, or `short_trip_m` is negative.
    """
    olat, olon = _coordinates(orig_lat, orig_lon, "orig_lat", "orig_lon")
    dlat, dlon = _coordinates(dest_lat, dest_lon, "dest_lat", "dest_lon")
    speed = _speeds(speed_kmh, n_dest=dlat.shape[0])
    for name, value in (("circuity", circuity), ("short_trip_circuity", short_trip_circuity)):
        if not (np.isfinite(value) and value >= 1.0):
            msg = f"`{name}` must be a finite number >= 1, got {value!r}"
            raise TravelTimeError(msg)
    if not (np.isfinite(short_trip_m) and short_trip_m >= 0.0):
        msg = f"`short_trip_m` must be a finite number >= 0, got {short_trip_m!r}"
        raise TravelTimeError(msg)

    d = haversine_m(olat[:, None], olon[:, None], dlat[None, :], dlon[None, :])
    road = np.where(
        d < short_trip_m,
        short_trip_circuity * d,
        np.maximum(circuity * d, short_trip_circuity * short_trip_m),
    )
    return np.asarray(road / (speed[None, :] / 3.6), dtype=np.float64)


def _coordinates(
    lat: npt.ArrayLike, lon: npt.ArrayLike, lat_name: str, lon_name: str
) -> tuple[FloatArray, FloatArray]:
    """Validated 1-D float arrays of latitudes and longitudes of equal length."""
    la = _as_1d(lat, lat_name)
    lo = _as_1d(lon, lon_name)
    if la.shape != lo.shape:
        msg = (
            f"`{lat_name}` and `{lon_name}` must have the same length, "
            f"got {la.shape[0]} and {lo.shape[0]}"
        )
        raise TravelTimeError(msg)
    _check_range(la, lat_name, 90.0)
    _check_range(lo, lon_name, 180.0)
    return la, lo


def _as_1d(values: npt.ArrayLike, name: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        msg = f"`{name}` must be an array of numbers, got {values!r}"
        raise TravelTimeError(msg) from err
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        msg = f"`{name}` must be 1-D, got shape {arr.shape}"
        raise TravelTimeError(msg)
    return arr


def _check_range(values: FloatArray, name: str, bound: float) -> None:
    bad = np.flatnonzero(~(np.abs(values) <= bound))  # also catches NaN
    if bad.size:
        i = int(bad[0])
        msg = f"`{name}[{i}]` must be in [-{bound:g}, {bound:g}], got {float(values[i])!r}"
        raise TravelTimeError(msg)


def _speeds(speed_kmh: float | npt.ArrayLike, *, n_dest: int) -> FloatArray:
    """Speeds in km/h broadcast to one per destination."""
    try:
        speed = np.asarray(speed_kmh, dtype=np.float64)
    except (TypeError, ValueError) as err:
        msg = f"`speed_kmh` must be a number or an array of numbers, got {speed_kmh!r}"
        raise TravelTimeError(msg) from err
    if speed.ndim > 0 and speed.shape != (n_dest,):
        msg = (
            f"`speed_kmh` must be a scalar or have shape ({n_dest},) (one per destination), "
            f"got shape {speed.shape}"
        )
        raise TravelTimeError(msg)
    flat = speed.reshape(-1)
    bad = np.flatnonzero(~((flat > 0.0) & np.isfinite(flat)))
    if bad.size:
        i = int(bad[0])
        where = "" if speed.ndim == 0 else f" at destination {i}"
        msg = f"`speed_kmh` must be positive and finite, got {float(flat[i])!r}{where}"
        raise TravelTimeError(msg)
    return np.broadcast_to(speed, (n_dest,)).astype(np.float64)

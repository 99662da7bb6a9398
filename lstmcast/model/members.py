"""The statistical members: exponential smoothing (:mod:`lstmcast.model.ets`) and Theta
(:mod:`lstmcast.model.theta`), one fitted model per series and target, beside the network.

Owns fitting them where the forecaster needs them, running them forward, and their place
in the model file. The combiner (:mod:`lstmcast.model.combiner`) mixes their forecasts
with the network's and the baselines'.

- They see each target as the pipeline transforms it (logged with ``--transform log``)
  but not scaled, so a positive series can take multiplicative ETS; their forecasts come
  back in the network's scaled units (per-series affine), where the mixing happens.
- Held-out forecasts (:func:`fit`) are honest: each series' members are fitted on the
  rows before its first held-out origin and run forward with those parameters through
  the held-out rows. The members kept for forecasting are then fitted on every row.
- A forecast starts from the state after the last row the model has seen; ``update`` and
  a forecast from newer rows move it on with the fitted parameters (:func:`advanced`).
  Rows that do not continue the model's history (no overlap) refit the members on them.
- No member with ``--transform diff`` or ``pct``: the guard is off there too.

Pure numpy over the members' own kernels; the file layout is generic over members, so a
member's ``to_arrays`` decides what it keeps (see :func:`to_arrays`).
"""

from __future__ import annotations

import numpy as np

from lstmcast.prep.windows import fill_missing

NAMES = ("ets", "theta")
# Most series a model fits members for: ETS takes about 40 ms a fit on a short series and
# a series needs two, so 10,000 series would add some 15 minutes to a fit; above this the
# guard runs without members (fit says so; measured on a shared 2-core machine)
MAX_SERIES = 1000


def modules() -> dict:
    """The members' modules by name, imported when first needed (a command that never
    touches a member does not load them); they load Numba only to fit, advance or
    filter, so a forecast from stored states never does."""
    from lstmcast.model import ets, theta

    return {"ets": ets, "theta": theta}


class Members:
    """Fitted members: ``models[name][series][target]``, with the season they were given."""

    def __init__(self, models: dict[str, list[list]], season: int):
        self.models = models
        self.season = int(season)

    @property
    def n_series(self) -> int:
        return len(next(iter(self.models.values()))) if self.models else 0

    def kinds(self, name: str) -> dict[str, int]:
        """How many (series, target) pairs each kind of member ``name`` is (``AAdN``: 3)."""
        out: dict[str, int] = {}
        for row in self.models.get(name, []):
            for model in row:
                out[model.kind] = out.get(model.kind, 0) + 1
        return out


def needs_positive(members: Members, row: int) -> bool:
    """Whether a member of the series at ``row`` is multiplicative (an ETS error, trend or
    season, a Theta season of factors): it cannot follow values at or below 0."""
    for model in members.models.get("ets", [[]])[row]:
        if "M" in model.kind:
            return True
    for model in members.models.get("theta", [[]])[row]:
        if model.season > 1 and model.params[2] == 0:
            return True
    return False


def values(pipe, key: str, frame, nt: int) -> np.ndarray:
    """The targets of ``frame`` as the members see them: transformed by ``pipe``, not
    scaled, gaps filled linearly (rows, nt)."""
    z = pipe.transformed(frame, key)[0][:, :nt]
    return fill_missing(np.array(z, dtype=np.float64), range(nt))


def continued(members: Members, rows: np.ndarray, new: list, whole: list) -> Members:
    """``members`` with each series at ``rows`` moved on through its newer rows ``new[i]``
    (parameters kept), or fitted again on ``whole[i]`` (all its rows) where ``new[i]`` is
    None (the rows do not continue the history) or reaches 0 or below for a multiplicative
    member, which cannot follow it."""
    on, again = [], []
    for i, (r, v) in enumerate(zip(rows, new)):
        stuck = v is None or bool((v <= 0).any() and needs_positive(members, r))
        (again if stuck else on).append(i)
    rows = np.asarray(rows, dtype=np.int64)
    out = advanced(members, rows[on], [new[i] for i in on]) if on else members
    return refitted(out, rows[again], [whole[i] for i in again]) if again else out


def unscaled(values: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Scaled target values (rows, nt) back to the pipeline's transformed units (float64)."""
    return np.asarray(values, dtype=np.float64) * scale + center


def rescaled(values: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Forecasts in transformed units (..., nt) into the network's scaled units."""
    return (np.asarray(values, dtype=np.float64) - center) / scale


def _center_scale(pipe, key: str, nt: int) -> tuple[np.ndarray, np.ndarray]:
    return pipe.center_[key][:nt], pipe.scale_[key][:nt]


def fit(windows, pipe, nt: int, season: int, held_idx: np.ndarray) -> tuple[Members, dict[str, np.ndarray]]:
    """Members of every series and target of ``windows`` (scaled arrays of ``pipe``) and
    their forecasts of the held-out windows ``held_idx`` in scaled units:
    ``{name: (len(held_idx), horizon, nt)}``."""
    L, H = windows.lookback, windows.horizon
    held = {name: np.zeros((len(held_idx), H, nt)) for name in NAMES}
    models = {name: [] for name in NAMES}
    held_series = windows.series[held_idx]
    for s, key in enumerate(windows.keys):
        a, b = int(windows.offsets[s]), int(windows.offsets[s + 1])
        center, scale = _center_scale(pipe, key, nt)
        y = unscaled(windows.data[a:b, :nt], center, scale)
        mine = np.flatnonzero(held_series == s)
        origins = windows.starts[held_idx[mine]] + L
        for name, module in modules().items():
            row = []
            for t in range(nt):
                if len(mine):
                    early = module.fit(y[:int(origins.min()), t], season)
                    f = module.forecasts_from(early, y[:, t], origins, H)
                    held[name][mine, :, t] = rescaled(f, center[t], scale[t])
                row.append(module.fit(y[:, t], season))
            models[name].append(row)
    return Members(models, season), held


def forecast(members: Members, rows: np.ndarray, horizon: int, pipe, keys: list[str],
             names=NAMES) -> dict[str, np.ndarray]:
    """Forecasts ``{name: (len(rows), horizon, nt)}`` in scaled units of the series at
    ``rows`` (keys ``keys``) from their members' states."""
    out = {}
    for name in names:
        module = modules()[name]
        models = members.models[name]
        nt = len(models[0]) if models else 0
        f = np.zeros((len(rows), horizon, nt))
        for i, (r, key) in enumerate(zip(rows, keys)):
            center, scale = _center_scale(pipe, key, nt)
            for t in range(nt):
                f[i, :, t] = rescaled(module.forecast(models[r][t], horizon), center[t], scale[t])
        out[name] = f
    return out


def advanced(members: Members, rows: np.ndarray, new: list[np.ndarray]) -> Members:
    """``members`` with the series at ``rows`` moved on through their new rows ``new``
    (each (rows, nt) in transformed, unscaled units), parameters kept."""
    models = {name: [list(r) for r in m] for name, m in members.models.items()}
    for r, values in zip(rows, new):
        if len(values):
            for name, module in modules().items():
                models[name][r] = [module.advance(model, values[:, t]) for t, model in enumerate(models[name][r])]
    return Members(models, members.season)


def refitted(members: Members, rows: np.ndarray, values: list[np.ndarray]) -> Members:
    """``members`` with the series at ``rows`` fitted again on ``values`` (each (rows, nt))."""
    models = {name: [list(r) for r in m] for name, m in members.models.items()}
    for r, v in zip(rows, values):
        for name, module in modules().items():
            models[name][r] = [module.fit(v[:, t], members.season) for t in range(v.shape[1])]
    return Members(models, members.season)


def held_forecasts(members: Members, rows: np.ndarray, values: list[np.ndarray], origins: list[np.ndarray],
                   horizon: int, centers: list[np.ndarray], scales: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Forecasts made from ``members``' current states run through ``values`` (each series'
    new rows, (rows, nt) transformed units): ``{name: [per series (len(origins), horizon, nt)]}``
    in scaled units, the forecast at origin ``o`` (0 <= o <= rows) made after ``values[:o]``.
    One pass per member: the state is advanced from origin to origin."""
    out = {}
    for name, module in modules().items():
        per = []
        for r, v, o, c, s in zip(rows, values, origins, centers, scales):
            o = np.asarray(o, dtype=np.int64)
            f = np.zeros((len(o), horizon, v.shape[1]))
            order = np.argsort(o, kind="stable")
            for t, model in enumerate(members.models[name][r]):
                seen = 0
                for k in order:
                    if o[k] > seen:
                        model = module.advance(model, v[seen:o[k], t])
                        seen = int(o[k])
                    f[k, :, t] = rescaled(module.forecast(model, horizon), c[t], s[t])
            per.append(f)
        out[name] = per
    return out


# ---------------------------------------------------------------- model file

def to_arrays(members: Members) -> dict[str, np.ndarray]:
    """``members.<name>.<array>``: each member's ``to_arrays`` flattened and stacked over
    (series, target), rows padded with 0 (float64, or int64 for whole numbers), and ``.<array>.size`` (the length of
    each row's array; -1 for a scalar); ``members.season``."""
    out = {"members.season": np.array([members.season], dtype=np.int64)}
    for name, module in modules().items():
        flat = [module.to_arrays(model) for row in members.models[name] for model in row]
        for part in (flat[0] if flat else {}):
            values = [np.asarray(d[part]) for d in flat]
            whole = all(np.issubdtype(v.dtype, np.integer) or v.dtype == np.bool_ for v in values)
            width = max(1, max(v.size for v in values))
            stacked = np.zeros((len(values), width), np.int64 if whole else np.float64)  # files hold no NaN
            for i, v in enumerate(values):
                # the container holds finite numbers only: an AICc of inf (a series too short
                # to score) is stored as the largest finite double, and read back as it
                stacked[i, :v.size] = v.ravel() if whole else np.nan_to_num(v.ravel(), nan=0.0)
            out[f"members.{name}.{part}"] = stacked
            out[f"members.{name}.{part}.size"] = np.array([v.size if v.ndim else -1 for v in values], dtype=np.int64)
    return out


def from_arrays(arrays: dict[str, np.ndarray], S: int, nt: int) -> Members | None:
    """Members from :func:`to_arrays`' arrays (None when the file has none); a ValueError
    says what is wrong with damaged ones."""
    if "members.season" not in arrays:
        return None
    season = np.asarray(arrays["members.season"])
    if season.shape != (1,) or not 1 <= int(season[0]) <= 1_000_000:
        raise ValueError("members.season is damaged")
    models = {}
    for name, module in modules().items():
        prefix = f"members.{name}."
        parts = sorted({k[len(prefix):] for k in arrays if k.startswith(prefix) and not k.endswith(".size")})
        if not parts:
            raise ValueError(f"the model file has no {name} member arrays")
        rows = []
        for i in range(S * nt):
            one = {}
            for part in parts:
                stacked, sizes = np.asarray(arrays[prefix + part]), np.asarray(arrays.get(prefix + part + ".size"))
                if stacked.ndim != 2 or len(stacked) != S * nt or sizes.shape != (S * nt,):
                    raise ValueError(f"{prefix}{part} does not match the model's {S} series and {nt} target(s)")
                size = int(sizes[i])
                if size > stacked.shape[1] or size < -1:
                    raise ValueError(f"{prefix}{part}.size is damaged")
                one[part] = stacked[i, 0] if size == -1 else stacked[i, :size]
            rows.append(module.from_arrays(one))
        models[name] = [rows[s * nt:(s + 1) * nt] for s in range(S)]
    return Members(models, int(season[0]))

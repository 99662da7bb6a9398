"""The forecaster's internal choices: how it models, where no user option says.

These are not options (no flag, no environment variable): each was decided by the
evidence named beside it, and the benchmarks vary them through the forecaster's
underscored constructor arguments (``LSTMForecaster(_shrink=False)``). They are stored in
the model file's ``forecaster.choices`` section, so a model's behaviour (a refit in a
backtest, an ``update``, a Dask worker's training) is fully described by the file; files
written before the section existed read with the values below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lstmcast.prep.normalize import SEASON_MAX_WINDOWS


@dataclass(frozen=True)
class Choices:
    # The network's output layer starts at zero, so an untrained model forecasts exactly
    # the normalisation's base (the last value, or the seasonal profile) and training
    # learns the correction to it. "random" is PyTorch's uniform initialisation.
    # Evidence: benchmarks/accuracy/defaults.py.
    head_init: str = "zeros"
    # After training, scale the network's output (its head) by the factor in [0, 1] that
    # minimises the squared error on the validation windows: the forecast is base +
    # factor * correction, so a network whose corrections do not hold up out of sample
    # falls back towards the base.
    shrink: bool = True
    # Conformal scores: "change" divides each validation residual by its window's typical
    # step-to-step change (mean |x[t] - x[t-1]| over the lookback, scaled units), and a
    # forecast's band is the quantile times its own window's change (normalised conformal
    # prediction). "none": plain absolute residuals. "auto": whichever of the two covers
    # one half of the held-out windows better when calibrated on the other (both ways
    # round), with at least 40 windows (else "change"). Evidence: benchmarks/accuracy/defaults.py
    # --intervals and benchmarks/results/calibration-holdout.md (tuning half: "auto"
    # within 5 points on 9 of 29 datasets, "change" 8, "none" 7).
    interval_scale: str = "auto"
    # Most training windows the choice between --normalize last and season looks at.
    season_max_windows: int = SEASON_MAX_WINDOWS
    # Whether --normalize auto also considers es (exponential smoothing in the window,
    # coefficients chosen on the training windows). Evidence: benchmarks/results/es-tuning.md
    # (tuning half 1.011 of the default's geometric-mean MASE: not adopted).
    auto_es: bool = False
    # --normalize es: a series with at least this many training windows gets its own
    # coefficients, where they differ from the model's (None: one set for the model).
    # Evidence: benchmarks/results/es-series-tuning.md (ES_SERIES_WINDOWS on the tuning
    # half's four multi-series datasets: 1.026 of one set's geometric-mean MASE, above the
    # rule's 1.01: not adopted).
    es_series_windows: int | None = None
    # Snapshot averaging: the weights of this many best epochs (by validation loss) are
    # averaged where the mean validates better than the best epoch (1: off; the pool is
    # not in a checkpoint, so a resumed fit averages the epochs after the resume).
    # Evidence: benchmarks/results/snapshots-tuning.md (tuning half 1.001 of one network's
    # geometric-mean MASE: not adopted).
    snapshots: int = 1
    # Default lookback in seasons (None: the frequency's table in model/defaults.py).
    lookback_seasons: int | None = None
    # Share of each series' validation windows (the latest) kept apart from early stopping
    # and the shrinkage, for the guard and the interval calibration alone (0: all
    # validation windows do everything).
    holdout: float = 0.0
    # The future block (covariates known over the horizon): "step", each step's output
    # reads only its own step's covariates, or "full", every step's. Evidence:
    # benchmarks/accuracy/future_block.py (a tie on the tuning half; "step" needs no covariates
    # past the steps a forecast asks for).
    future_block: str = "step"
    # Tanh units each step's covariates also pass through before the future block (0: the
    # block is linear). Tuning half of benchmarks/accuracy/future_block.py: mean MASE 0.609 against
    # 0.612 linear; confirmation 0.832 against 0.883.
    future_hidden: int = 8
    # The network's weights the guard tries in its blend with a series' best baseline.
    # Evidence: benchmarks/results/guard-blends.md (tuning half: geometric mean of MASE
    # 0.99999 of the even blend alone; adopted by the rule fixed before the run).
    guard_blends: tuple[float, ...] = (0.25, 0.5, 0.75)
    # How the guard's choice is combined with the statistical members (ETS, Theta) on the
    # same held-out windows (:data:`lstmcast.model.combiner.RULES`): "guard" fits no
    # member (lstmcast 0.2), "select" picks a mix per series, "mean" averages, "stats"
    # selects without the network (for the evidence only).
    # Evidence: benchmarks/accuracy/combiner.py (files from before 3.0 read as "guard").
    combine: str = "select"
    # How calibration scores become band widths (lstmcast/model/bands.py): "step", each
    # step's own quantile (lstmcast 0.2); "pooled", step-scaled scores pooled over the
    # steps; "auto", chosen per model on the held-out windows by halves (per step,
    # pooled, signed, by season position). Evidence: benchmarks/results/bands-rule.md
    # (tuning half: within 5 points of nominal at 80 and 95 on 12 of 29 datasets per step,
    # 10 pooled, 10 auto; adopted by the rule fixed before the run).
    bands: str = "step"

    def __post_init__(self):
        object.__setattr__(self, "guard_blends", tuple(float(w) for w in self.guard_blends))
        checks = {
            "head_init": self.head_init in ("zeros", "random"),
            "shrink": type(self.shrink) is bool,
            "interval_scale": self.interval_scale in ("auto", "change", "none"),
            "season_max_windows": type(self.season_max_windows) is int and self.season_max_windows >= 1,
            "auto_es": type(self.auto_es) is bool,
            "es_series_windows": self.es_series_windows is None or (type(self.es_series_windows) is int
                                                                    and self.es_series_windows >= 1),
            "snapshots": type(self.snapshots) is int and 1 <= self.snapshots <= 50,
            "lookback_seasons": self.lookback_seasons is None or (type(self.lookback_seasons) is int
                                                                  and self.lookback_seasons >= 1),
            "holdout": isinstance(self.holdout, (int, float)) and 0 <= self.holdout < 1,
            "future_block": self.future_block in ("step", "full"),
            "future_hidden": type(self.future_hidden) is int and 0 <= self.future_hidden <= 1024,
            "guard_blends": all(0 < w < 1 for w in self.guard_blends),
            "combine": self.combine in ("guard", "select", "mean", "stats"),
            "bands": self.bands in ("step", "pooled", "auto"),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"internal choice {bad[0]}={getattr(self, bad[0])!r} is not valid")

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "guard_blends": list(self.guard_blends)}

    @classmethod
    def from_dict(cls, values: dict) -> "Choices":
        """Choices from a model file's section (a ValueError for unknown names or bad
        values); names a file lacks take today's values."""
        if not isinstance(values, dict):
            raise ValueError("choices is not an object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown internal choice {unknown[0]!r}")
        return cls(**values)

    @classmethod
    def from_arguments(cls, **underscored) -> "Choices":
        """Choices from the forecaster's underscored constructor arguments (``_shrink=``)."""
        return cls(**{name.lstrip("_"): value for name, value in underscored.items()})

"""``tune``'s wall clock: one budget for the whole run, and what the search keeps of it
for the work that comes after it.

The budget covers the search, the comparison on the unseen folds and the final fit. The
search cannot know in advance what the two last cost, but it measures every trial's
fits: the comparison is ``holdout`` fits of the best trial's options and ``holdout`` of
the defaults (none when the best trial is the defaults), and the final fit is one fit of
whichever of the two wins, on all the data. :func:`reserve` turns the measured seconds
per search-fold fit into that many seconds, scaled by the rows of the whole data over
the rows of the smallest search fold (a fit's cost grows with its windows, up to the
epoch's cap). The search keeps a :data:`MARGIN` more, stops a fit at its next batch
when finishing it would eat into that reserve, and the comparison stops when it would
eat into the final fit's.

:class:`Budget` is the clock: it starts when the command starts; readying the kernels
(loading them from the cache, or compiling them on a first run), which the command
reports, is not counted (:meth:`Budget.exclude`).
"""

from __future__ import annotations

import time

# The search keeps this much more than its estimate: the best trial's cost per fold moves
# as it is scored on more folds, and a comparison found short of a second is skipped.
MARGIN = 1.25


def reserve(best: float, defaults: float, *, holdout: int, best_is_defaults: bool, scale: float) -> float:
    """Seconds to keep after the search when its best trial costs ``best`` seconds per
    search-fold fit and the defaults (trial 0) ``defaults``: the comparison on the
    ``holdout`` unseen folds and the final fit (the costlier of the two options), each
    fit ``scale`` times a search-fold fit."""
    unseen = holdout * (best + (0.0 if best_is_defaults else defaults))
    return scale * (unseen + final(best, defaults))


def final(best: float, defaults: float) -> float:
    """Search-fold fit seconds to keep for the final fit: the tuned options or the
    defaults, whichever the comparison picks, so the costlier."""
    return max(best, defaults)


class Budget:
    """The wall-clock budget of one ``tune`` run, from ``started`` (now by default)."""

    def __init__(self, seconds: float, *, started: float | None = None, clock=time.perf_counter):
        self.seconds = float(seconds)
        self.clock = clock
        self.started = clock() if started is None else started
        self.excluded = 0.0  # seconds not counted (readying the kernels)

    def exclude(self, seconds: float) -> None:
        """Do not count ``seconds`` already spent (readying the kernels)."""
        self.excluded += max(0.0, seconds)

    @property
    def deadline(self) -> float:
        return self.started + self.seconds + self.excluded

    def left(self) -> float:
        """Seconds to the deadline (negative past it)."""
        return self.deadline - self.clock()

    def spent(self) -> float:
        """Seconds counted so far."""
        return self.clock() - self.started - self.excluded

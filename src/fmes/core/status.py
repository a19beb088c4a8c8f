"""The one status vocabulary of every row the pipeline writes.

Every table row that carries a result has a ``status`` column with one of the values below and
a ``reason`` column in plain words (empty for ``ok``). Scripts never invent other words and never
parse the reason; they compare with :class:`Status` members.

``ok`` is a promise: the value is right to within its stated uncertainty (a fit describes its
data to within the noise measured on the trace itself; a read-out was made on a reliable
baseline). Anything less is one of the other statuses, in order of increasing severity:

- ``flagged``: a value was computed, but a quality check failed (glitches on the read, a
  suspected unit slip, a manifest/trace disagreement, ...); the reason names the check.
- ``poor_fit``: a fit converged but does not describe the data (residuals far above the trace
  noise, autocorrelated residuals, a parameter on its bound, a 95% interval wider than the
  value); the value is shown but must not be trusted.
- ``failed``: no value: the fit did not converge or the read-out could not be made.
- ``skipped``: not attempted, because the data or the configuration do not support it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the workflow imports this module at DAG build, without pandas
    import pandas as pd


class Status(StrEnum):
    """Status of one result row (see the module docstring for what each value promises)."""

    OK = "ok"
    FLAGGED = "flagged"
    POOR_FIT = "poor_fit"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def severity(self) -> int:
        """0 for ``ok`` up to 4 for ``skipped``: combine statuses with :func:`worst`."""
        return list(Status).index(self)

    @property
    def has_value(self) -> bool:
        """True when the row carries a computed value (ok, flagged, poor_fit)."""
        return self in (Status.OK, Status.FLAGGED, Status.POOR_FIT)


#: The values as plain strings, in severity order (for schemas, validation and categoricals).
STATUS_VALUES: tuple[str, ...] = tuple(s.value for s in Status)


def worst(statuses: Iterable[str | Status]) -> Status:
    """The most severe of ``statuses`` (``ok`` for an empty iterable).

    A result built from several inputs inherits the worst status among them, so a device
    parameter computed from a poor fit is never ``ok``.
    """
    found = [Status(s) for s in statuses]
    return max(found, key=lambda s: s.severity) if found else Status.OK


def join_reasons(reasons: Iterable[str]) -> str:
    """Non-empty, distinct reasons joined with "; " in first-seen order."""
    seen = dict.fromkeys(str(r).strip() for r in reasons if isinstance(r, str) and r.strip())
    return "; ".join(seen)


def check_statuses(values: pd.Series, where: str) -> None:
    """Raise ``ValueError`` naming ``where`` and the row if a status is not in the vocabulary."""
    bad = ~values.isin(STATUS_VALUES)
    if bad.any():
        idx = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(
            f"{where}: row {idx + 1} has status {values.iloc[idx]!r}; "
            f"expected one of {', '.join(STATUS_VALUES)}"
        )

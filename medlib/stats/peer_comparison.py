"""Benchmarking organisations against each other: deciles, percentile rank, funnel limits.

The definitions are those of METHODS.md:

- deciles per period (2.1): ``quantile(values, p, method="linear")`` over the organisations
  with a value (NaN left out), the same as BigQuery ``PERCENTILE_CONT`` and numpy ``linear``;
- percentile rank (2.1): ``PERCENT_RANK = (rank - 1) / (n - 1) * 100``, ascending, ties taking
  the lowest rank (as SQL does);
- funnel limits for proportions (2.6, Spiegelhalter 2005, FunnelPlotR defaults) with z = 1.96
  (95%) and 3.09 (99.8%). For over-dispersion the z-scores are Winsorised at 10% in each tail,
  ``phi = mean(z^2)``, and if ``phi > 1`` the DerSimonian-Laird additive random-effects
  variance ``tau^2`` widens the limits. FunnelPlotR does all of this for proportions on the
  arcsine square-root scale (``R/od_adjustment.R``, ``transformed_zscore(data_type = "PR")``:
  ``Y = asin(sqrt(p))``, target ``asin(sqrt(p_bar))``, ``s = 1 / (2 sqrt(n))``; then
  ``R/calculate_limits.R``: limits ``sin(asin(sqrt(p_bar)) +/- z sqrt(s^2 + tau^2))^2``), and so
  does :func:`funnel_limits` by default; ``scale="raw"`` gives the untransformed
  ``p_bar +/- z * sqrt(p_bar (1 - p_bar) / n + tau^2)`` instead.

The functions take plain numerators, denominators and labels so any area (spend, prescribing
safety indicators) can use them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from medlib.errors import InputError
from medlib.validation import require_columns

__all__ = ["FunnelResult", "deciles", "funnel_limits", "percent_rank", "winsorise"]

#: Deciles used by OpenPrescribing.
DECILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
#: Percentiles used by OpenPrescribing Hospitals (5th to 95th in steps of 10, plus the median).
OPH_PERCENTILES = (5, 15, 25, 35, 45, 50, 55, 65, 75, 85, 95)
#: Funnel control limits: name -> z (two-sided 95% and 99.8%).
FUNNEL_Z = {"95": 1.96, "99.8": 3.09}


def deciles(
    df: pd.DataFrame,
    value: str,
    period: str = "year_month",
    org: str = "trust_code",
    percentiles: Sequence[float] = DECILES,
    activity: str | None = None,
) -> pd.DataFrame:
    """Percentiles of a measure across organisations, per period.

    Args:
        df: One row per organisation and period.
        value: Column holding the measure; NaN values are left out.
        period: Period column.
        org: Organisation column.
        percentiles: Percentiles (0-100) to compute.
        activity: Optional column of activity (e.g. the denominator). Organisations with no
            activity (zero or missing) in every period are dropped first, as OpenPrescribing
            Hospitals does.

    Returns:
        Long table ``period, percentile, value`` (one row per period and percentile).
    """
    cols = [period, org, value] + ([activity] if activity else [])
    require_columns(df, cols, "benchmark table")
    data = df[cols].copy()
    if activity:
        active = data.groupby(org)[activity].apply(lambda s: bool((s.fillna(0) != 0).any()))
        data = data[data[org].isin(active[active].index)]
    ps = np.asarray(percentiles, dtype=float)
    if ((ps < 0) | (ps > 100)).any():
        raise InputError(f"percentiles must lie in 0-100, got {list(percentiles)}")
    rows = []
    for when, frame in data.groupby(period, sort=True):
        values = frame[value].astype(float).dropna().to_numpy()
        qs = np.quantile(values, ps / 100, method="linear") if len(values) else [np.nan] * len(ps)
        rows.extend(
            {period: when, "percentile": p, "value": q} for p, q in zip(ps, qs, strict=True)
        )
    out = pd.DataFrame(rows, columns=[period, "percentile", "value"])
    out["percentile"] = out["percentile"].astype(float)
    return out


def percent_rank(values: pd.Series | Sequence[float]) -> pd.Series:
    """SQL ``PERCENT_RANK`` x 100: 0 for the lowest value, 100 for the highest.

    Ties share the lowest rank; missing values stay missing and are not counted. A single value
    ranks 0.

    Example:
        >>> percent_rank([10, 20, 20, 40]).tolist()
        [0.0, 33.33333333333333, 33.33333333333333, 100.0]
    """
    series = pd.Series(values, dtype=float) if not isinstance(values, pd.Series) else values
    series = series.astype(float)
    n = int(series.notna().sum())
    ranks = series.rank(method="min", ascending=True)
    if n <= 1:
        return ranks.where(ranks.isna(), 0.0)
    return (ranks - 1) / (n - 1) * 100


@dataclass(frozen=True)
class FunnelResult:
    """Funnel-plot benchmark of proportions.

    Attributes:
        table: One row per organisation: ``label, numerator, denominator, proportion, z,
            z_adjusted``, ``lower_<level>``/``upper_<level>`` limits at the organisation's
            denominator for each level, and ``position`` (e.g. ``"above 99.8%"``).
        target: The pooled proportion ``sum(numerators) / sum(denominators)``.
        phi: Over-dispersion factor ``mean(winsorised z^2)``.
        tau2: Additive random-effects variance (0 when not over-dispersed or not adjusted), on
            the ``scale`` the z-scores were computed on.
        overdispersion_adjusted: Whether ``tau2`` widened the limits.
        z_levels: Level name -> z.
        clip: Whether limits are clipped to [0, 1] (``raw`` scale only; limits on the
            arcsine scale always lie in [0, 1]).
        scale: ``"arcsine"`` (FunnelPlotR) or ``"raw"``.
    """

    table: pd.DataFrame
    target: float
    phi: float
    tau2: float
    overdispersion_adjusted: bool
    z_levels: Mapping[str, float] = field(default_factory=lambda: dict(FUNNEL_Z))
    clip: bool = True
    scale: str = "arcsine"

    def limits(self, denominators: Sequence[float] | np.ndarray) -> pd.DataFrame:
        """Control limits at each denominator (to draw the funnel).

        Returns:
            ``denominator`` plus ``lower_<level>``/``upper_<level>`` for each level.
        """
        n = np.asarray(denominators, dtype=float)
        if (n <= 0).any():
            raise InputError("funnel denominators must be positive")
        out = pd.DataFrame({"denominator": n})
        if self.scale == "arcsine":
            centre = np.arcsin(np.sqrt(self.target))
            sd = np.sqrt(1 / (4 * n) + self.tau2)
        else:
            sd = np.sqrt(self.target * (1 - self.target) / n + self.tau2)
        for name, z in self.z_levels.items():
            if self.scale == "arcsine":
                # Back-transformed as sin(angle)^2 as in FunnelPlotR (R/calculate_limits.R),
                # but with the angle kept to [0, pi/2] first: sin^2 of an angle below 0
                # would fold a lower limit back up above 0 instead of reaching 0.
                lower = np.sin(np.clip(centre - z * sd, 0, np.pi / 2)) ** 2
                upper = np.sin(np.clip(centre + z * sd, 0, np.pi / 2)) ** 2
            else:
                lower, upper = self.target - z * sd, self.target + z * sd
                if self.clip:
                    lower, upper = np.clip(lower, 0, 1), np.clip(upper, 0, 1)
            out[f"lower_{name}"], out[f"upper_{name}"] = lower, upper
        return out


def winsorise(values: np.ndarray, tail_pct: float = 10.0) -> np.ndarray:
    """Set values beyond the ``tail_pct`` and ``100 - tail_pct`` percentiles to those percentiles.

    The percentiles are numpy ``linear`` (R type 7, as in DescTools::Winsorize).

    Example:
        >>> winsorise(np.array([-2.0, 0.0, 0.0, 2.0])).round(6).tolist()
        [-1.4, 0.0, 0.0, 1.4]
    """
    lo, hi = np.quantile(values, [tail_pct / 100, 1 - tail_pct / 100], method="linear")
    return np.clip(values, lo, hi)


def funnel_limits(
    numerators: Sequence[float] | pd.Series,
    denominators: Sequence[float] | pd.Series,
    labels: Sequence[object] | pd.Series | None = None,
    *,
    z_levels: Mapping[str, float] | None = None,
    overdispersion: bool = True,
    winsor_pct: float = 10.0,
    clip: bool = True,
    scale: str = "arcsine",
) -> FunnelResult:
    """Funnel-plot limits for proportions, with the Spiegelhalter over-dispersion adjustment.

    On the default ``arcsine`` scale, as FunnelPlotR does for proportions
    (``R/od_adjustment.R``, ``transformed_zscore`` with ``data_type = "PR"``), each
    organisation's z-score is ``(asin(sqrt(p)) - asin(sqrt(p_bar))) / s`` with
    ``s = 1 / (2 sqrt(n))``; ``phi`` is the mean square of the Winsorised z-scores and, when
    ``phi > 1``, ``tau^2 = max(0, (k phi - (k - 1)) / (sum w - sum w^2 / sum w))`` with
    ``w = 1 / s^2`` (``tau_func``); the limits are ``sin(asin(sqrt(p_bar)) +/- z sqrt(s^2 +
    tau^2))^2`` (``R/calculate_limits.R``). With ``scale="raw"`` the same steps run on the
    proportions themselves with ``s^2 = p_bar (1 - p_bar) / n``.

    Args:
        numerators: Events per organisation (e.g. patients meeting an indicator).
        denominators: Population per organisation; organisations with a zero denominator are
            kept in the table with a missing proportion but left out of the calculation.
        labels: Organisation labels (default 0..n-1).
        z_levels: Level name -> z; default 95% (1.96) and 99.8% (3.09).
        overdispersion: Apply the random-effects adjustment when ``phi > 1``.
        winsor_pct: Percentage Winsorised in each tail before estimating ``phi``.
        clip: Clip ``raw`` limits to [0, 1].
        scale: ``"arcsine"`` (FunnelPlotR's, the default) or ``"raw"``.

    Returns:
        A :class:`FunnelResult`. Its table's ``z`` and ``z_adjusted`` are on ``scale``.

    Raises:
        InputError: Lengths differ, values are negative or missing, a numerator exceeds its
            denominator, no organisation has a positive denominator, or an unknown scale.
    """
    if scale not in ("arcsine", "raw"):
        raise InputError(f"scale must be 'arcsine' or 'raw', got {scale!r}")
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    labs = list(range(len(num))) if labels is None else list(labels)
    if not len(num) == len(den) == len(labs):
        raise InputError(
            f"numerators, denominators and labels must be the same length, "
            f"got {len(num)}, {len(den)} and {len(labs)}"
        )
    if np.isnan(num).any() or np.isnan(den).any():
        raise InputError("numerators and denominators must not be missing")
    if (num < 0).any() or (den < 0).any():
        raise InputError("numerators and denominators must not be negative")
    if (num > den).any():
        bad = [labs[i] for i in np.flatnonzero(num > den)]
        raise InputError(f"numerator exceeds denominator for {bad}: not a proportion")
    used = den > 0
    if not used.any():
        raise InputError("no organisation has a positive denominator")
    levels = dict(FUNNEL_Z if z_levels is None else z_levels)

    target = float(num[used].sum() / den[used].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(used, num / den, np.nan)
        if scale == "arcsine":
            y, centre = np.arcsin(np.sqrt(p)), np.arcsin(np.sqrt(target))
            s2 = 1 / (4 * den)
        else:
            y, centre = p, target
            s2 = target * (1 - target) / den
        z = (y - centre) / np.sqrt(s2)
    k = int(used.sum())
    phi = float(np.mean(winsorise(z[used], winsor_pct) ** 2)) if k else float("nan")
    tau2 = 0.0
    adjusted = False
    if overdispersion and np.isfinite(phi) and phi > 1 and k > 1:
        w = 1 / s2[used]
        tau2 = max(0.0, float((k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum())))
        adjusted = tau2 > 0

    result = FunnelResult(
        table=pd.DataFrame(),
        target=target,
        phi=phi,
        tau2=tau2,
        overdispersion_adjusted=adjusted,
        z_levels=levels,
        clip=clip,
        scale=scale,
    )
    table = pd.DataFrame(
        {"label": labs, "numerator": num, "denominator": den, "proportion": p, "z": z}
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        table["z_adjusted"] = (y - centre) / np.sqrt(s2 + tau2)
    lims = result.limits(np.where(used, den, 1.0))
    for col in lims.columns.drop("denominator"):
        table[col] = np.where(used, lims[col].to_numpy(), np.nan)
    table["position"] = _positions(table, levels)
    return FunnelResult(table, target, phi, tau2, adjusted, levels, clip, scale)


def _positions(table: pd.DataFrame, levels: Mapping[str, float]) -> list[str | None]:
    # Widest level first so an organisation beyond 99.8% is reported as such, not as 95%.
    ordered = sorted(levels, key=lambda name: levels[name], reverse=True)
    out: list[str | None] = []
    for _, row in table.iterrows():
        if pd.isna(row["proportion"]):
            out.append(None)
            continue
        label = "within limits"
        for name in ordered:
            if row["proportion"] > row[f"upper_{name}"]:
                label = f"above {name}%"
                break
            if row["proportion"] < row[f"lower_{name}"]:
                label = f"below {name}%"
                break
        out.append(label)
    return out

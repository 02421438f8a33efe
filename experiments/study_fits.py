"""Finite-size fits of alpha_50(n), their spread, the verdict, and the check against published counts.

Kept apart from the scripts so the tests can exercise each piece on synthetic data.

* :func:`fit_form` fits ``y(n) = y_inf + sum_k c_k f_k(n)`` by weighted least squares for
  one finite-size form (:data:`FORMS`), with a 95% interval on ``y_inf`` (errors scaled by
  ``sqrt(chi2/dof)`` when the points scatter more than their errors).
* :func:`spread` takes the union of the intervals of every usable fit: the honest interval
  of the extrapolation, since nothing at small n tells the forms apart.
* :func:`verdict` says which capacity that interval favours, or that it cannot tell.
* :func:`compare_counts` tests, per (n, m), our injective fraction against a published
  one (Fisher's exact test; the two-proportion z for the plot), and :func:`agreement`
  sums z^2 into one chi-square over the tables where that is valid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))

#: Finite-size forms: name -> correction terms f_k(n) (y = y_inf + sum c_k f_k(n)).
FORMS: dict[str, tuple] = {
    "1/n": (lambda n: 1.0 / n,),
    "n^-2/3": (lambda n: n ** (-2.0 / 3.0),),
    "n^-1/2": (lambda n: n ** (-0.5),),
    "1/n + 1/n^2": (lambda n: 1.0 / n, lambda n: 1.0 / n**2),
}


@dataclass
class FormFit:
    """One weighted least-squares fit of ``alpha_50(n)``.

    ``usable`` is False when the fit has no degrees of freedom left (the curve passes
    through every point, so nothing checks the form) or too few sizes.
    """

    form: str
    sizes: tuple[int, ...]
    value: float
    se: float
    ci_low: float
    ci_high: float
    coef: tuple[float, ...]
    chi2_dof: float
    usable: bool
    note: str = ""
    #: Covariance of ``coef`` (scaled like ``se``); None when the fit failed.
    cov: np.ndarray | None = None

    def predict(self, n) -> np.ndarray:
        """The fitted curve at sizes ``n`` (``n = inf`` gives ``value``)."""
        n = np.asarray(n, float)
        with np.errstate(divide="ignore"):
            out = np.full_like(n, self.value)
            for c, f in zip(self.coef[1:], FORMS[self.form]):
                out = out + c * np.where(np.isinf(n), 0.0, f(n))
        return out


def fit_form(form: str, ns: Sequence[float], y: Sequence[float], err: Sequence[float]) -> FormFit:
    """Weighted least-squares fit of one finite-size form.

    Parameters
    ----------
    form : str
        A key of :data:`FORMS`.
    ns, y, err : sequences
        Sizes, values and their standard errors (non-finite or non-positive errors are
        left out).

    Examples
    --------
    >>> f = fit_form("1/n", [4, 8, 16], [6.0, 6.5, 6.75], [0.01, 0.01, 0.01])
    >>> round(f.value, 6), f.usable
    (7.0, True)
    """
    ns_a, y_a, e_a = (np.asarray(v, float) for v in (ns, y, err))
    ok = np.isfinite(ns_a) & np.isfinite(y_a) & np.isfinite(e_a) & (e_a > 0)
    ns_a, y_a, e_a = ns_a[ok], y_a[ok], e_a[ok]
    sizes = tuple(int(v) for v in ns_a)
    k = 1 + len(FORMS[form])
    nan = math.nan
    if np.unique(ns_a).size < k:
        note = f"needs {k} sizes, has {np.unique(ns_a).size}"
        return FormFit(form, sizes, nan, nan, nan, nan, (), nan, False, note)
    design = np.column_stack([np.ones_like(ns_a)] + [f(ns_a) for f in FORMS[form]])
    w = 1.0 / e_a**2
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    coef = cov @ (design.T @ (w * y_a))
    dof = ns_a.size - k
    chi2 = float(np.sum(w * (y_a - design @ coef) ** 2))
    chi2_dof = chi2 / dof if dof > 0 else nan
    notes = []
    if dof > 0 and chi2_dof > 1:
        cov = cov * chi2_dof
        notes.append(f"errors scaled by sqrt(chi2/dof) = {math.sqrt(chi2_dof):.2f}")
    if dof == 0:
        notes.append("no degree of freedom: the form is not checked")
    se = math.sqrt(cov[0, 0])
    value = float(coef[0])
    return FormFit(
        form,
        sizes,
        value,
        se,
        value - Z95 * se,
        value + Z95 * se,
        tuple(float(c) for c in coef),
        chi2_dof,
        dof > 0,
        "; ".join(notes),
        cov,
    )


def fit_all(
    ns: Sequence[int], y: Sequence[float], err: Sequence[float], drop_smallest: bool = True
) -> list[FormFit]:
    """Every form on all sizes, and (``drop_smallest``) again without the smallest size."""
    fits = [fit_form(f, ns, y, err) for f in FORMS]
    if drop_smallest and len(set(ns)) > 2:
        small = min(ns)
        keep = [i for i, n in enumerate(ns) if n != small]
        sub = [[v[i] for i in keep] for v in (ns, y, err)]
        fits += [fit_form(f, *sub) for f in FORMS]
    return fits


@dataclass
class Holdout:
    """A form fitted without the largest size, and its prediction there.

    ``z`` is (predicted - measured) over the combined standard error: a form whose
    prediction misses the held-out crossing by ``|z| > 2`` is disfavoured by data it did
    not see.
    """

    form: str
    fitted_sizes: tuple[int, ...]
    n: int
    predicted: float
    predicted_se: float
    measured: float
    measured_se: float
    z: float


def holdout(ns: Sequence[int], y: Sequence[float], err: Sequence[float]) -> list[Holdout]:
    """Every form fitted on all sizes but the largest, checked at the largest."""
    n_out = max(ns)
    i_out = [i for i, n in enumerate(ns) if n == n_out][0]
    keep = [i for i, n in enumerate(ns) if n != n_out]
    sub = [[v[i] for i in keep] for v in (ns, y, err)]
    out = []
    for form, terms in FORMS.items():
        f = fit_form(form, *sub)
        if not f.usable or f.cov is None:
            continue
        grad = np.array([1.0] + [t(float(n_out)) for t in terms])
        pred, pred_se = float(f.predict([n_out])[0]), math.sqrt(float(grad @ f.cov @ grad))
        z = (pred - y[i_out]) / math.hypot(pred_se, err[i_out])
        out.append(Holdout(form, f.sizes, n_out, pred, pred_se, y[i_out], err[i_out], z))
    return out


@dataclass
class Spread:
    """Union of the 95% intervals of the usable fits (``nan`` when none is usable)."""

    low: float
    high: float
    fits_used: int
    values_low: float
    values_high: float


def spread(fits: Sequence[FormFit]) -> Spread:
    """The extrapolation interval: from the lowest to the highest 95% bound of usable fits."""
    use = [f for f in fits if f.usable and math.isfinite(f.ci_low) and math.isfinite(f.ci_high)]
    if not use:
        return Spread(math.nan, math.nan, 0, math.nan, math.nan)
    return Spread(
        min(f.ci_low for f in use),
        max(f.ci_high for f in use),
        len(use),
        min(f.value for f in use),
        max(f.value for f in use),
    )


@dataclass
class Verdict:
    """Which prediction the extrapolation interval favours."""

    favours: str  # "frsb", "rs", "cannot tell", "neither"
    text: str


def verdict(sp: Spread, lifted: float, plain: float) -> Verdict:
    """Compare the interval with the lifted (full-RSB, ~6.70) and plain (RS, ~7.65) capacities.

    Examples
    --------
    >>> verdict(Spread(6.5, 6.9, 3, 6.6, 6.8), 6.698, 7.648).favours
    'frsb'
    >>> verdict(Spread(6.0, 8.0, 3, 6.5, 7.5), 6.698, 7.648).favours
    'cannot tell'
    """
    if not math.isfinite(sp.low):
        return Verdict(
            "cannot tell", "cannot tell: no finite-size form could be checked (too few sizes)"
        )
    interval = f"[{sp.low:.2f}, {sp.high:.2f}] ({sp.fits_used} fits)"
    has_l = sp.low <= lifted <= sp.high
    has_p = sp.low <= plain <= sp.high
    if has_l and has_p:
        return Verdict(
            "cannot tell",
            f"cannot tell yet: the interval {interval} holds both {lifted:.2f} and {plain:.2f}",
        )
    if has_l:
        return Verdict(
            "frsb",
            f"favours {lifted:.2f} (full RSB / lifted RDT): the interval {interval} excludes {plain:.2f}",
        )
    if has_p:
        return Verdict(
            "rs", f"favours {plain:.2f} (plain RDT): the interval {interval} excludes {lifted:.2f}"
        )
    where = (
        "below both" if sp.high < lifted else "above both" if sp.low > plain else "between the two"
    )
    return Verdict(
        "neither",
        f"neither: the interval {interval} lies {where} predictions; the finite-size forms do "
        "not describe these sizes well enough to favour one",
    )  # fmt: skip


# -- published counts ---------------------------------------------------------------------
@dataclass
class CountCheck:
    """Our fraction against a published one at one (n, m)."""

    n: int
    m: int
    ours_k: int
    ours_total: int
    pub_k: int
    pub_total: int
    z: float
    p_value: float


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z statistic and two-sided p-value.

    ``(nan, nan)`` when both fractions are 0 or both are 1: such a point tests nothing.

    Examples
    --------
    >>> z, p = two_proportion_z(50, 100, 500, 1000)
    >>> round(z, 6), round(p, 6)
    (0.0, 1.0)
    """
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return math.nan, math.nan
    z = (k1 / n1 - k2 / n2) / math.sqrt(var)
    return z, float(2 * stats.norm.sf(abs(z)))


def compare_counts(ours: dict, published: dict) -> list[CountCheck]:
    """Checks at every (n, m) in both; each dict maps ``(n, m)`` to ``(injective, decided)``."""
    out = []
    for key in sorted(set(ours) & set(published)):
        k1, t1 = ours[key]
        k2, t2 = published[key]
        if t1 <= 0 or t2 <= 0:
            continue
        z, _ = two_proportion_z(k1, t1, k2, t2)
        # Fisher's exact test for the p-value: the normal approximation fails near 0 and 1.
        table = [[k1, t1 - k1], [k2, t2 - k2]]
        p = float(stats.fisher_exact(table)[1]) if math.isfinite(z) else math.nan
        out.append(CountCheck(key[0], key[1], k1, t1, k2, t2, z, p))
    return out


def _min_expected(c: CountCheck) -> float:
    """Smallest expected cell count of the 2x2 table under equal fractions."""
    pooled = (c.ours_k + c.pub_k) / (c.ours_total + c.pub_total)
    return min(t * q for t in (c.ours_total, c.pub_total) for q in (pooled, 1 - pooled))


def agreement(checks: Sequence[CountCheck]) -> dict:
    """Summary: informative points (not all 0 or all 1 in both), those with Fisher p < 0.05
    (expected: 5%), and the chi-square sum of z^2 over the tables where it is valid (every
    expected count >= 5) with its p-value."""
    checks = [c for c in checks if math.isfinite(c.z)]
    valid = [c for c in checks if _min_expected(c) >= 5]
    chi2 = float(sum(c.z**2 for c in valid)) if valid else math.nan
    return {
        "points": len(checks),
        "flagged": sum(c.p_value < 0.05 for c in checks),
        "expected_flagged": 0.05 * len(checks),
        "chi2_points": len(valid),
        "chi2": chi2,
        "p_value": float(stats.chi2.sf(chi2, len(valid))) if valid else math.nan,
    }


# -- a model-free crossing ----------------------------------------------------------------
def interpolated_crossing(alpha: Sequence[float], k: Sequence[int], m: Sequence[int]) -> float:
    """The 50% crossing without a model: weighted isotonic (non-decreasing) regression of the
    fractions ``k/m`` in alpha, then linear interpolation between the two points where it
    passes 1/2. A check of the logistic crossing, whose shape is only an approximation.
    ``nan`` when the fitted fractions do not pass 1/2 inside the grid.

    Examples
    --------
    >>> interpolated_crossing([4, 5, 6], [10, 30, 70], [100, 100, 100])
    5.5
    >>> interpolated_crossing([4, 5, 6], [10, 60, 40], [100, 100, 100])  # pooled: 0.5 at 5 and 6
    5.0
    """
    from scipy.optimize import isotonic_regression

    a = np.asarray(alpha, float)
    k_a, m_a = np.asarray(k, float), np.asarray(m, float)
    keep = m_a > 0
    a, k_a, m_a = a[keep], k_a[keep], m_a[keep]
    order = np.argsort(a)
    a, k_a, m_a = a[order], k_a[order], m_a[order]
    if a.size < 2:
        return math.nan
    p = isotonic_regression(k_a / m_a, weights=m_a, increasing=True).x
    above = np.flatnonzero(p >= 0.5)
    if above.size == 0 or above[0] == 0:
        return math.nan
    i = int(above[0])
    if p[i] == p[i - 1]:
        return float(a[i])
    return float(a[i - 1] + (0.5 - p[i - 1]) * (a[i] - a[i - 1]) / (p[i] - p[i - 1]))

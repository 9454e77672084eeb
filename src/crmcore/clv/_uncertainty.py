"""Parametric-bootstrap intervals for per-customer predictions.

The sampling distribution of the maximum-likelihood estimate is approximated
by a multivariate normal on the log-parameter scale, ``N(log θ̂, Σ_log)``
(``covariance_log_`` of the fitted model, the inverse Hessian). Parameter
vectors are drawn from it (seeded), each prediction is evaluated at every
draw, and the interval is the pair of empirical quantiles over draws.

Memory stays bounded for any number of customers: predictions depend on a
customer only through the sufficient statistics, so they are evaluated on the
distinct rows only; the distinct rows are processed in chunks of at most
``max_cells // n_draws`` rows, each chunk's ``draws × rows`` block is reduced
to its quantiles at once, and the result is mapped back to the customers.
There is a Python loop over draws (each iteration is one vectorised call over
a chunk of rows), never over customers.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from crmcore._deprecation import renamed_arguments, renamed_columns
from crmcore._types import ArrayLike, FloatArray, IntArray, RandomState
from crmcore._validation import check_random_state, check_scalar
from crmcore.clv._bands import draw_bands
from crmcore.clv._compress import unique_rows
from crmcore.clv._kernels import (
    Discounting,
    SpendKernels,
    SpendSource,
    fitted_params,
    purchase_kernels,
    spend_source,
)
from crmcore.clv._predictive import (
    count_interval,
    purchase_distribution,
    simulated_values,
)
from crmcore.errors import DataWarning, ValidationError

if TYPE_CHECKING:
    from crmcore.clv._base import BaseModel
    from crmcore.clv._gammagamma import GammaGammaModel
    from crmcore.clv._transaction import PurchaseModel

__all__ = ["draw_parameters", "predict_interval"]

Quantity = Literal["expected_purchases", "probability_alive", "clv"]
Kind = Literal["parameter", "predictive"]


def draw_parameters(
    model: BaseModel, n_draws: int, *, random_state: RandomState = None
) -> FloatArray:
    """Draw parameter vectors from the estimate's approximate sampling distribution.

    Parameters
    ----------
    model : BaseModel
        A fitted model with a finite ``covariance_log_``.
    n_draws : int
        Number of draws (>= 1).
    random_state : int, Generator or None
        Seed or generator.

    Returns
    -------
    ndarray
        ``(n_draws, n_params)`` on the natural scale, columns in the order of
        ``params_``.

    Raises
    ------
    ValidationError
        If the model's covariance is undefined (non-finite).
    """
    theta = fitted_params(model)
    k = int(check_scalar(n_draws, name="n_draws", low=1, integer=True))
    cov = np.asarray(model.covariance_log_.to_numpy(), dtype=np.float64)
    if not np.all(np.isfinite(cov)):
        raise ValidationError(
            f"{type(model).__name__} has no finite covariance (the Hessian was not positive "
            "definite); parameter draws are undefined",
            field="model",
        )
    rng = check_random_state(random_state)
    mean = np.log(theta)
    # Symmetric square root (eigh) is robust to a nearly singular covariance.
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = rng.standard_normal((k, mean.size))
    return np.asarray(np.exp(mean + z @ root.T), dtype=np.float64)


def _finite_spend_draws(
    kernels: SpendKernels,
    draws: FloatArray,
    spend_draws: FloatArray,
    x: FloatArray,
    confidence: float,
) -> tuple[FloatArray, FloatArray]:
    """Drop the draw pairs whose spend parameters give some row no finite expected spend.

    The Gamma-Gamma expected spend ``p (γ + m x) / (p x + q - 1)`` needs
    ``p x + q > 1`` (``q > 1`` at ``x = 0``) and grows without bound as
    ``p x + q`` falls to 1, so such a draw stands for an unbounded spend.
    A few of them are dropped with a :class:`DataWarning` (the interval is
    then conditional on a finite mean); if their share exceeds the upper tail
    ``(1 - confidence) / 2``, the upper bound itself would be unbounded and a
    :class:`ValidationError` is raised instead.
    """
    ok, what = kernels.defined_draws(spend_draws, x)
    if ok.all():
        return draws, spend_draws
    k = ok.size
    dropped = k - int(ok.sum())
    share = dropped / k
    tail = (1.0 - confidence) / 2.0
    if share > tail:
        raise ValidationError(
            f"{dropped} of {k} spend-model parameter draws ({share:.1%}) have {what}, "
            f"more than the {tail:.1%} upper tail of a {confidence:g} interval: the upper bound "
            "of CLV is unbounded; restrict to repeat buyers (frequency >= 1) or refit the "
            "spend model on more data",
            field="q",
            value=share,
        )
    warnings.warn(
        f"dropped {dropped} of {k} parameter draws ({share:.1%}) whose spend model has {what}; "
        "the CLV interval is conditional on a finite expected spend",
        DataWarning,
        stacklevel=3,
    )
    return draws[ok], spend_draws[ok]


_OLD_COLUMNS = {"lower": "ci_low", "upper": "ci_high"}


@renamed_arguments(level="confidence")
def predict_interval(
    model: PurchaseModel,
    quantity: Quantity,
    data: pd.DataFrame | ArrayLike,
    *,
    kind: Kind = "parameter",
    t: float | None = None,
    spend_model: GammaGammaModel | pd.Series | ArrayLike | None = None,
    horizon: int | None = None,
    time_unit: float | None = None,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    n_draws: int = 500,
    confidence: float = 0.95,
    random_state: RandomState = None,
    max_cells: int = 4_000_000,
) -> pd.DataFrame:
    """Per-customer prediction with a parameter or a predictive interval.

    Parameter vectors are drawn from ``N(log θ̂, covariance_log_)`` (see
    :func:`draw_parameters`). ``kind="parameter"`` evaluates the prediction
    (an expectation or a probability) at every draw and takes the
    ``(1 - confidence)/2`` and ``(1 + confidence)/2`` quantiles over draws: an
    interval for the *expectation*, from estimation uncertainty in the
    parameters only; it does not contain the randomness of what the customer
    will do, and narrows as the data grow. ``kind="predictive"`` is an
    interval for the customer's *outcome*, the purchases in the next ``t``
    or the realised lifetime value: the randomness of the purchase process
    (and of spend) given the history, mixed over the parameter draws (see
    :mod:`crmcore.clv._predictive` for how intervals on whole numbers are
    formed and how their coverage is measured).

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel or BetaGeoBetaBinomModel
        Fitted model of the purchase process.
    quantity : {"expected_purchases", "probability_alive", "clv"}
        What to predict. ``"expected_purchases"`` needs ``t`` (time units
        of the data; for BG/BB the number of future opportunities);
        ``"clv"`` needs ``spend_model``, ``horizon`` and ``time_unit`` (for
        BG/BB a whole number of opportunities) and is computed as in
        :func:`~crmcore.clv.customer_lifetime_value` with both models'
        parameters drawn independently. ``"probability_alive"`` has a
        parameter interval only.
    data : DataFrame or array_like
        Customer summary (``frequency``, ``recency``, ``T`` or
        ``n_periods``; ``monetary_value`` for CLV with a spend model).
    kind : {"parameter", "predictive"}, default "parameter"
        ``"parameter"``: uncertainty of the expectation from the parameter
        estimates only. ``"predictive"``: process plus parameter
        uncertainty, an interval for the outcome. For purchases it is an
        interval of whole numbers from the predictive distribution's
        quantiles, with its probability (``ci_probability``, at least
        ``confidence``); for CLV the quantiles of one simulated future per
        draw (reproducible for a fixed ``random_state`` and ``max_cells``).
    t : float, optional
        Horizon for ``expected_purchases``.
    spend_model : GammaGammaModel, Series, array_like or float, optional
        For ``clv``: a fitted spend model (its parameters are drawn too; the
        predictive interval draws each purchase's value from its posterior
        predictive), or the expected spend per purchase of each customer, as
        for :func:`~crmcore.clv.customer_lifetime_value` (held fixed).
    horizon : int, optional
        Number of discounting periods for ``clv``.
    time_unit : float, optional
        Length of one period in the data's time units, for ``clv``.
    discount_rate : float, default 0.0
        Discount rate per period, for ``clv``.
    margin : float, default 1.0
        Margin on revenue, for ``clv``.
    n_draws : int, default 500
        Number of parameter draws.
    confidence : float, default 0.95
        Confidence level, in ``(0, 1)`` (formerly ``level``, deprecated).
    random_state : int, Generator or None
        Seed or generator (the result is reproducible for a fixed seed).
    max_cells : int, default 4_000_000
        Upper bound on ``draws × rows`` held in memory at once.

    Returns
    -------
    DataFrame
        Indexed like ``data`` (or 0..n-1 for arrays): ``estimate`` (the
        expectation at the fitted parameters), ``ci_low``, ``ci_high``;
        predictive intervals of purchases are whole numbers (int) and come
        with ``ci_probability``. (The bounds were called ``lower`` and
        ``upper``; those names still work, with a ``DeprecationWarning``,
        until crmcore 0.3.0.)

    Raises
    ------
    ValidationError
        For a model that is not a purchase model, an unknown quantity or
        kind, missing arguments, or a model without a finite covariance. For
        ``clv``: if the fitted spend model gives some customer no finite
        expected spend (``q <= 1`` with a customer of frequency 0, or
        ``p x + q <= 1``; ``field="q"``), or if, for a parameter interval,
        more than the upper tail ``(1 - confidence) / 2`` of the spend-model
        draws do.

    Warns
    -----
    DataWarning
        For a parameter interval of ``clv``, when some (at most
        ``(1 - confidence) / 2``) of the spend-model draws give a customer no
        finite expected spend: those draws are dropped, with the share
        stated; the interval is then conditional on a finite mean.

    Examples
    --------
    >>> from crmcore.clv import BetaGeoModel, predict_interval, simulate_bgnbd
    >>> data = simulate_bgnbd(2000, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, random_state=1)
    >>> model = BetaGeoModel().fit(data)
    >>> band = predict_interval(model, "probability_alive", data.head(3), random_state=0)
    >>> list(band.columns)
    ['estimate', 'ci_low', 'ci_high']
    >>> bool(((band.ci_low <= band.estimate) & (band.estimate <= band.ci_high)).all())
    True
    >>> purchases = predict_interval(
    ...     model,
    ...     "expected_purchases",
    ...     data.head(3),
    ...     t=26.0,
    ...     kind="predictive",
    ...     n_draws=50,
    ...     random_state=0,
    ... )
    >>> list(purchases.columns), str(purchases["ci_high"].dtype)
    (['estimate', 'ci_low', 'ci_high', 'ci_probability'], 'int64')
    """
    if quantity not in ("expected_purchases", "probability_alive", "clv"):
        raise ValidationError(
            "quantity must be 'expected_purchases', 'probability_alive' or 'clv'; "
            f"got {quantity!r}",
            field="quantity",
            value=quantity,
        )
    if kind not in ("parameter", "predictive"):
        raise ValidationError(
            f"kind must be 'parameter' or 'predictive'; got {kind!r}", field="kind", value=kind
        )
    if kind == "predictive" and quantity == "probability_alive":
        raise ValidationError(
            "kind='predictive' is an interval for an outcome (purchases or CLV); "
            "P(alive) is itself a probability: use kind='parameter'",
            field="kind",
            value=kind,
        )
    kernels = purchase_kernels(model)
    lvl = check_scalar(
        confidence, name="confidence", low=0, high=1, low_inclusive=False, high_inclusive=False
    )
    cells = int(check_scalar(max_cells, name="max_cells", low=1, integer=True))
    k = int(check_scalar(n_draws, name="n_draws", low=1, integer=True))
    if quantity == "expected_purchases":
        if t is None:
            raise ValidationError("quantity 'expected_purchases' needs t", field="t")
        # BG/BB counts future opportunities: a whole number, as in its expected_purchases
        t = check_scalar(t, name="t", low=0, integer=kernels.discrete)
    schedule: Discounting | None = None
    spend: SpendSource | None = None
    if quantity == "clv":
        if spend_model is None:
            raise ValidationError(
                "quantity 'clv' needs a fitted spend model (GammaGammaModel) or the spend "
                "per customer as spend_model",
                field="spend_model",
            )
        spend = spend_source(spend_model)
        if horizon is None or time_unit is None:
            raise ValidationError("quantity 'clv' needs horizon and time_unit", field="horizon")
        if kernels.discrete:
            check_scalar(time_unit, name="time_unit", low=1, integer=True)
        schedule = Discounting.build(
            horizon=horizon, time_unit=time_unit, discount_rate=discount_rate, margin=margin
        )
    theta_hat = fitted_params(model)
    summary = kernels.read(data, spend.columns if spend is not None else ())
    keys = [summary[c] for c in kernels.columns]
    spend_rows: FloatArray | None = None
    if spend is not None:
        spend_rows = spend.expected(summary)  # checked; at the fitted spend parameters
        # a spend model reads monetary_value; given spend is a column of its own
        keys.append(summary["monetary_value"] if spend.kernels is not None else spend_rows)
    uniq, inv = unique_rows(*keys)
    cols = [np.asarray(u, dtype=np.float64) for u in uniq]
    rng = check_random_state(random_state)
    draws = draw_parameters(model, k, random_state=rng)
    spend_draws: FloatArray | None = None
    if spend is not None and spend.kernels is not None:
        spend_draws = draw_parameters(spend_model, k, random_state=rng)  # type: ignore[arg-type]
        if kind == "parameter":
            draws, spend_draws = _finite_spend_draws(
                spend.kernels, draws, spend_draws, cols[0], lvl
            )
            k = draws.shape[0]
    x, tx, T = cols[0], cols[1], cols[2]
    q = np.array([(1.0 - lvl) / 2.0, (1.0 + lvl) / 2.0])
    chunk = max(1, cells // k)
    if quantity == "probability_alive":
        estimate = kernels.alive(theta_hat, x, tx, T)
        ci_low, ci_high = draw_bands(
            kernels, draws, cols, pair_part=None, finish=None, chunk=chunk, q=q
        )
        return _band(estimate[inv], ci_low[inv], ci_high[inv], summary.index)
    if quantity == "expected_purchases":
        tt = float(t)  # type: ignore[arg-type]
        estimate = kernels.expected(theta_hat, x, tx, T, np.full(x.shape, tt))
        if kind == "predictive":
            # rows x (N + 1) cells per chunk (N starts at 16 and grows where needed)
            dist = purchase_distribution(
                kernels, draws, cols, np.full(x.shape, tt), upper=float(q[1]), chunk=cells // 32
            )
            low, high, prob = count_interval(dist, q)
            frame = _band(estimate[inv], low[inv], high[inv], summary.index)
            frame["ci_probability"] = prob[inv]
            return frame

        def expected_part(th: FloatArray, px: FloatArray, pT: FloatArray) -> FloatArray:
            return kernels.expected_if_alive(th, px, pT, np.full(px.shape, tt))

        ci_low, ci_high = draw_bands(
            kernels, draws, cols, pair_part=expected_part, finish=None, chunk=chunk, q=q
        )
        return _band(estimate[inv], ci_low[inv], ci_high[inv], summary.index)
    assert schedule is not None
    assert spend is not None
    assert spend_rows is not None
    plan, sk, m = schedule, spend.kernels, cols[3]
    spend_u = np.empty(m.size)
    spend_u[inv] = spend_rows
    estimate = plan.value(kernels.discounted(theta_hat, x, tx, T, plan), spend_u)
    if kind == "predictive":

        def values(draw: int, rows: IntArray, owner: IntArray, gen: np.random.Generator) -> Any:
            if sk is None:  # given spend: each purchase is worth it
                return spend_u[rows][owner]
            assert spend_draws is not None
            return sk.sample(spend_draws[draw], x[rows], m[rows], owner, gen)

        ci_low, ci_high = simulated_values(
            kernels, draws, cols, schedule=plan, spend=values, chunk=chunk, q=q, rng=rng
        )
        return _band(estimate[inv], ci_low[inv], ci_high[inv], summary.index)

    def discounted_part(th: FloatArray, px: FloatArray, pT: FloatArray) -> FloatArray:
        return kernels.discounted_if_alive(th, px, pT, plan)

    def clv(block: FloatArray, rows: IntArray) -> FloatArray:
        if sk is None:  # given spend: fixed
            return plan.value(block, spend_u[rows][None, :])
        assert spend_draws is not None
        return plan.value(block, sk.expected_many(spend_draws, x[rows], m[rows]))

    ci_low, ci_high = draw_bands(
        kernels, draws, cols, pair_part=discounted_part, finish=clv, chunk=chunk, q=q
    )
    return _band(estimate[inv], ci_low[inv], ci_high[inv], summary.index)


def _band(
    estimate: FloatArray,
    low: FloatArray | IntArray,
    high: FloatArray | IntArray,
    index: pd.Index | None,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"estimate": estimate, "ci_low": low, "ci_high": high},
        index=index if index is not None else pd.RangeIndex(estimate.size),
    )
    return renamed_columns(frame, _OLD_COLUMNS, where="crmcore.clv.predict_interval()")

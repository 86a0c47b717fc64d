"""Generic bounded least-squares fit of a simulated curve, with torch Jacobians.

* **Parameters** (:class:`FitParameter`) are fitted in a transformed space: the natural
  log of the value where the :mod:`bruno_hil.devices.params` field is flagged ``log``
  (it spans decades), the value itself otherwise; bounds are the field's physical range
  unless narrowed.
* **Model**: a :class:`Model` maps parameter values to a prediction of the data and, on
  request, its Jacobian. Device models are recurrences (a state stepped through a
  sampled stimulus); :func:`simulate` runs one and :func:`simulate_with_jacobian` also
  returns the exact derivative of the *discrete* trajectory: the step's partial
  derivatives come from torch (forward mode) evaluated for all time steps at once, and
  the chain rule through time is a linear recurrence. This costs about one extra forward
  pass, where ``torch.func.jacfwd`` through a 4000-step Python loop costs ~40.
* **Optimizer**: :func:`scipy.optimize.least_squares` (trust-region reflective with
  bounds, ``lsmr`` sub-problems) from several starts: the current best plus the best
  ``n_starts - 1`` of ``n_screen`` random draws around it (costed in one batched
  simulation when the model has ``batch``), each refined; the best refinement wins. Each
  refinement works in variables scaled so that its first trust region is ~10 % of every
  parameter (:data:`TRUST_STEP`).
* **Uncertainty** (:mod:`.uncertainty`): the *local* ``cov = s^2 (J^T J)^+`` at the
  optimum (``s^2`` the residual variance, ``J`` in the fit space), mapped to the parameter
  values, with its correlation matrix; and the *jackknife* one (linearised delete-a-block
  jackknife, blocks as long as the residual's autocorrelation), which also holds where
  the residuals are not white noise of one size or a few points pull the fit. The local
  one decides identifiability; report both.
* **Identifiability**: a parameter is not identifiable from these data when its relative
  uncertainty exceeds ``max_rel_sigma``, its correlation with another exceeds
  ``max_abs_corr``, or refinements from different starts that fit equally well (chi-square
  within ``max_delta_chi2``) disagree on it by more than ``max_rel_spread`` (10 %, the
  same bar as the uncertainty's; a factor 1.5 for a log-scale parameter, which spans
  decades). The last test catches what the linearisation cannot: a chi-square surface
  with several minima within the noise (the FeCap's Merz law from one loop, where starts
  disagree on tau_0 by a factor 3-5, see :mod:`.fecap`); a tighter bar (2 %, then 10 %)
  held a tau_0 that switching kinetics determine within 14 % at the prior, 3x off, and
  the fit moved E_a 23 % to make up for it. The least identifiable parameter
  is held at its initial value and the rest are refitted, until every remaining one is
  identifiable; held parameters are reported with the reason (they are not silently
  returned as fitted). The linearised uncertainties of the remaining parameters are
  local: they understate the error where the surface is not quadratic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from scipy.optimize import least_squares

from bruno_hil.calibration.uncertainty import (
    MIN_BLOCKS,
    block_length,
    jackknife_covariance,
    local_covariance,
)
from bruno_hil.devices.params import DeviceParams
from bruno_hil.errors import BrunoHilError

DTYPE = torch.float64
Step = Callable[[torch.Tensor, tuple[torch.Tensor, ...], object], torch.Tensor]
"""``step(x, inputs, ctx) -> x_next``: elementwise in ``x`` and the inputs (so it can be
evaluated for all time steps at once); ``ctx`` is ``prepare(theta)``, the device built
from the 1-D tensor of free values once per simulation."""


class FitError(BrunoHilError, ValueError):
    """A fit cannot be set up or did not produce a usable result."""


@dataclass(frozen=True)
class FitParameter:
    """One free parameter: its initial value, bounds and scale, in SI units."""

    name: str
    initial: float
    low: float
    high: float
    log: bool = False
    unit: str = ""
    scale: float = 0.0
    """A magnitude [unit] the uncertainty is judged against when |value| is smaller: a
    parameter that may be 0 (a parasitic) is identifiable when its sigma is small next to
    what it competes with (e.g. C_par next to the dielectric capacitance)."""

    def __post_init__(self) -> None:
        if not self.low <= self.initial <= self.high:
            raise FitError(
                f"{self.name}: initial value {self.initial:g} {self.unit} is outside its"
                f" bounds [{self.low:g}, {self.high:g}]"
            )
        if self.log and not self.low > 0.0:
            raise FitError(f"{self.name}: a log-scale parameter needs a positive lower bound")
        if not self.low < self.high:
            raise FitError(f"{self.name}: empty bounds [{self.low:g}, {self.high:g}]")

    def to_x(self, value: float) -> float:
        return math.log(value) if self.log else value

    def from_x(self, x: float) -> float:
        return math.exp(x) if self.log else x

    @property
    def bounds_x(self) -> tuple[float, float]:
        return self.to_x(self.low), self.to_x(self.high)


def device_parameters(
    params: DeviceParams,
    names: Sequence[str],
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> list[FitParameter]:
    """:class:`FitParameter` s for fields of ``params`` (initial values from it), with the
    field's unit, log flag and physical range (or ``bounds[name]`` inside it)."""
    out = []
    for name in names:
        spec = params.spec(name)
        low, high = (bounds or {}).get(name, spec["range"])
        r_low, r_high = spec["range"]
        low, high = max(low, r_low), min(high, r_high)
        if spec["log"] and low <= 0.0:
            low = max(r_low, abs(getattr(params, name)) * 1e-6)
        out.append(
            FitParameter(name, getattr(params, name), low, high, bool(spec["log"]), spec["unit"])
        )
    return out


class Model(Protocol):
    """A simulated curve: prediction [N] for parameter values [p] (SI units), and with
    ``jacobian`` its derivative [N, p] with respect to the values."""

    def __call__(
        self, values: np.ndarray, jacobian: bool
    ) -> tuple[np.ndarray, np.ndarray | None]: ...


class Concatenated:
    """Several models of the same parameters seen as one (e.g. experiments measured from
    the same initial state): predictions and Jacobians end to end."""

    def __init__(self, models: Sequence[Model]) -> None:
        if not models:
            raise FitError("nothing to fit: no models")
        self.models = list(models)

    def __call__(self, values: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        outs = [m(values, jacobian) for m in self.models]
        pred = np.concatenate([p for p, _ in outs])
        if not jacobian:
            return pred, None
        return pred, np.concatenate([j for _, j in outs if j is not None])

    def batch(self, values: np.ndarray) -> np.ndarray:
        """Predictions [B, N] (each model's ``batch``, or one call per row)."""
        return np.concatenate([_batch(m, values) for m in self.models], axis=1)


def _batch(model: Model, values: np.ndarray) -> np.ndarray:
    """Predictions [B, N] for parameter rows ``values`` [B, p]."""
    batch = getattr(model, "batch", None)
    if batch is not None:
        return batch(values)
    return np.array([model(v, False)[0] for v in values])


def simulate(
    step: Step, x0: torch.Tensor, inputs: tuple[torch.Tensor, ...], ctx: object
) -> torch.Tensor:
    """Run the recurrence from ``x0`` through ``inputs`` (each [K, ...]): states [K+1]."""
    with torch.no_grad():
        rows = list(zip(*(u.unbind(0) for u in inputs), strict=True))
        x, out = x0, [x0]
        for row in rows:
            x = step(x, row, ctx)
            out.append(x)
        return torch.stack(out)


def simulate_with_jacobian(
    step: Step,
    prepare: Callable[[torch.Tensor], object],
    x0_fn: Callable[[torch.Tensor], torch.Tensor],
    inputs: tuple[torch.Tensor, ...],
    theta: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """States [K+1] and their exact derivatives [K+1, p] with respect to ``theta``
    (see the module): ``S[k+1] = a[k]*S[k] + b[k]`` with ``a = d step/dx`` and
    ``b = d step/d theta`` taken by torch at every step at once."""
    theta = theta.detach()
    ctx = prepare(theta)
    xs = simulate(step, x0_fn(theta), inputs, ctx)
    x = xs[:-1]
    _, a = torch.func.jvp(lambda s: step(s, inputs, ctx), (x,), (torch.ones_like(x),))
    b = torch.func.jacfwd(lambda th: step(x, inputs, prepare(th)))(theta)
    s0 = torch.func.jacfwd(x0_fn)(theta)
    a_np, b_np = a.detach().numpy(), b.detach().numpy()
    sens = np.empty((xs.shape[0], theta.shape[0]))
    sens[0] = s0.detach().numpy()
    for k in range(x.shape[0]):
        sens[k + 1] = a_np[k] * sens[k] + b_np[k]
    return xs, torch.from_numpy(sens)


@dataclass
class FitResult:
    """The outcome of :func:`fit`, values in SI units."""

    names: list[str]
    values: dict[str, float]
    sigma: dict[str, float]
    """Local (linearised, white-noise) one-standard-deviation uncertainty of each fitted
    value (NaN for held ones)."""
    sigma_jackknife: dict[str, float]
    """The delete-a-block jackknife's one-standard-deviation uncertainty (NaN for held
    ones; see :mod:`.uncertainty`)."""
    jackknife_block: int
    """Points per jackknife block (the residual's autocorrelation time, rounded up)."""
    correlation: np.ndarray
    """Correlation matrix of the fitted (not held) parameters, in ``fitted`` order."""
    fitted: list[str]
    held: dict[str, str]
    """Parameters held at their initial value, with the reason (non-identifiable)."""
    not_identifiable: dict[str, str]
    """Fitted parameters still not identifiable (only with ``eliminate=False``)."""
    prediction: np.ndarray
    residual_rms: float
    """RMS of the (unweighted) residual, in the data's unit."""
    r2: float
    n_starts: int
    nfev: int
    success: bool
    message: str
    history: list[dict[str, object]] = field(default_factory=list)
    """One entry per elimination round: parameters, relative uncertainties, reasons."""

    @property
    def sigma_honest(self) -> dict[str, float]:
        """The 1-sigma to quote: the larger of :attr:`sigma` and :attr:`sigma_jackknife`
        (the jackknife scatters around the local one on white noise; NaN for held ones)."""
        return {
            name: float(np.maximum(self.sigma[name], self.sigma_jackknife[name]))
            for name in self.names
        }


class _Cached:
    """The model in fit space, evaluated once per point for both residual and Jacobian."""

    def __init__(self, model: _Held, params: list[FitParameter], y: np.ndarray, w: np.ndarray):
        self.model, self.params, self.y, self.w = model, params, y, w
        self._key: bytes | None = None
        self._value: tuple[np.ndarray, np.ndarray | None] = (y, None)
        self.nfev = 0

    def values(self, x: np.ndarray) -> np.ndarray:
        return np.array([p.from_x(float(v)) for p, v in zip(self.params, x, strict=True)])

    def _eval(self, x: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        key = x.tobytes()
        if key == self._key and (not jacobian or self._value[1] is not None):
            return self._value
        self.nfev += 1
        values = self.values(x)
        pred, jac = self.model(values, jacobian)
        if jac is not None:
            scale = np.array(
                [v if p.log else 1.0 for p, v in zip(self.params, values, strict=True)]
            )
            jac = jac * scale[None, :]
        self._key, self._value = key, (pred, jac)
        return pred, jac

    def residual(self, x: np.ndarray) -> np.ndarray:
        pred, _ = self._eval(x, jacobian=True)
        r = (pred - self.y) * self.w
        return np.where(np.isfinite(r), r, 1e6)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        _, jac = self._eval(x, jacobian=True)
        assert jac is not None
        return np.where(np.isfinite(jac), jac, 0.0) * self.w[:, None]

    def costs(self, xs: list[np.ndarray]) -> np.ndarray:
        """Cost of each start, in one batched simulation when the model has ``batch``."""
        values = np.array([self.values(x) for x in xs])
        preds = self.model.batch(values)
        r = (preds - self.y[None, :]) * self.w[None, :]
        cost = np.sum(r * r, axis=1)
        return np.where(np.isfinite(cost), cost, math.inf)


def _starts(
    params: list[FitParameter], x0: np.ndarray, n: int, rng: np.random.Generator, spread: float
) -> list[np.ndarray]:
    """Random starts around ``x0``: +-``spread`` decades for log parameters, +-``spread``
    (relative, or of the bounds' width at 0) for linear ones, inside the bounds."""
    out = []
    for _ in range(n):
        x = []
        for p, v in zip(params, x0, strict=True):
            lo, hi = p.bounds_x
            if p.log:
                half = spread * math.log(10.0)
            else:
                half = spread * (abs(v) if v != 0.0 else 0.01 * (hi - lo))
            x.append(float(np.clip(v + rng.uniform(-half, half), lo, hi)))
        out.append(np.array(x))
    return out


def _value_sigma(params: list[FitParameter], values: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """One-sigma of the values [their units] from a fit-space covariance (a log-scale
    parameter's sigma is ``value * sigma(log value)``)."""
    sx = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return np.where([p.log for p in params], values * sx, sx)


def _assess(
    params: list[FitParameter],
    x: np.ndarray,
    cov: np.ndarray,
    max_rel_sigma: float,
    max_abs_corr: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, str], list[float]]:
    """Values, sigmas (value space), correlation, non-identifiable reasons, badness."""
    values = np.array([p.from_x(float(v)) for p, v in zip(params, x, strict=True)])
    sx = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    sigma = _value_sigma(params, values, cov)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sx, sx)
        rel = np.abs(sigma) / np.maximum(np.abs(values), [p.scale for p in params])
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    reasons: dict[str, str] = {}
    badness: list[float] = []
    for i, p in enumerate(params):
        bad = 0.0
        others = [j for j in range(len(params)) if j != i]
        if others:
            j = max(others, key=lambda j: abs(corr[i, j]))
            if abs(corr[i, j]) > max_abs_corr:
                reasons[p.name] = (
                    f"degenerate with {params[j].name} (correlation {corr[i, j]:+.4f})"
                )
                bad = max(bad, 1.0)
        if not rel[i] <= max_rel_sigma:
            reasons[p.name] = f"relative uncertainty {rel[i]:.3g} exceeds {max_rel_sigma:g}" + (
                f"; {reasons[p.name]}" if p.name in reasons else ""
            )
        badness.append(bad + (float(rel[i]) if np.isfinite(rel[i]) else 1e300))
    return values, sigma, corr, reasons, badness


TRUST_STEP = 0.1
"""First trust-region radius of a refinement, in each parameter's own unit: 0.1 in the
natural log of a log-scale value (~10 %), 10 % of a linear one (or 1e-4 of its bounds'
width where it is 0). The default radius (|x0|, ~50 for log(tau_0)) lets the first steps
jump to where the FeCap never switches and the fit stalls there."""


def _units(params: list[FitParameter], x0: np.ndarray) -> np.ndarray:
    out = []
    for p, x in zip(params, x0, strict=True):
        if p.log:
            out.append(TRUST_STEP)
        else:
            out.append(TRUST_STEP * (abs(x) if x != 0.0 else 1e-3 * (p.high - p.low)))
    return np.array(out)


def _refine(
    cached: _Cached, starts: list[np.ndarray], max_nfev: int
) -> list[tuple[np.ndarray, object]]:
    """Least squares from each start, in variables ``z = (x - x0)/unit`` (see
    :data:`TRUST_STEP`): (x, scipy result) per start, lowest cost first."""
    lo, hi = (np.array(b) for b in zip(*(p.bounds_x for p in cached.params), strict=True))
    out = []
    for start in starts:
        x0 = np.clip(start, lo, hi)
        unit = _units(cached.params, x0)
        res = least_squares(
            lambda z, x0=x0, unit=unit: cached.residual(x0 + unit * z),
            np.zeros_like(x0),
            jac=lambda z, x0=x0, unit=unit: cached.jacobian(x0 + unit * z) * unit[None, :],
            bounds=((lo - x0) / unit, (hi - x0) / unit),
            method="trf",
            x_scale=1.0,
            max_nfev=max_nfev,
            tr_solver="lsmr",
        )
        out.append((np.clip(x0 + unit * res.x, lo, hi), res))
    return sorted(out, key=lambda item: item[1].cost)


def _spread(
    params: list[FitParameter],
    results: list[tuple[np.ndarray, object]],
    n_data: int,
    max_delta_chi2: float,
) -> np.ndarray:
    """Relative spread of each parameter over the refinements that fit as well as the best
    (chi-square within ``max_delta_chi2``): ``exp(max - min) - 1`` of a log value,
    ``(max - min)/max(|best|, scale)`` of a linear one; 0 with one such refinement."""
    best_cost = results[0][1].cost
    dof = max(n_data - len(params), 1)
    equal = [
        x
        for x, res in results
        if best_cost <= 0.0 or (res.cost - best_cost) * dof / best_cost <= max_delta_chi2
    ]
    xs = np.array(equal)
    width = xs.max(axis=0) - xs.min(axis=0)
    best = results[0][0]
    out = []
    for i, p in enumerate(params):
        if p.log:
            out.append(math.expm1(width[i]))
        else:
            size = max(abs(best[i]), p.scale)
            out.append(width[i] / size if size > 0.0 else (math.inf if width[i] else 0.0))
    return np.array(out)


def fit(
    model: Model,
    y: np.ndarray,
    params: list[FitParameter],
    *,
    weights: np.ndarray | float | None = None,
    n_starts: int = 3,
    n_screen: int = 12,
    spread: float = 0.3,
    seed: int = 0,
    max_nfev: int = 40,
    max_rel_sigma: float = 0.1,
    max_abs_corr: float = 0.999,
    max_rel_spread: float = 0.1,
    max_rel_spread_log: float = 0.5,
    max_delta_chi2: float = 4.0,
    eliminate: bool = True,
    protected: Sequence[str] = (),
    jackknife_block: int | None = None,
) -> FitResult:
    """Fit ``model`` to the data ``y`` [N] (see the module). ``weights`` multiply the
    residuals (default ``1/std(y)``); ``n_starts`` refinements (the initial guess and the
    best ``n_starts - 1`` of ``n_screen`` random starts, ``spread`` decades or relative
    widths around the current best, seeded by ``seed``); ``max_nfev`` model evaluations
    each. A parameter is not identifiable when its relative uncertainty exceeds
    ``max_rel_sigma``, its correlation with another exceeds ``max_abs_corr``, or
    refinements that fit as well as the best (chi-square within ``max_delta_chi2``)
    disagree on it by more than ``max_rel_spread`` (relative; ``max_rel_spread_log`` for a
    log-scale parameter, which spans decades: a factor 1.5 by default). With ``eliminate``, the
    least identifiable parameter is held at its initial value and the rest refitted, until
    all are identifiable; ``protected`` ones (nuisance terms such as an offset)
    are never held. ``jackknife_block``: points per block of the jackknife uncertainty
    (default: the residual's autocorrelation time; see :mod:`.uncertainty`)."""
    y = np.asarray(y, dtype=np.float64)
    if not params:
        raise FitError("nothing to fit: no free parameters")
    if y.size <= len(params):
        raise FitError(f"{y.size} data points cannot determine {len(params)} parameters")
    if jackknife_block is not None and not 1 <= jackknife_block <= y.size // MIN_BLOCKS:
        raise FitError(
            f"jackknife_block = {jackknife_block!r} points: must be 1 to"
            f" {y.size // MIN_BLOCKS} ({y.size} points in at least {MIN_BLOCKS} blocks)"
        )
    w = np.broadcast_to(
        np.asarray(1.0 / (np.std(y) or 1.0) if weights is None else weights, dtype=np.float64),
        y.shape,
    ).copy()
    rng = np.random.default_rng(seed)
    initial = {p.name: p.initial for p in params}
    active = list(params)
    held: dict[str, str] = {}
    history: list[dict[str, object]] = []
    x_start = np.array([p.to_x(p.initial) for p in active])
    total_nfev = 0
    while True:
        cached = _Cached(_Held(model, params, active, initial), active, y, w)
        starts = [x_start]
        if n_starts > 1:
            screened = _starts(active, x_start, n_screen, rng, spread)
            costs = cached.costs(screened)
            starts += [screened[i] for i in np.argsort(costs)[: n_starts - 1]]
        results = _refine(cached, starts, max_nfev)
        x_opt, res = results[0]
        total_nfev += cached.nfev
        residual = cached.residual(x_opt)
        jac = cached.jacobian(x_opt)
        cov = local_covariance(jac, residual, len(active))
        values, sigma, corr, reasons, badness = _assess(
            active, x_opt, cov, max_rel_sigma, max_abs_corr
        )
        spreads = _spread(active, results, y.size, max_delta_chi2)
        for i, p in enumerate(active):
            if spreads[i] > (max_rel_spread_log if p.log else max_rel_spread):
                lows = min(p.from_x(float(x[i])) for x, _ in results)
                highs = max(p.from_x(float(x[i])) for x, _ in results)
                note = (
                    f"equally good fits from different starts disagree by {spreads[i]:.3g}"
                    f" (relative; values {lows:.4g} .. {highs:.4g} {p.unit})"
                )
                reasons[p.name] = f"{note}; {reasons[p.name]}" if p.name in reasons else note
                badness[i] += 1.0 + float(min(spreads[i], 1e6))
        for name in protected:
            reasons.pop(name, None)
        history.append(
            {
                "free": [p.name for p in active],
                "rel_sigma": {
                    p.name: float(abs(s) / max(abs(v), p.scale)) if v or p.scale else math.inf
                    for p, v, s in zip(active, values, sigma, strict=True)
                },
                "start_spread": dict(zip([p.name for p in active], spreads.tolist(), strict=True)),
                "not_identifiable": dict(reasons),
                "cost": float(res.cost),
                "starts": len(starts),
            }
        )
        candidates = [i for i, p in enumerate(active) if p.name in reasons]
        if not eliminate or not candidates or len(active) == 1:
            break
        worst = max(candidates, key=lambda i: badness[i])
        held[active[worst].name] = reasons[active[worst].name]
        x_start = np.delete(x_opt, worst)
        active = [p for i, p in enumerate(active) if i != worst]
    block = jackknife_block or block_length(residual)
    sigma_jk = _value_sigma(active, values, jackknife_covariance(jac, residual, block))
    pred, _ = cached._eval(x_opt, jacobian=False)
    r_raw = pred - y
    sst = float(np.sum((y - y.mean()) ** 2))
    all_values = {**initial, **dict(zip([p.name for p in active], values.tolist(), strict=True))}
    all_sigma = {p.name: math.nan for p in params}
    all_sigma.update(dict(zip([p.name for p in active], sigma.tolist(), strict=True)))
    all_sigma_jk = {p.name: math.nan for p in params}
    all_sigma_jk.update(dict(zip([p.name for p in active], sigma_jk.tolist(), strict=True)))
    return FitResult(
        names=[p.name for p in params],
        values=all_values,
        sigma=all_sigma,
        sigma_jackknife=all_sigma_jk,
        jackknife_block=block,
        correlation=corr,
        fitted=[p.name for p in active],
        held=held,
        not_identifiable=dict(reasons),
        prediction=np.asarray(pred),
        residual_rms=float(np.sqrt(np.mean(r_raw**2))),
        r2=1.0 - float(np.sum(r_raw**2)) / sst if sst > 0 else math.nan,
        n_starts=len(starts),
        nfev=total_nfev,
        success=bool(res.success),
        message=str(res.message),
        history=history,
    )


class _Held:
    """``model`` seen as a function of the ``active`` parameters only, the others held at
    their initial values."""

    def __init__(
        self,
        model: Model,
        params: list[FitParameter],
        active: list[FitParameter],
        initial: dict[str, float],
    ) -> None:
        self.model = model
        self.index = [next(i for i, p in enumerate(params) if p.name == a.name) for a in active]
        self.full = np.array([initial[p.name] for p in params])

    def __call__(self, values: np.ndarray, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        full = self.full.copy()
        full[self.index] = values
        pred, jac = self.model(full, jacobian)
        return pred, (None if jac is None else jac[:, self.index])

    def batch(self, values: np.ndarray) -> np.ndarray:
        """Predictions [B, N]; the model's ``batch`` if it has one."""
        full = np.repeat(self.full[None, :], values.shape[0], axis=0)
        full[:, self.index] = values
        return _batch(self.model, full)


__all__ = [
    "Concatenated",
    "FitError",
    "FitParameter",
    "FitResult",
    "Model",
    "device_parameters",
    "fit",
    "simulate",
    "simulate_with_jacobian",
]

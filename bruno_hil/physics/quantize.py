"""Training-time weight quantization of RRAM synapses: a symmetric grid per tensor,
stochastic rounding redrawn on every call (or rounding to the nearest level),
straight-through to the float weights.

With ``bits`` = n the integer levels are ``-(2**(n-1)-1) .. 2**(n-1)-1`` (3 bits: -3..3),
so zero is always a level and a zero weight stays exactly zero. The grid's range is either
the tensor's largest magnitude (``abs_max``: no weight is clipped) or, by default, the
range that minimises the mean square error of nearest rounding (``mse``: the few largest weights are
clipped to the top level so that the many small ones get a finer step; the usual MSE
range setting of post-training quantization, e.g. Nagel et al. 2021, "A white paper on
neural network quantization", section 3.2).
"""

from __future__ import annotations

import torch

QUANT_RANGES: tuple[str, ...] = ("abs_max", "mse")
"""How a tensor's grid range is chosen (see the module docstring)."""
DEFAULT_QUANT_RANGE = "mse"
"""The range training and the chip use unless told otherwise: at 3 and 4 bits it keeps
far more accuracy than abs-max (experiments/README.md, "Why 3 bits fail")."""
WEIGHT_ROUNDINGS: tuple[str, ...] = ("stochastic", "nearest")
"""How weights are rounded onto the grid in training."""
MSE_CANDIDATES = 64
"""Candidate ranges ``k/64 * max|w|`` (k = 1..64) searched by the ``mse`` range."""


def levels(bits: int) -> int:
    """Largest integer level of a symmetric ``bits``-bit code (3 bits -> 3)."""
    if bits < 2:
        raise ValueError(f"bits = {bits}: need at least 2 for a signed weight")
    return 2 ** (bits - 1) - 1


def stochastic_round(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Round each element down or up with probabilities that make the result unbiased:
    ``E[round(x)] = x``. Integers (zero included) are kept exactly."""
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return torch.floor(x + noise)


def grid_step(w: torch.Tensor, bits: int, quant_range: str = DEFAULT_QUANT_RANGE) -> torch.Tensor:
    """The step of ``w``'s ``bits``-bit grid (a 0-d tensor, same units as ``w``)."""
    top = levels(bits)
    a = w.detach().abs().flatten()
    abs_max = a.max().clamp(min=torch.finfo(w.dtype).tiny)
    if quant_range == "abs_max":
        return abs_max / top
    if quant_range != "mse":
        raise ValueError(f"quant_range = {quant_range!r}: expected one of {QUANT_RANGES}")
    fractions = torch.arange(1, MSE_CANDIDATES + 1, dtype=w.dtype, device=w.device)
    steps = abs_max * fractions / (MSE_CANDIDATES * top)
    q = torch.clamp(torch.round(a[None, :] / steps[:, None]), max=top) * steps[:, None]
    return steps[torch.argmin(((q - a[None, :]) ** 2).sum(1))]


def quantize_weights(
    w: torch.Tensor,
    bits: int,
    generator: torch.Generator | None = None,
    stochastic: bool = True,
    quant_range: str = DEFAULT_QUANT_RANGE,
) -> torch.Tensor:
    """``w`` on the ``bits``-bit grid of :func:`grid_step`, stochastically rounded (or to
    the nearest level if not ``stochastic``) and clipped to the top level; the gradient
    passes straight through to ``w``."""
    top = levels(bits)
    step = grid_step(w, bits, quant_range)
    x = w.detach() / step
    q = torch.clamp(stochastic_round(x, generator) if stochastic else torch.round(x), -top, top)
    return w + (q * step - w).detach()

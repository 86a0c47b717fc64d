"""Training-time weight quantization of RRAM synapses: symmetric abs-max per tensor,
stochastic rounding redrawn on every call, straight-through to the float weights.

With ``bits`` = n the integer levels are ``-(2**(n-1)-1) .. 2**(n-1)-1`` (3 bits: -3..3),
so zero is always a level and a zero weight stays exactly zero.
"""

from __future__ import annotations

import torch


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


def quantize_abs_max(
    w: torch.Tensor, bits: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``w`` on the ``bits``-bit grid of step ``max|w|/levels(bits)``, stochastically
    rounded; the gradient passes straight through to ``w``."""
    top = levels(bits)
    scale = w.detach().abs().max().clamp(min=torch.finfo(w.dtype).tiny) / top
    q = torch.clamp(stochastic_round(w.detach() / scale, generator), -top, top) * scale
    return w + (q - w).detach()

"""Spike functions: a Heaviside step in the forward pass and a smooth surrogate derivative
in the backward pass (Zenke & Ganguli's SuperSpike and the usual alternatives).

The argument ``x`` is the distance above threshold in the neuron's own units (volts for
the FeLIF neuron, normalised units for the LIF baseline); ``beta`` is the steepness in
1/unit of ``x``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Derivative = Callable[[torch.Tensor, float], torch.Tensor]


def _superspike(x: torch.Tensor, beta: float) -> torch.Tensor:
    return 1.0 / (beta * x.abs() + 1.0) ** 2


def _sigmoid(x: torch.Tensor, beta: float) -> torch.Tensor:
    s = torch.sigmoid(beta * x)
    return beta * s * (1.0 - s)


def _arctan(x: torch.Tensor, beta: float) -> torch.Tensor:
    return 1.0 / (1.0 + (torch.pi * beta * x) ** 2)


def _triangle(x: torch.Tensor, beta: float) -> torch.Tensor:
    return torch.clamp(1.0 - beta * x.abs(), min=0.0)


SURROGATES: dict[str, Derivative] = {
    "superspike": _superspike,
    "sigmoid": _sigmoid,
    "arctan": _arctan,
    "triangle": _triangle,
}
"""Surrogate derivatives by name; ``superspike`` (``1/(beta*|x|+1)**2``) is the default."""


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, beta: float, kind: str) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.beta, ctx.kind = beta, kind
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * SURROGATES[ctx.kind](x, ctx.beta), None, None


def spike_fn(x: torch.Tensor, beta: float = 10.0, kind: str = "superspike") -> torch.Tensor:
    """``1.0`` where ``x > 0`` else ``0.0``; the backward pass uses surrogate ``kind``."""
    if kind not in SURROGATES:
        raise ValueError(f"surrogate {kind!r}: choose one of {sorted(SURROGATES)}")
    if not beta > 0:
        raise ValueError(f"surrogate beta = {beta}: must be > 0")
    return _Spike.apply(x, beta, kind)

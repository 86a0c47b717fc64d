"""In-the-loop Adamax steps on one batch, shared by the chip tests."""

from __future__ import annotations

import torch

from bruno_hil.training import loop


def chip_losses(
    net: torch.nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    chip: object,
    steps: int,
    lr: float = 0.05,
) -> list[float]:
    """The batch loss measured on ``chip`` before each of ``steps`` Adamax steps (the
    chip's forward pass, BRUNO's backward pass)."""
    optimizer = torch.optim.Adamax(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss, _, _ = loop.batch_loss(net, inputs, labels, chip)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses

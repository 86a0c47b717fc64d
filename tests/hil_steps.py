"""In-the-loop Adamax steps on one batch, shared by the chip tests."""

from __future__ import annotations

import torch

from bruno_hil.chip import Chip, NeuronLayer
from bruno_hil.neurons import FeLIFLayer
from bruno_hil.training import loop
from bruno_hil.training.network import ChipReads, Network


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
        loss, *_ = loop.batch_loss(net, inputs, labels, chip)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def layer_trace(chip: Chip, name: NeuronLayer, layer: FeLIFLayer, current: torch.Tensor):
    """What the network's forward pass makes of ``chip``'s recording of neuron layer
    ``name`` for ``current`` [T, B, N] [A]: the layer's fine trace (spiked-or-not per step,
    the chip's V and P, completed by the layer's model where the chip did not observe)
    and the recording itself."""
    reads = ChipReads()
    trace = Network._chip_neurons(chip, name, layer, current, reads)
    return trace, reads.neurons[name]

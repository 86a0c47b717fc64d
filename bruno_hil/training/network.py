"""The BRUNO benchmark network: inputs -> RRAM -> hidden neurons -> RRAM -> output neurons.

The input (normalised crossbar row drives, ``[T, B, n_inputs]``) enters the first RRAM
crossbar directly as an analog signal (no input-encoding neuron layer: the random gain and
bias of the data set's encoder already play that role, and it halves the neuron-layer
cost). Each crossbar's column currents drive one neuron layer; the output layer's spike
counts over the sample are the class scores.

With a chip (:class:`bruno_hil.chip.Chip`), every layer the chip holds runs there:
a crossbar's currents from the chip are used forward with the torch synapse's gradient
backward (``current + stop_grad(chip - current)``, BRUNO's straight-through step applied
to the crossbar); a neuron layer's recording, completed by the layer's own model where the
chip could not observe (:meth:`~bruno_hil.neurons.FeLIFLayer.complete`), is the layer's
fine forward (``fine=``), and BRUNO differentiates the coarse step through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from bruno_hil.chip import (
    NEURON_LAYERS,
    SYNAPSE_OF,
    Chip,
    CrossbarRecording,
    LayerRecording,
    NeuronLayer,
    SynapseLayer,
)
from bruno_hil.neurons import FeLIFLayer, FineTrace, LIFLayer
from bruno_hil.synapses import RRAMLinear
from bruno_hil.training.config import NetworkConfig

Records = dict[str, dict[str, torch.Tensor]]
"""Per neuron layer: its ``spikes`` and recorded states, detached [T, B, N] tensors."""


@dataclass(frozen=True)
class ChipReads:
    """What the chip recorded in one forward pass: each neuron layer's recording, and each
    crossbar's recording with the torch synapse's currents for the same inputs
    ([T, B, outputs], the same units)."""

    neurons: dict[NeuronLayer, LayerRecording] = field(default_factory=dict)
    crossbars: dict[SynapseLayer, tuple[CrossbarRecording, np.ndarray]] = field(
        default_factory=dict
    )

    def failed(self) -> np.ndarray | None:
        """[B] mask of the samples that failed on any chip layer (None: no chip layer)."""
        masks = [rec.failed for rec in self.neurons.values()]
        masks += [rec.failed for rec, _ in self.crossbars.values()]
        return np.logical_or.reduce(masks) if masks else None


class Pass(NamedTuple):
    """One forward pass: output spikes [T, B, n_classes], the layer records and what the
    chip recorded."""

    spikes: torch.Tensor
    records: Records
    chip: ChipReads


class Network(nn.Module):
    """Two RRAM crossbars and two neuron layers, built from a :class:`NetworkConfig`."""

    def __init__(
        self, config: NetworkConfig, n_inputs: int, n_classes: int, dt_s: float, source: str
    ) -> None:
        super().__init__()
        self.config = config
        kinds = {name: config.layer_neuron(name) for name in NEURON_LAYERS}
        sizes = {"hidden": (n_inputs, config.n_hidden), "output": (config.n_hidden, n_classes)}
        # a crossbar's current scale is the one of the neuron layer it drives
        scales = {
            "hidden": (config.input_scale_A, config.lif_input_scale),
            "output": (config.hidden_scale_A, config.lif_hidden_scale),
        }
        self.syn_in, self.syn_out = (
            RRAMLinear(
                *sizes[name],
                bits=config.bits,
                stochastic_rounding=config.weight_rounding == "stochastic",
                quant_range=config.quant_range,
                variability_cv=config.variability_cv,
                read_noise=config.read_noise,
                current_scale_A=scales[name][0 if kinds[name] == "felif" else 1],
            )
            for name in NEURON_LAYERS
        )
        self.hidden, self.output = (
            self._neuron_layer(config, kinds[name], sizes[name][1], dt_s, source)
            for name in NEURON_LAYERS
        )

    @staticmethod
    def _neuron_layer(
        config: NetworkConfig, kind: str, n: int, dt_s: float, source: str
    ) -> FeLIFLayer | LIFLayer:
        if kind == "felif":
            return FeLIFLayer(
                n,
                params=config.fecap_params(source),
                mode=config.mode,
                dt_s=dt_s,
                n_inner=config.n_inner,
                fine_kernel=config.fine_kernel,
                surrogate_beta=config.felif_surrogate_beta_per_V,
                variability_cv=config.variability_cv,
            )
        return LIFLayer(
            n, params=config.lif_params(source), dt_s=dt_s, surrogate_beta=config.surrogate_beta
        )

    def forward(self, inputs: torch.Tensor, chip: Chip | None = None) -> Pass:
        """``inputs`` [T, B, n_inputs] through the network, with the layers that ``chip``
        holds on the chip."""
        records: Records = {}
        reads = ChipReads()
        x = inputs
        on_chip = chip.layers if chip is not None else ()
        for name in NEURON_LAYERS:
            syn_name = SYNAPSE_OF[name]
            layer, synapse = getattr(self, name), getattr(self, syn_name)
            current = synapse(x)
            if chip is not None and syn_name in on_chip:
                current = self._chip_crossbar(chip, syn_name, synapse, x, current, reads)
            fine = None
            if chip is not None and name in on_chip:
                fine = self._chip_neurons(chip, name, layer, current, reads)
            x, record = layer(current, fine=fine)
            records[name] = {"spikes": x.detach(), **record}
        return Pass(x, records, reads)

    @staticmethod
    def _chip_crossbar(
        chip: Chip,
        name: SynapseLayer,
        synapse: RRAMLinear,
        x: torch.Tensor,
        current: torch.Tensor,
        reads: ChipReads,
    ) -> torch.Tensor:
        """The chip's currents forward, the synapse's gradient backward; the synapse's own
        currents for samples the chip failed."""
        weight = synapse.weight.detach().to("cpu", torch.float64).numpy()
        xs = x.detach().to("cpu", torch.float64).numpy()
        rec = chip.read_crossbar(name, weight, float(synapse.current_scale_A), xs)
        model = current.detach().to("cpu", torch.float64).numpy()
        reads.crossbars[name] = (rec, model)
        chip_current = np.where(np.isnan(rec.currents), model, rec.currents)
        chip_t = torch.from_numpy(chip_current).to(device=current.device, dtype=current.dtype)
        return current + (chip_t - current).detach()

    @staticmethod
    def _chip_neurons(
        chip: Chip, name: NeuronLayer, layer: nn.Module, current: torch.Tensor, reads: ChipReads
    ) -> FineTrace:
        """The chip's recording of neuron layer ``name`` as the layer's fine forward."""
        if not isinstance(layer, FeLIFLayer):
            raise TypeError(f"{name}: only FeLIF neuron layers run on a chip")
        currents = current.detach().to("cpu", torch.float64).numpy()
        rec = chip.run_neurons(name, currents, float(layer.dt_s), layer.params)
        reads.neurons[name] = rec

        def as_tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(
                device=current.device, dtype=current.dtype
            )

        # the spike count of each step, as the torch fine forward gives it
        observed = FineTrace(
            spikes=as_tensor(rec.spikes.astype(np.float64)),
            v_V=as_tensor(rec.v_V),
            p_C_per_m2=as_tensor(rec.p_C_per_m2),
        )
        return layer.complete(observed, current.detach())


def logits(config: NetworkConfig, out_spikes: torch.Tensor) -> torch.Tensor:
    """Class scores [B, n_classes]: ``count_scale`` times the output spike counts."""
    return config.count_scale * out_spikes.sum(dim=0)


__all__ = ["ChipReads", "Network", "Pass", "Records", "logits"]

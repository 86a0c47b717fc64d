"""The FeLIF neuron layer: FeCap membranes trained with BRUNO.

Per network step of ``dt_s`` the state follows the **fine** forward (``n_inner`` steps of
the device equations, or a chip's trace) while the backward pass sees the Jacobian of one
**coarse** step (:func:`bruno_hil.physics.coarse_step`)::

    x_next = coarse(x_prev) + stop_grad(fine(x_prev) - coarse(x_prev))

The fine forward's values never depend on the coarse ones, so the whole fine trajectory is
computed first, without a graph, and the coarse steps then run from its states; the
backward graph holds ``T`` coarse steps only. ``nobruno`` uses the coarse step forward and
backward; ``bptt`` differentiates through every inner step (optionally checkpointed per
network step) with the Merz rate frozen in each step's backward pass, ``bptt_full`` with
its full derivative (the exact gradient of the fine forward).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from bruno_hil.devices.params import FECAP_VARIABLE_FIELDS, FeCapParams
from bruno_hil.physics.fecap import (
    DTYPE,
    FeCapTensors,
    FeLIFState,
    FineTrace,
    coarse_step,
    fine_trajectory,
)
from bruno_hil.physics.fine_kernel import FINE_KERNELS
from bruno_hil.physics.surrogate import SURROGATES
from bruno_hil.settings import FELIF_MODES, check_choice, check_cv, check_positive


class FeLIFLayer(nn.Module):
    """``n`` FeLIF neurons driven by input currents [A].

    ``variability_cv`` draws each neuron's :data:`FECAP_VARIABLE_FIELDS` once as
    ``p*(1 + cv*N(0,1))`` (kept in the ``device_factors`` buffer, so checkpoints carry
    them; :meth:`resample_variability` draws anew); ``cycle_cv`` adds cycle-to-cycle noise
    to the switching time of the fine forward (see :func:`fine_trajectory`);
    ``fine_kernel`` (:data:`FINE_KERNELS`) says whether that runs compiled or eager."""

    device_factors: torch.Tensor
    """[len(FECAP_VARIABLE_FIELDS), n]: each neuron's device-to-device factors."""

    def __init__(
        self,
        n: int,
        params: FeCapParams | None = None,
        mode: str = "bruno",
        dt_s: float = 1e-3,
        n_inner: int = 1000,
        surrogate_beta: float = 10.0,
        surrogate: str = "superspike",
        variability_cv: float = 0.0,
        cycle_cv: float = 0.0,
        checkpoint_steps: bool = False,
        fine_kernel: str = "auto",
    ) -> None:
        super().__init__()
        check_choice("network.mode", mode, FELIF_MODES)
        check_choice("surrogate", surrogate, sorted(SURROGATES))
        check_choice("network.fine_kernel", fine_kernel, FINE_KERNELS)
        check_positive("neurons n", n)
        check_positive("network.n_inner", n_inner)
        check_positive("data.dt_s", dt_s)
        check_positive("network.surrogate_beta", surrogate_beta)
        check_cv("network.variability_cv", variability_cv)
        check_cv("cycle_cv", cycle_cv)
        self.n = n
        self.params = params or FeCapParams()
        self.mode = mode
        self.dt_s = dt_s
        self.n_inner = n_inner
        self.surrogate_beta = surrogate_beta
        self.surrogate = surrogate
        self.variability_cv = variability_cv
        self.cycle_cv = cycle_cv
        self.checkpoint_steps = checkpoint_steps
        self.fine_kernel = fine_kernel
        self.register_buffer(
            "device_factors", torch.ones(len(FECAP_VARIABLE_FIELDS), n, dtype=DTYPE)
        )
        if variability_cv > 0:
            self.resample_variability()

    def resample_variability(self, generator: torch.Generator | None = None) -> None:
        """Draw every neuron's device-to-device factors anew (clamped to >= 0.1)."""
        noise = torch.randn(self.device_factors.shape, generator=generator, dtype=DTYPE)
        self.device_factors.copy_(torch.clamp(1.0 + self.variability_cv * noise, min=0.1))

    def devices(self) -> FeCapTensors:
        """The parameters of every neuron, as float64 tensors of shape [N]."""
        return FeCapTensors.from_params(
            self.params, self.device_factors, self.device_factors.device
        )

    def surrogate_fine(self, current_A: torch.Tensor) -> FineTrace:
        """The torch fine integrator's trace for input ``current_A`` [T, B, N] [A] from
        rest (no gradient): what the surrogate predicts a chip records."""
        d = self.devices()
        current = current_A.detach().to(DTYPE)
        state = FeLIFState.rest(d, tuple(current.shape[1:]))
        return fine_trajectory(
            state, current, self.dt_s, self.n_inner, d, self.cycle_cv, kernel=self.fine_kernel
        )

    def complete(self, observed: FineTrace, current_A: torch.Tensor) -> FineTrace:
        """A chip's trace for input ``current_A`` [T, B, N] [A] with what the chip did not
        observe (NaN: P on a neuron bench, every state of a failed sample) taken from this
        layer's own fine forward for the same currents, which runs only if something is
        missing."""
        missing = [x.isnan() for x in observed]
        if not any(bool(m.any()) for m in missing):
            return observed
        model = self.surrogate_fine(current_A)
        return FineTrace(
            *(torch.where(m, f.to(o), o) for o, f, m in zip(observed, model, missing, strict=True))
        )

    def forward(
        self, current_A: torch.Tensor, fine: FineTrace | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``current_A`` [T, B, N] -> (spikes [T, B, N], {"v_V", "p_C_per_m2"} traces).

        ``fine`` replaces the torch fine forward with an external one (a chip's trace);
        it needs mode ``bruno``."""
        if current_A.ndim != 3 or current_A.shape[2] != self.n:
            raise ValueError(
                f"FeLIF input: expected [T, B, {self.n}], got {tuple(current_A.shape)}"
            )
        if fine is not None and self.mode != "bruno":
            raise ValueError(
                f"an external fine forward (a chip) needs FeLIF mode 'bruno', not {self.mode!r}"
            )
        d = self.devices()
        current = current_A.to(DTYPE)
        state = FeLIFState.rest(d, tuple(current.shape[1:]))
        if self.mode in ("bptt", "bptt_full"):
            spikes, states = self._bptt(state, current, d)
        else:
            if self.mode == "bruno" and fine is None:
                fine = self.surrogate_fine(current)
            spikes, states = self._coarse(state, current, d, fine)
        v = torch.stack([s.v_V for s in states]).detach()
        p = torch.stack([s.p_C_per_m2 for s in states]).detach()
        return torch.stack(spikes).to(current_A.dtype), {"v_V": v, "p_C_per_m2": p}

    def _coarse(
        self, state: FeLIFState, current: torch.Tensor, d: FeCapTensors, fine: FineTrace | None
    ) -> tuple[list[torch.Tensor], list[FeLIFState]]:
        """Coarse steps, each pinned to the fine trace's values when one is given."""
        spikes, states = [], []
        # unbind, not current[t]: indexing would make the backward pass O(T^2)
        for t, current_t in enumerate(current.unbind(0)):
            s, state = coarse_step(
                state, current_t, self.dt_s, d, self.surrogate_beta, self.surrogate
            )
            if fine is not None:
                s = s + (fine.spikes[t].to(s) - s).detach()
                state = FeLIFState(
                    *(x + (f[t].to(x) - x).detach() for x, f in zip(state, fine[1:], strict=True))
                )
            spikes.append(s)
            states.append(state)
        return spikes, states

    def _bptt(
        self, state: FeLIFState, current: torch.Tensor, d: FeCapTensors
    ) -> tuple[list[torch.Tensor], list[FeLIFState]]:
        """Differentiate through all ``n_inner`` steps of every network step (the Merz
        rate's derivative kept in mode ``bptt_full`` only)."""
        h = self.dt_s / self.n_inner
        freeze_rate = self.mode == "bptt"

        def network_step(v: torch.Tensor, p: torch.Tensor, i: torch.Tensor):
            count, x = torch.zeros_like(v), FeLIFState(v, p)
            for _ in range(self.n_inner):
                s, x = coarse_step(x, i, h, d, self.surrogate_beta, self.surrogate, freeze_rate)
                count = count + s
            return count, x.v_V, x.p_C_per_m2

        spikes, states = [], []
        for current_t in current.unbind(0):
            if self.checkpoint_steps and torch.is_grad_enabled():
                count, v, p = checkpoint(network_step, *state, current_t, use_reentrant=False)
            else:
                count, v, p = network_step(*state, current_t)
            state = FeLIFState(v, p)
            spikes.append(count)
            states.append(state)
        return spikes, states

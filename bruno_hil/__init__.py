"""bruno_hil: hardware-in-the-loop training of neuromorphic circuits with a SPICE backend.

Layers (see ``../shared/DESIGN.md``):

* :mod:`bruno_hil.devices` -- device parameter sets with SI units (shared by every layer);
* :mod:`bruno_hil.spice` -- the ngspice runner (PySpice shared mode) and safe netlists;
* :mod:`bruno_hil.characterize` -- P-V / I-V testbenches and figure extraction;
* :mod:`bruno_hil.cli` -- the ``bruno-hil`` command.
"""

__version__ = "0.1.0"

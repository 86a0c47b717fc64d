"""Training of the FeLIF/LIF + RRAM network: config, network, trainer with resumable run
folders, plots.

The config is imported eagerly (it needs no torch layers); the trainer and network are
imported on first use, so configs can be read and checked without building the layers.
"""

from __future__ import annotations

import importlib
from typing import Any

from bruno_hil.training.config import ConfigError, RunConfig, load_config

_LAZY = {
    "BatchResult": "loop",
    "RunFolderError": "loop",
    "Trainer": "loop",
    "batch_loss": "loop",
    "build_dataset": "loop",
    "forward": "loop",
    "Network": "network",
}

__all__ = ["ConfigError", "RunConfig", "load_config", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"bruno_hil.training.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'bruno_hil.training' has no attribute {name!r}")

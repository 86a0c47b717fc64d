"""Helpers shared by the subcommands: the final JSON object and run folders."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from bruno_hil.folders import writable_folder


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays and paths made JSON types, non-finite floats
    None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    return value


def print_json(result: dict[str, Any]) -> None:
    """Print one JSON object (non-finite floats become null) as the last line of stdout."""
    print(json.dumps(jsonable(result), sort_keys=False), flush=True)


def ensure_out_dir(out: Path | None) -> Path | None:
    """The output folder, if one was asked for: created and checked writable (call it
    before the work, so a run cannot end with results it cannot write)."""
    return None if out is None else writable_folder(out)

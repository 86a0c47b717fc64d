"""Cost per point of a stepped sweep in the SCPI emulator, at the start and at the end.

A point-by-point sweep (``:SOUR:VOLT <v>`` then ``:READ?``, one command each, as a client
such as pymeasure's ``Keithley2400`` steps a source) that never returns to 0 V, through
pyvisa-py on 127.0.0.1 to an emulated 2400 with the ngspice RRAM cell as its load. The
emulator keeps the cell's state between readings, so each point simulates only its own
step: the time per point should not grow along the sweep (it once re-simulated the whole
path at every reading, 24 ms per point at the start and 316 ms at the end of 300 points).

Prints the median time per point over the first and the last ``--window`` points and the
total. Usage: ``python benchmarks/emulator_sweep.py [--points 300] [--window 30]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pyvisa

from bruno_hil.emulator import EmulatedSmu, ScpiServer


def stepped_sweep_times_s(n_points: int) -> list[float]:
    """Seconds per point of an ``n_points`` stepped sweep 0.01 V -> 1.2 V -> 0.01 V."""
    half = n_points // 2
    setpoints = np.concatenate(
        [np.linspace(0.01, 1.2, half), np.linspace(1.2, 0.01, n_points - half)]
    )
    times = []
    with ScpiServer(EmulatedSmu()) as server:
        rm = pyvisa.ResourceManager("@py")
        smu = rm.open_resource(
            server.resource, read_termination="\n", write_termination="\n", timeout=60_000
        )
        smu.write("*RST;:SENS:CURR:PROT 1e-4;:SOUR:DEL 0.01;:FORM:ELEM CURR;:OUTP ON")
        for v in setpoints:
            start = time.perf_counter()
            smu.write(f":SOUR:VOLT {v:.6f}")
            float(smu.query(":READ?"))
            times.append(time.perf_counter() - start)
        smu.write(":OUTP OFF")
        smu.close()
        rm.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--window", type=int, default=30)
    args = parser.parse_args()
    times = stepped_sweep_times_s(args.points)
    first = statistics.median(times[: args.window]) * 1e3
    last = statistics.median(times[-args.window :]) * 1e3
    print(f"stepped sweep of {args.points} points: {sum(times):.1f} s in all")
    print(f"  first {args.window} points: {first:.1f} ms per point (median)")
    print(f"  last {args.window} points:  {last:.1f} ms per point (median), x{last / first:.2f}")


if __name__ == "__main__":
    main()

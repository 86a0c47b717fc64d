"""``bruno-hil emulate``: serve an emulated instrument with an ngspice device under test.

``--device rram`` serves a Keithley 2400-class SMU with an RRAM cell (``--smu 2450``: a
2450), ``--device fecap``
a ferroelectric tester (waveform source + digitizer) with a FeCap, ``--device felif`` a
neuron tester (current-list source + spike counter) with a FeLIF neuron circuit (the
bench of ``train --chip visa://...``), on 127.0.0.1:``--port``
(raw SCPI socket, ``\\n`` termination; VISA resource ``TCPIP0::127.0.0.1::<port>::SOCKET``).
It prints the resource it serves and runs until Ctrl-C (or SIGTERM). ``--fault`` injects
faults (see :mod:`bruno_hil.emulator.faults`); ``--param`` sets the device's parameters;
``--watchdog`` switches the output off when the last connection drops; ``--scope-port``
(with ``--device fecap``) also serves an oscilloscope watching the tester, the AWG +
scope bench of :class:`bruno_hil.instruments.awg_scope.AwgScopeBench`.
With ``--json`` it prints a JSON object with the address when it starts and one with the
results (commands served, faults fired) last, when it stops.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer

from bruno_hil.cli import app
from bruno_hil.cli.output import print_json
from bruno_hil.emulator import DEVICES, SMUS, make_scope_server, make_server


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command("emulate")
def emulate(
    device: Annotated[
        str, typer.Option("--device", help=f"Device under test: {' | '.join(DEVICES)}.")
    ] = "rram",
    smu: Annotated[
        str,
        typer.Option(
            "--smu",
            help=f"SMU model in front of an rram cell: {' | '.join(SMUS)} (the 2450 speaks"
            " its own SCPI or, after *LANG SCPI2400, the 2400's).",
        ),
    ] = "2400",
    port: Annotated[
        int, typer.Option("--port", help="TCP port on 127.0.0.1 (0: a free port).", min=0)
    ] = 5025,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject a fault, KIND[:key=value,...] with KIND delay|drop|garble|error and"
            " keys on=HEADER, at=N, times=K, seconds=S, code=C (repeatable),"
            " e.g. --fault drop:on=:FETC?",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Device parameter name=value in SI units (repeatable)."),
    ] = None,
    scope_port: Annotated[
        int | None,
        typer.Option(
            "--scope-port",
            help="With --device fecap: also serve an oscilloscope watching the tester on"
            " this port (the AWG + scope bench; 0: a free port).",
            min=0,
        ),
    ] = None,
    watchdog: Annotated[
        bool,
        typer.Option("--watchdog", help="Switch the output off when the last connection drops."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON objects.")] = False,
) -> None:
    """Serve an emulated SMU (rram), ferroelectric tester (fecap) or neuron tester (felif)
    over SCPI on 127.0.0.1."""
    server = make_server(device, port, fault, param, smu, watchdog)
    scope = make_scope_server(server, scope_port) if scope_port is not None else None
    info = {
        "device": device,
        "resource": server.resource,
        "chip": f"visa://{server.resource}",
        "port": server.port,
        "faults": fault or [],
        **({"scope_resource": scope.resource} if scope else {}),
    }
    if as_json:
        print_json(info)
    else:
        typer.echo(f"emulating {device} on {server.resource} (--chip visa://{server.resource})")
        if scope:
            typer.echo(f"oscilloscope watching it on {scope.resource}")
        typer.echo("Ctrl-C stops")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if scope:
            scope.start()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
        if scope:
            scope.stop()
    result = {
        **info,
        "commands": server.faults.count,
        "faults_fired": [list(entry) for entry in server.faults.log],
    }
    if as_json:
        print_json(result)
    else:
        typer.echo(f"stopped after {result['commands']} commands")

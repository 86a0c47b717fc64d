"""The emulator's resource bounds over real sockets on 127.0.0.1: a connection cap, an
overlong message discarded (-363) while the server keeps serving, bounded error-queue
entries, and the watchdog that switches the output off when the link drops."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bruno_hil.emulator import EmulatedSmu, ScpiServer


def _connect(server: ScpiServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(5)
    return sock


def _ask(sock: socket.socket, message: str) -> str:
    sock.sendall((message + "\n").encode())
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        reply += chunk
    return reply.decode().strip()


@pytest.fixture
def small() -> Iterator[ScpiServer]:
    with ScpiServer(EmulatedSmu(), max_connections=2, max_line_bytes=1000) as server:
        yield server


def test_connections_beyond_the_cap_are_closed(small: ScpiServer) -> None:
    first, second = _connect(small), _connect(small)
    assert _ask(first, "*OPC?") == "1" and _ask(second, "*OPC?") == "1"
    third = _connect(small)
    with pytest.raises((ConnectionError, OSError)):
        _ask(third, "*OPC?")
    third.close()
    assert small.refused == 1
    first.close()
    for _ in range(100):  # the closed connection's thread ends, then a new one is served
        fourth = _connect(small)
        try:
            assert _ask(fourth, "*OPC?") == "1"
            break
        except (ConnectionError, OSError):
            fourth.close()
    else:
        pytest.fail("no connection served after one closed")
    fourth.close()
    second.close()


def test_an_overlong_message_is_discarded_and_serving_goes_on(small: ScpiServer) -> None:
    sock = _connect(small)
    sock.sendall(b":SOUR:LIST:VOLT " + b"0.1," * 2000 + b"0.1\n")  # 8 kB > 1000 bytes
    assert _ask(sock, ":SOUR:LIST:VOLT:POIN?;*OPC?") == "0;1"  # nothing of it was run
    error = _ask(sock, "SYST:ERR?")
    assert error.startswith("-363,") and len(error) < 200
    assert _ask(sock, "SYST:ERR?") == '0,"No error"'
    sock.close()


def test_error_entries_stay_bounded_whatever_is_sent(small: ScpiServer) -> None:
    sock = _connect(small)
    sock.sendall(b":" + b"X" * 900 + b" 1\n")  # an undefined header near the line limit
    sock.sendall(b":SOUR:VOLT " + b"9" * 900 + b"\n")  # a number of 900 digits
    errors = [_ask(sock, "SYST:ERR?") for _ in range(2)]
    assert [e.split(",")[0] for e in errors] == ["-113", "-104"]
    assert all(len(e) < 200 for e in errors)
    sock.close()


def test_watchdog_switches_the_output_off_when_the_link_drops() -> None:
    smu = EmulatedSmu()
    with ScpiServer(smu, watchdog=True) as server:
        sock = _connect(server)
        assert _ask(sock, ":SOUR:VOLT 0.2;:OUTP ON;:OUTP?") == "1"
        sock.close()  # the link drops with the output on
        for _ in range(200):
            if not smu.s.output:
                break
            probe = _connect(server)  # wait on the server, not on a clock
            _ask(probe, "*OPC?")
            probe.close()
        assert not smu.s.output
        assert smu.events[-1] == {"event": "output off"}
    unguarded = EmulatedSmu()
    with ScpiServer(unguarded) as server:  # without the watchdog the output stays on
        sock = _connect(server)
        _ask(sock, ":OUTP ON;*OPC?")
        sock.close()
        probe = _connect(server)
        assert _ask(probe, ":OUTP?") == "1"
        probe.close()

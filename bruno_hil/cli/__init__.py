"""The ``bruno-hil`` command line: ``characterize``, ``calibrate``, ``train``, ``emulate``.

Each subcommand lives in its own module and registers itself on :data:`app`. Every
subcommand takes ``--json`` and then prints one JSON object of its results as the last
thing on stdout.
"""

from __future__ import annotations

import errno
import importlib
import sys

import typer

from bruno_hil.errors import BrunoHilError

app = typer.Typer(
    name="bruno-hil",
    help="Hardware-in-the-loop training of FeCap/RRAM neuromorphic circuits (ngspice + BRUNO).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Hardware-in-the-loop training of FeCap/RRAM neuromorphic circuits (ngspice + BRUNO).

    (A callback keeps subcommand names required even while only one is registered.)"""


SUBCOMMAND_MODULES: tuple[str, ...] = ("characterize", "calibrate", "train", "emulate")
"""Modules of :mod:`bruno_hil.cli` that each add one subcommand to :data:`app`
(``calibrate`` and ``emulate`` join as they land)."""


WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
)
"""OS errors of a full, read-only or forbidden output (a clear line, not a traceback)."""


def _register_subcommands() -> None:
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"bruno_hil.cli.{name}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one clear line and exit status 2."""
    _register_subcommands()
    try:
        code = app(args=argv, standalone_mode=False)  # Ctrl-C comes back as 130
    except BrunoHilError as err:
        print(f"bruno-hil: error: {err}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except typer.Abort:
        print("bruno-hil: aborted", file=sys.stderr)
        sys.exit(130)
    except OSError as err:
        if err.errno not in WRITE_ERRNOS:
            raise
        where = err.filename or "the output"
        print(f"bruno-hil: error: cannot write {where}: {err.strerror}", file=sys.stderr)
        sys.exit(2)
    except Exception as err:  # click usage errors carry their own formatting
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
    if isinstance(code, int) and code:
        sys.exit(code)

"""The ``bruno-hil`` command line: ``characterize``, ``calibrate``, ``train``, ``emulate``.

Each subcommand lives in its own module and registers itself on :data:`app`. Every
subcommand takes ``--json`` and then prints one JSON object of its results as the last
thing on stdout.

:func:`main` turns every user error into one line on stderr and exit status 2: a usage
error (unknown command or option, a value of the wrong type or range) with a hint at the
command's ``--help``, a :class:`~bruno_hil.errors.BrunoHilError` with its message.
Ctrl-C exits with status 130. typer (pinned in ``pyproject.toml``) raises the exceptions of
the click it vendors, ``typer._click``, not those of the ``click`` package.
"""

from __future__ import annotations

import errno
import importlib
import sys

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from bruno_hil.errors import BrunoHilError

INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""

USAGE_ERROR = 2
"""Exit status of a usage or settings error."""

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
"""Modules of :mod:`bruno_hil.cli` that each add one subcommand to :data:`app`."""


WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
)
"""OS errors of a full, read-only or forbidden output (a clear line, not a traceback)."""


def _register_subcommands() -> None:
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"bruno_hil.cli.{name}")


def _command_path(argv: list[str]) -> str:
    """``bruno-hil`` and the (sub)command names that lead ``argv``."""
    command = typer.main.get_command(app)
    path = ["bruno-hil"]
    for word in argv:
        sub = command.commands.get(word) if isinstance(command, TyperGroup) else None
        if sub is None:
            break
        path.append(word)
        command = sub
    return " ".join(path)


def usage_message(err: UsageError, argv: list[str]) -> str:
    """``err`` as one line naming the command, and a second with the ``--help`` hint."""
    command = err.ctx.command_path if err.ctx is not None else _command_path(argv)
    return f"{command}: error: {err.format_message()}\nTry '{command} --help' for help."


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors become one clear line and exit status 2,
    Ctrl-C exit status 130."""
    _register_subcommands()
    argv = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=argv, prog_name="bruno-hil", standalone_mode=False)
    except NoArgsIsHelpError as err:  # a bare group: its help is the usage
        err.show()
        sys.exit(USAGE_ERROR)
    except UsageError as err:
        print(usage_message(err, argv), file=sys.stderr)
        sys.exit(USAGE_ERROR)
    except BrunoHilError as err:
        print(f"bruno-hil: error: {err}", file=sys.stderr)
        sys.exit(USAGE_ERROR)
    except typer.TyperException as err:  # e.g. a file option that cannot be opened
        print(f"bruno-hil: error: {err.format_message()}", file=sys.stderr)
        sys.exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("bruno-hil: interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except OSError as err:
        if err.errno not in WRITE_ERRNOS:
            raise
        where = err.filename or "the output"
        print(f"bruno-hil: error: cannot write {where}: {err.strerror}", file=sys.stderr)
        sys.exit(USAGE_ERROR)
    # typer returns the status of a typer.Exit (Ctrl-C inside a command: 130) in
    # non-standalone mode instead of raising it
    if isinstance(code, int) and code != 0:
        if code == INTERRUPTED:
            print("bruno-hil: interrupted", file=sys.stderr)
        sys.exit(code)

"""The root of bruno_hil's user-facing errors.

Every error a user can cause (bad input, a missing simulator, a failed simulation) derives
from :class:`BrunoHilError`; the CLI prints its message and exits with status 2, without a
traceback. Anything else is a bug and keeps its traceback.
"""


class BrunoHilError(Exception):
    """An error whose message is meant for the user: it names the file, field or value."""

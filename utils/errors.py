"""The expected errors of the programs: bad input a user can fix, and a diverged training run.

Each ends a program with one `error: <message>` line and an exit status (utils/commands.py); the message says
what is wrong and how to fix it. `data.DataError` (malformed data) is the fourth, kept in data/ so that the
data code needs nothing from utils/. No TensorFlow here: the plot scripts end through the same function.
"""
import os


class ConfigError(Exception):
    """A setting or command line that does not match the constants of main.py."""


class RunFolderError(Exception):
    """A folder that cannot be used as asked: not a run, not finished, already finished, unreadable."""


class TrainingDiverged(Exception):
    """The training loss or the model's outputs became NaN or infinite; says what was kept."""


def short_reason(error):
    """The line of an error's message that says what failed: a TensorFlow error's message also holds the
    graph's stack, too long for one `error:` line. The line naming a file (it has "; " and a path) is the one
    that tells, else the first line."""
    lines = [line.strip() for line in str(getattr(error, "message", None) or error).splitlines()]
    telling = [line for line in lines if "; " in line and os.sep in line]
    return (telling or [line for line in lines if line] or [type(error).__name__])[0]

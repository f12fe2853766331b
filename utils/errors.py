"""The expected errors of the programs: bad input a user can fix, and a diverged training run.

Each ends a program with one `error: <message>` line and an exit status (utils/commands.py); the message says
what is wrong and how to fix it. `data.DataError` (malformed data) is the fourth, kept in data/ so that the
data code needs nothing from utils/. No TensorFlow here: the plot scripts end through the same function.
"""


class ConfigError(Exception):
    """A setting or command line that does not match the constants of main.py."""


class RunFolderError(Exception):
    """A folder that cannot be used as asked: not a run, not finished, already finished, unreadable."""


class TrainingDiverged(Exception):
    """The training loss or the model's outputs became NaN or infinite; says what was kept."""

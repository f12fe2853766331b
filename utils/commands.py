"""What the command-line programs (main.py, evaluate.py, predict.py) share: how expected errors end them.

Bad input the user can fix (an unknown option, a malformed data file, a folder that is not a run) is one
`error: ...` line on stderr and exit status 2, never a traceback; a diverged training run is status 3.
"""
import sys

from data import DataError
from utils.config import ConfigError
from utils.run_files import RunFolderError

USER_ERRORS = (ConfigError, DataError, RunFolderError)
DIVERGED_STATUS = 3


def exit_status(body):
    """Runs `body()`; returns the program's exit status (0, or the status of an expected error)."""
    from utils.training import TrainingDiverged
    try:
        body()
    except USER_ERRORS as error:
        print("error: %s" % error, file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print("error: %s" % error, file=sys.stderr)
        return DIVERGED_STATUS
    return 0

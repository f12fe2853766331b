"""How every program (main.py, evaluate.py, predict.py, plots/, scripts/) ends on an expected error.

Bad input the user can fix (an unknown option, a malformed data file, a folder that is not a run, a file that
cannot be written) is one `error: ...` line on stderr and exit status 2, never a traceback; a diverged
training run is status 3. No TensorFlow here.
"""
import sys

from data import DataError
from utils.errors import ConfigError, RunFolderError, TrainingDiverged

USER_ERRORS = (ConfigError, DataError, RunFolderError)
USER_ERROR_STATUS = 2
DIVERGED_STATUS = 3


def exit_status(body, writing=None):
    """Runs `body()`; returns the program's exit status: the status of an expected error, else what `body`
    returned (None is 0; a body that runs many things may return its own status, e.g. 1 when some failed).

    `writing` names what the program writes: an OSError (a read-only or full disk) is then an expected error
    ("cannot write <writing>: ..."); without it an OSError is a bug and keeps its traceback.
    """
    try:
        status = body()
    except USER_ERRORS as error:
        return _fail(error, USER_ERROR_STATUS)
    except TrainingDiverged as error:
        return _fail(error, DIVERGED_STATUS)
    except OSError as error:
        if writing is None:
            raise
        return _fail("cannot write %s: %s" % (writing, error), USER_ERROR_STATUS)
    if status is None:
        return 0
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    raise TypeError("a program's body returns None or its exit status, got %r" % (status,))


def run_folder_program(argv, usage, body, writing):
    """The main() of a program whose first argument is a run folder (evaluate.py, predict.py, export.py).

    Prints `usage` and returns 2 when argv does not start with a folder; else runs body(run_dir, options) and
    returns its exit status (see `exit_status`).
    """
    if not argv or argv[0].startswith("-"):
        print(usage, file=sys.stderr)
        return USER_ERROR_STATUS
    return exit_status(lambda: body(argv[0], argv[1:]), writing=writing)


def _fail(message, status):
    print("error: %s" % message, file=sys.stderr)
    return status

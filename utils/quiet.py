"""TensorFlow without its start-up noise, and without Keras: every program calls quiet_tensorflow() before
anything imports TensorFlow (importing this module imports no TensorFlow).

Why the noise showed with TF_CPP_MIN_LOG_LEVEL=2, and what silences it:
- On a CPU where TensorFlow turns oneDNN on (by default on x86 CPUs with AVX-512 VNNI, AVX-512 BF16 or AMX;
  on any x86 CPU with TF_ENABLE_ONEDNN_OPTS=1), the first graph with an int32 op that oneDNN could take (DKT
  transposes its int32 skill indices) logs, once per process,
  "E0000 ... util.cc:131] oneDNN supports DT_INT32 only on platforms with AVX-512. Falling back to the
  default Eigen-based implementation if present." The op runs on Eigen, as it does everywhere else: nothing
  is wrong, but the line is logged at ERROR level, and level 2 hides INFO and WARNING only. Level 3 hides it.
  Level 3 hides TensorFlow's C++ log lines below FATAL; a C++ error that matters reaches Python as an
  exception (one `error:` line or a traceback), and a FATAL line is still printed. Set
  TF_CPP_MIN_LOG_LEVEL=0 in the environment to see every line: it is only set here when unset.
- While TensorFlow 2.x is imported, before its log reads the level, it prints "oneDNN custom operations are
  on ..." (whatever the level) and absl's "WARNING: All log messages before absl::InitializeLog() is called
  are written to STDERR". The import runs with the file descriptor of stderr captured; every captured line
  but those (START_UP_NOISE) is printed again once the import is done.
Python warnings (the warnings module) and TensorFlow's Python log are not touched: the programs set the
latter to ERROR themselves, as before.

Why Keras is left out: TensorFlow 2.16 and later import Keras 3 while they are imported (for tf.keras), and
Keras imports matplotlib, scikit-learn and more: about a third of the import's CPU time, paid by every
process (a run of main.py, each of the many runs of a study). Nothing here uses Keras
(tests/test_repo_hygiene.py). TF_USE_LEGACY_KERAS=1 sends tf.keras to the tf_keras package instead; where that
is not installed, TensorFlow's import goes on without it (it catches the ImportError) and only tf.keras
itself would fail. It is set only where tf_keras is absent and the environment does not set it; TensorFlow
1.x ignores it.
"""
import contextlib
import importlib.util
import os
import re
import sys
import tempfile

# Lines that TensorFlow prints while it is imported and that never concern a run.
START_UP_NOISE = (
    re.compile(r"oneDNN custom operations are on"),
    re.compile(r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
)


def quiet_tensorflow():
    """Sets TF_CPP_MIN_LOG_LEVEL to 3 unless the environment sets it, then imports TensorFlow with the lines
    of START_UP_NOISE dropped and without Keras (see the module docstring). Call it before anything imports
    TensorFlow."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if importlib.util.find_spec("tf_keras") is None:
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if "tensorflow" in sys.modules:  # imported already: its start-up lines are printed
        return
    with stderr_without(START_UP_NOISE):
        import tensorflow.compat.v1  # noqa: F401  (the import is what prints)


@contextlib.contextmanager
def stderr_without(noise):
    """Runs the body with file descriptor 2 (what C++ code writes to) in a temporary file, then writes what
    was written there to sys.stderr, less the lines that match a pattern of `noise`."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no stderr to capture (closed, or not a file)
        yield
        return
    with tempfile.TemporaryFile() as captured:
        try:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
        finally:
            os.close(saved)
        captured.seek(0)
        lines = captured.read().decode("utf-8", "replace").splitlines(True)
    kept = "".join(line for line in lines if not any(pattern.search(line) for pattern in noise))
    if kept:
        sys.stderr.write(kept)
        sys.stderr.flush()

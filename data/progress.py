"""Progress bars for long work (loading a big log, training, scoring): on a terminal only. No TensorFlow.

    for item in progress(items, "reading KT1", unit="file"):   # or progress(total=n, ...) and .update(k)
        ...

A bar shows done / total, the rate and the time left (tqdm), on stderr, and only when stderr is a terminal:
logs that are files or pipes (CI, nohup, Ray workers, pytest's capture) stay free of carriage-return noise.
Every bar of the project (training steps, each epoch's scoring, reading EdNet) comes from here, so that rule
has one home.
"""
import sys

from tqdm import tqdm


def shows_progress(stream):
    """True when `stream` is a terminal (isatty); False for files, pipes, closed or fake streams."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed file
        return False


def no_progress():
    """A bar that shows nothing: for a function that updates a bar when its caller has none to give."""
    return tqdm(disable=True)


def progress(iterable=None, description="", total=None, unit="it", stream=None):
    """A tqdm over `iterable` (or a manual one of `total` units), silent unless `stream` is a terminal.

    stream defaults to sys.stderr as it is at the call (pytest and Ray replace it). The bar is removed when
    it closes (leave=False): what stays on the screen is the log lines that say what happened.
    """
    stream = sys.stderr if stream is None else stream
    return tqdm(iterable, desc=description, total=total, unit=unit, file=stream,
                disable=not shows_progress(stream), leave=False, mininterval=0.2, smoothing=0.1)

"""Whether a process has ended, for the tests of what must stop by itself (a killed parent's children,
a stopped program's group). Reads /proc: Linux only."""
import time


def alive(pid):
    """Whether `pid` is a process that has not ended (an ended one waits as a zombie until it is reaped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def still_running_after(pids, seconds):
    """Waits up to `seconds` for every process of `pids` to end; the ones still running then."""
    deadline = time.time() + seconds
    while time.time() < deadline and any(map(alive, pids)):
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]

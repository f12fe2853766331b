"""A many-runs driver on a real local Ray, ended by SIGTERM or Ctrl-C (SIGINT) while it waits for a run,
stops at once and leaves no Ray process and no folder of its own."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray")

from experiments import ray_driver  # noqa: E402

# Waits for a run that lasts two minutes, as a driver waits for main.py.
DRIVER = """import sys, time
sys.path.insert(0, sys.argv[1])
from experiments import ray_driver


def a_long_run(spec):
    time.sleep(120)
    return spec


try:
    with ray_driver.ray_session("", 1, 1, print) as ray:
        print("up", ray.get(ray.remote(lambda: 1).remote()), flush=True)
        ray_driver.run_tasks(ray, a_long_run, [{"run": 1}], 1, lambda spec, result: None)
except KeyboardInterrupt:  # as the scripts end on Ctrl-C or SIGTERM
    print("interrupted", flush=True)
    sys.exit(130)
"""


def folders_of_driver(pid):
    """The Ray folders whose driver file names process `pid`."""
    top = ray_driver.drivers_folder()
    found = []
    for name in os.listdir(top) if os.path.isdir(top) else []:
        try:
            with open(os.path.join(top, name, ray_driver.DRIVER_FILE)) as f:
                if json.load(f)["pid"] == pid:
                    found.append(os.path.join(top, name))
        except (OSError, ValueError, KeyError):
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds processes through /proc")
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_driver_ended_while_it_waits_stops_at_once_and_leaves_no_ray_process_and_no_folder(signal_number):
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Ctrl-C as at a terminal: a process started in the background by a shell inherits SIGINT ignored
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, repo], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        while "up" not in driver.stdout.readline():
            assert driver.poll() is None, "the driver ended before Ray was up"
        folders = folders_of_driver(driver.pid)
        assert len(folders) == 1 and ray_driver.processes_using(folders[0])  # Ray runs in the driver's folder
        time.sleep(3)  # the run has started: the driver waits for it
        driver.send_signal(signal_number)
        out, err = driver.communicate(timeout=60)  # well before the run would end
    finally:
        if driver.poll() is None:
            driver.kill()
    assert ray_driver.processes_using(folders[0]) == [] and not os.path.exists(folders[0])
    # the scripts' own ending (one line, status 130), not Ray's crash handler (a stack trace, then an abort)
    assert driver.returncode == 130 and "interrupted" in out, (driver.returncode, err[-2000:])
    assert "received" not in err and "Aborted" not in err, err[-2000:]

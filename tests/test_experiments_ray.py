"""A many-runs driver on a real local Ray, ended by SIGTERM or Ctrl-C (SIGINT) while it waits for its runs, or
losing its Ray under it, stops at once with one line and leaves no Ray process and no folder of its own."""
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray")

from experiments import ray_driver  # noqa: E402
from ray_helpers import folders_of_driver, program_name  # noqa: E402

# Waits for two runs that last two minutes each, as a driver waits for main.py, and ends as the scripts end
# (script_status).
DRIVER = """import sys, time
sys.path.insert(0, sys.argv[1])
from experiments import ray_driver


def a_long_run(spec):
    time.sleep(120)
    return spec


def body():
    with ray_driver.ray_session("", 2, 1, print) as ray:
        print("up", ray.get(ray.remote(lambda: 1).remote()), flush=True)
        ray_driver.run_tasks(ray, a_long_run, [{"run": 1, "home": "."}, {"run": 2, "home": "."}], 1,
                             lambda spec, result: print("result", result, flush=True))


sys.exit(ray_driver.script_status(body))
"""


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
        time.sleep(3)  # the runs have started: the driver waits for them
        driver.send_signal(signal_number)
        out, err = driver.communicate(timeout=60)  # well before the run would end
    finally:
        if driver.poll() is None:
            driver.kill()
    assert ray_driver.processes_using(folders[0]) == [] and not os.path.exists(folders[0])
    # the scripts' own ending (one line, status 130), not Ray's crash handler (a stack trace, then an abort)
    assert driver.returncode == 130 and "interrupted: " + ray_driver.CONTINUES in err.splitlines(), (
        driver.returncode, err[-2000:])
    assert "result" not in out
    assert "received" not in err and "Aborted" not in err, err[-2000:]



@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds processes through /proc")
def test_ray_lost_under_a_driver_ends_it_with_one_line_and_no_run_taken_as_failed():
    """The local Ray's raylet killed while two runs wait: Ray itself is gone, not a run; the command stops (a
    study would otherwise go on to choose among the runs that are left), says that the same command
    continues, and leaves no Ray process and no folder."""
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, repo], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
    try:
        while "up" not in driver.stdout.readline():
            assert driver.poll() is None, "the driver ended before Ray was up"
        folder = folders_of_driver(driver.pid)[0]
        time.sleep(3)  # both runs have started: the driver waits for them
        # the node's raylet and the runs' workers, as `ray stop` run beside the driver kills them (its GCS is
        # left: the driver's own end when the GCS goes is Ray's, after a minute, and no run's either)
        lost = [pid for pid in ray_driver.processes_using(folder)
                if program_name(pid) in ("raylet", "ray::a_long_run")]
        assert len(lost) == 3, [program_name(pid) for pid in ray_driver.processes_using(folder)]
        ray_driver.stop_processes(lost)
        out, err = driver.communicate(timeout=90)  # well before the runs would end
    finally:
        if driver.poll() is None:
            driver.kill()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert driver.returncode == 1 and len(errors) == 1, (driver.returncode, err[-3000:])
    said = errors[0]
    assert said.startswith("error: Ray stopped under this command (") and ray_driver.CONTINUES in said, said
    assert "result" not in out and "Traceback" not in err, (out, err[-3000:])
    assert ray_driver.processes_using(folder) == [] and not os.path.exists(folder)

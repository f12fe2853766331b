"""What the tests of scripts/reproduce.py, scripts/tune.py and scripts/study.py share: tiny three-line data, a
Ray head on loopback that stops by itself, and running a script as a user does."""
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np

from experiments import ray_driver

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Ray stays on 127.0.0.1 and sends no usage statistics, in the head and in every script the tests start.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
SCRIPT_TIMEOUT = 240


def write_three_line(folder, name, sizes=(60, 20, 20), seed=0, parts=("train1", "valid1", "test")):
    """<folder>/<name>_<part>.csv for each part: `size` students of 3-30 answers on 10 skills."""
    rng = np.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    for part, n_students in zip(parts, sizes):
        lines = []
        for _ in range(n_students):
            length = rng.randint(3, 30)
            skills = rng.randint(1, 11, size=length)
            answers = (rng.rand(length) < 0.3 + 0.05 * skills).astype(int)
            lines += [str(length), ",".join(map(str, skills)), ",".join(map(str, answers))]
        with open(os.path.join(folder, "%s_%s.csv" % (name, part)), "w") as f:
            f.write("\n".join(lines) + "\n")
    return folder


def run_script(script, args, cwd, timeout=SCRIPT_TIMEOUT):
    """Runs `python scripts/<script> args...` in `cwd` (where relative paths point) as a user would."""
    env = dict(os.environ, **RAY_ENV)
    return subprocess.run([sys.executable, os.path.join(REPO, "scripts", script)] + list(args), cwd=str(cwd),
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout)


_SCRIPTS = {}


def script_module(script):
    """scripts/<script> loaded as a module (once), as the tests load main.py."""
    if script not in _SCRIPTS:
        spec = importlib.util.spec_from_file_location("script_" + script[:-len(".py")],
                                                      os.path.join(REPO, "scripts", script))
        _SCRIPTS[script] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_SCRIPTS[script])
    return _SCRIPTS[script]


def run_here(script, args, cwd, capsys, monkeypatch):
    """scripts/<script>'s main(args) in this process, in `cwd`; returns what run_script returns. For bad
    input, which a script refuses before it starts anything: the same exit status and error line without an
    interpreter's start and the script's imports. Each script's tests still run some bad input as a user
    does, with run_script."""
    monkeypatch.chdir(str(cwd))
    capsys.readouterr()
    try:
        status = script_module(script).main(list(args))
    except SystemExit as stop:  # argparse's usage errors
        status = stop.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess([script] + list(args), status, out, err)


def error_lines(completed):
    return [line for line in completed.stderr.splitlines() if line.startswith("error:")]


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


def program_name(pid):
    """The name of the program that process `pid` runs ("" when it is gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return os.path.basename(f.read().split(b"\0")[0].decode())
    except OSError:
        return ""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the Ray head exited with status %d" % process.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the Ray head did not listen on 127.0.0.1:%d within %d s" % (port, seconds))


class RayHead(object):
    """`ray start --head --block` on 127.0.0.1 with `cpus` CPUs, as a user starts one by hand; `stop()` ends
    it (SIGTERM to the head's own process group, SIGKILL if it lingers)."""

    def __init__(self, log_path, cpus=2, start_seconds=90):
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        ray = os.path.join(os.path.dirname(sys.executable), "ray")
        self.log = open(str(log_path), "w")
        self.process = subprocess.Popen(
            [ray, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
             "--num-cpus", str(cpus), "--include-dashboard", "false", "--disable-usage-stats"],
            env=dict(os.environ, **RAY_ENV), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            wait_for_port(self.port, self.process, start_seconds)
        except RuntimeError:
            self.stop()
            raise

    def stop(self):
        """SIGTERM to the head (it stops what it started), then SIGKILL to its process group if it lingers."""
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass  # the group is gone: the usual case
        self.process.wait(timeout=10)
        self.log.close()

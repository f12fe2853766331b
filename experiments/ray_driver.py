"""The Ray driver of many runs: Ray's connection, the loop that sends runs as tasks and takes their
results, and the clean-up of what a driver leaves behind.

Ray is imported by the caller (scripts/), never at this module's import, so that bad input is found and
reported before Ray loads. A local Ray listens on 127.0.0.1 only and runs with a temporary folder that this
module makes and records (one per driver, under the system's temporary folder). When the driver ends
(normally, by an error, Ctrl-C or SIGTERM), Ray is shut down and every process that still uses that folder
is stopped. A driver killed with SIGKILL cannot clean up: the next driver finds its folder, sees that its
process is gone, and stops the processes that use that folder (Ray's DashboardAgent and RuntimeEnvAgent
ignore SIGTERM). A process is ours only when its command line or one of its open files is inside such a
folder, so another user's (or another tool's) Ray is never touched. No TensorFlow.
"""
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time

from experiments.runs import REPO
from utils.commands import exit_status
from utils.errors import ConfigError

DRIVER_FILE = "driver.json"  # in a driver's Ray folder: the driver's process id and start time
CONTINUES = "every finished run is recorded; the same command continues"
# Ray's errors that say Ray itself is gone (not that one run failed): every task still waiting gets the same
RAY_GONE = ("LocalRayletDiedError", "NodeDiedError", "RaySystemError")


class RayLost(Exception):
    """Ray itself went away under the command (its raylet or its node died), not one run. The command stops:
    every run still waiting would fail the same way, and a choice made on the runs that are left would be made
    on what the failure left."""


def script_status(body, writing=None):
    """utils.commands.exit_status for a script that runs its runs on Ray: besides the expected errors, Ctrl-C
    or SIGTERM (status 130; Ray is already shut down by ray_session) and Ray lost under the command (status 1)
    end it with one line saying that the same command continues."""
    try:
        return exit_status(body, writing=writing)
    except KeyboardInterrupt:
        print("interrupted: " + CONTINUES, file=sys.stderr)
        return 130
    except RayLost as error:
        print("error: Ray stopped under this command (%s): %s" % (error, CONTINUES), file=sys.stderr)
        return 1


def ray_environment():
    """Keeps Ray on this machine's loopback unless told otherwise, and sends no usage statistics."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def check_address(address, timeout=5.0):
    """Raises ConfigError unless something listens at HOST:PORT (a Ray head's GCS port)."""
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError("--address takes HOST:PORT of a Ray head (e.g. 127.0.0.1:6379), got %r" % address)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ConfigError("nothing answers at %s (%s): start the head first (`ray start --head --port %s`) "
                          "or leave out --address for a local Ray" % (address, error, port))
    return host


def repo_python_path():
    """PYTHONPATH with the repository first: what the workers need to find experiments/ and utils/."""
    return os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH", "")) if p)


def ray_init_options(address, num_cpus, temp_dir=None):
    """ray.init's keyword arguments: a local Ray on 127.0.0.1 (its files in `temp_dir`), or the cluster at
    `address` (checked first).

    A cluster's workers get the repository on their PYTHONPATH through a runtime_env (its machines need the
    repository at the same path). A local Ray's workers inherit the driver's environment, where ray_session
    puts it: a runtime_env would cost every fresh worker about a second of its agent's work."""
    if not address:
        options = {"address": "local", "num_cpus": num_cpus, "include_dashboard": False,
                   "_node_ip_address": "127.0.0.1", "log_to_driver": False}
        if temp_dir:
            options["_temp_dir"] = temp_dir
        return options
    host = check_address(address)
    options = {"address": address, "log_to_driver": False,
               "runtime_env": {"env_vars": {"PYTHONPATH": repo_python_path()}}}
    if host in ("localhost", "127.0.0.1") or host.startswith("127."):
        options["_node_ip_address"] = "127.0.0.1"
    token = os.path.join(os.path.expanduser("~"), ".ray", "auth_token")
    if os.path.isfile(token) or os.environ.get("RAY_AUTH_TOKEN"):
        os.environ.setdefault("RAY_AUTH_MODE", "token")  # a Ray >= 2.60 head asks for its token
    return options


def connect(ray, options, cpus_per_run, log):
    """ray.init with `options` (ray_init_options), unless Ray is already up in this process; checks that one
    node can take a run of `cpus_per_run` CPUs. `ray` is the module, imported by the script (not here).
    Returns whether this call started the connection (then the script shuts it down)."""
    if ray.is_initialized():
        return False
    try:
        ray.init(**options)
    except ConnectionError as error:
        raise ConfigError("cannot join the Ray cluster at %s (%s); a Ray >= 2.60 head asks for its token: "
                          "set RAY_AUTH_MODE=token and copy the head's ~/.ray/auth_token to this machine"
                          % (options.get("address"), error))
    cpus = max([node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")] or [0])
    if cpus < cpus_per_run:
        ray.shutdown()
        raise ConfigError("--cpus_per_run %d: no Ray node has that many CPUs (the largest has %d)"
                          % (cpus_per_run, cpus))
    log("Ray: %s, %d CPUs in all; %d CPU(s) per run" % (
        "local (127.0.0.1)" if options.get("address") == "local" else "cluster at " + options["address"],
        ray.cluster_resources().get("CPU", 0), cpus_per_run))
    return True


# --- what a driver leaves behind ----------------------------------------------------------------------------

def drivers_folder():
    """The folder of this user's drivers' Ray folders (short: Ray's socket paths must stay short)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), "kt-ray-%d" % uid)


def process_start(pid):
    """The start time of process `pid` (clock ticks since boot, /proc/<pid>/stat), or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def uses_folder(pid, folder):
    """True when process `pid`'s command line or one of its open files is inside `folder`."""
    prefix = folder.rstrip(os.sep) + os.sep
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if prefix.encode() in f.read():
                return True
        fds = "/proc/%d/fd" % pid
        for name in os.listdir(fds):
            try:
                if os.readlink(os.path.join(fds, name)).startswith(prefix):
                    return True
            except OSError:
                continue
    except OSError:
        return False
    return False


def processes_using(folder):
    """The processes (other than this one) whose command line or open files are inside `folder`."""
    if not os.path.isdir("/proc"):
        return []
    me = os.getpid()
    return [int(name) for name in os.listdir("/proc")
            if name.isdigit() and int(name) != me and uses_folder(int(name), folder)]


def stop_processes(pids, grace_seconds=3.0):
    """SIGTERM, then SIGKILL to those still there after `grace_seconds`; returns how many were stopped."""
    starts = dict((pid, process_start(pid)) for pid in pids)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.time() + grace_seconds
    alive = lambda: [p for p in pids if starts[p] is not None and process_start(p) == starts[p]]
    while alive() and time.time() < deadline:
        time.sleep(0.1)
    for pid in alive():  # e.g. ray::DashboardAgent and ray::RuntimeEnvAgent ignore SIGTERM
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return len([pid for pid in pids if starts[pid] is not None])


def clean_folder(folder):
    """Stops what still uses a driver's Ray folder and removes the folder; returns how many processes."""
    stopped = stop_processes(processes_using(folder))
    shutil.rmtree(folder, ignore_errors=True)
    return stopped


def driver_alive(folder):
    """True when the driver that made `folder` still runs (same process id and start time)."""
    try:
        with open(os.path.join(folder, DRIVER_FILE)) as f:
            driver = json.load(f)
        return process_start(int(driver["pid"])) == driver["start"]
    except (OSError, ValueError, KeyError, TypeError):
        # no driver file yet: a driver between making the folder and writing it, unless the folder is old
        return time.time() - os.path.getmtime(folder) < 60 if os.path.isdir(folder) else False


def clean_left_behind(log):
    """Stops the processes left by drivers of this repository that were killed, found by their folders."""
    top = drivers_folder()
    if not os.path.isdir(top):
        return
    for name in sorted(os.listdir(top)):
        folder = os.path.join(top, name)
        if os.path.isdir(folder) and not driver_alive(folder):
            stopped = clean_folder(folder)
            if stopped:
                log("stopped %d Ray process(es) left by a driver that was killed (%s)" % (stopped, folder))


def new_driver_folder():
    """A fresh Ray folder for this driver, with its driver file."""
    top = drivers_folder()
    os.makedirs(top, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="d", dir=top)
    with open(os.path.join(folder, DRIVER_FILE), "w") as f:
        json.dump({"pid": os.getpid(), "start": process_start(os.getpid())}, f)
    return folder


def local_token():
    """A local Ray asks for a token (Ray >= 2.60): one of this driver's own, given to Ray's processes through
    the environment, so that Ray writes none to ~/.ray/auth_token (a file that would outlive the driver and
    change how later drivers join a head)."""
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)


def raise_on_sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def require_ray(script):
    """ConfigError when Ray is not installed (checked without importing it)."""
    import importlib.util
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("%s needs Ray: pip install 'ray[tune]' (it is in requirements-test.txt, which "
                          "scripts/venv.sh installs)" % script)


@contextlib.contextmanager
def ray_session(address, num_cpus, cpus_per_run, log, script="this script"):
    """Ray for the duration of the block (yields the ray module): a local Ray on 127.0.0.1 (or the cluster
    at `address`), shut down at the end whatever ends the block (SIGTERM included), with whatever still uses
    its folder stopped. Stops first what killed drivers of this repository left. Ray is imported here, after
    its environment is set (Ray reads it on import)."""
    require_ray(script)
    if address:
        check_address(address)
    ray_environment()
    folder = None
    saved = dict((name, os.environ.get(name)) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN",
                                                           "RAY_AUTH_TOKEN_PATH", "PYTHONPATH"))
    if not address:
        clean_left_behind(log)
        folder = new_driver_folder()
        local_token()
        os.environ["PYTHONPATH"] = repo_python_path()  # the local Ray's processes start with this environment
    previous = signal.signal(signal.SIGTERM, raise_on_sigterm)
    started, ray = False, None
    try:
        options = ray_init_options(address, num_cpus, folder)  # sets RAY_AUTH_MODE for a head's token
        import ray  # after every variable it reads on import is set
        started = connect(ray, options, cpus_per_run, log)
        # Ray's core worker, made by connect(), takes SIGTERM for its crash handler (a C++ stack trace, then
        # an abort once Ray is shut down): SIGTERM is how a long study is stopped, so it is ours again.
        signal.signal(signal.SIGTERM, raise_on_sigterm)
        yield ray
    finally:
        try:
            if started:
                ray.shutdown()
        finally:
            if folder:
                clean_folder(folder)
            signal.signal(signal.SIGTERM, previous)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


# --- the runs as Ray tasks ----------------------------------------------------------------------------------

def run_tasks(ray, function, specs, cpus_per_run, on_result):
    """Sends function(spec) for every spec as one Ray task (`cpus_per_run` CPUs) and calls
    on_result(spec, result) as each ends; a task whose worker died gives a failure result, a task that Ray
    itself lost (RAY_GONE) raises RayLost. on_result may raise to stop: the tasks still waiting are then
    cancelled.

    Workers are reused from one run to the next: a run is a main.py process of its own, so a worker keeps
    nothing of it, and a fresh worker per run (Python, Ray and this package imported again) made the smoke
    study a fifth slower."""
    task = ray.remote(num_cpus=cpus_per_run)(function)
    waiting = dict((task.remote(spec), spec) for spec in specs)
    try:
        while waiting:
            done, _ = ray.wait(list(waiting), num_returns=1)
            spec = waiting.pop(done[0])
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayError as error:  # the run's worker died (e.g. out of memory), or Ray
                reason = (str(error).strip().splitlines() or ["task failed"])[0]
                if isinstance(error, tuple(getattr(ray.exceptions, name) for name in RAY_GONE
                                           if hasattr(ray.exceptions, name))):
                    raise RayLost(reason)
                result = dict(spec, failed=True, exit_status=None, log=os.path.join(spec["home"], "main.log"),
                              log_tail="", run_dir=None, error="Ray: %s" % reason)
            on_result(spec, result)
    finally:
        for ref in waiting:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


def bad_input(result):
    """A run that ended on bad input before making its run folder (exit 2): its `error:` line, else None."""
    if result.get("exit_status") != 2 or result.get("run_dir") is not None:
        return None
    errors = [line for line in result.get("log_tail", "").splitlines() if line.startswith("error:")]
    return errors[-1][len("error:"):].strip() if errors else None

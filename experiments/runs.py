"""One run of main.py as a program, its home folder, its record: what every driver of many runs shares.

A run has a key: data set, model, fold, seed and the hash of its settings (every override, epochs included;
not the paths, not the threads). Its home folder (by default `<runs_dir>/reproduce/<data set>/<key>/`) is
fixed by the key, so a killed attempt is found again and resumed (`main.py --resume`), and a finished run
folder is never run twice. Its record, `<out>/runs/<group>/<key>.json`, is written atomically when the run
ends; tables are rendered from the records, so sittings, machines and people merge without conflict. A record
that cannot be read, or that holds another run, does not count as done: its run is run (or found) again.

Two drivers given the same run at once: the one that holds the home's lock runs it, the other waits for it
and then finds it finished. No Ray here (the Ray driver is experiments/ray_driver.py), no TensorFlow.
"""
import contextlib
import glob
import os
import platform
import shlex
import signal
import subprocess
import sys
import time

from experiments.settings import settings_argv, settings_hash
from utils import run_files
from utils.errors import RunFolderError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN_PY = "main.py"
LOG_TAIL_LINES = 15
HOME_LOCK = ".driver.lock"  # in a run's home: held by the driver's task that runs it


def run_key(model, fold, seed, digest):
    return "%s-f%d-s%d-%s" % (model, fold, seed, digest)


def run_spec(dataset, model, fold, seed, settings, dataset_dir, runs_dir, threads, smoke=False, home=None,
             group=None, data_fold=None):
    """What one run needs, JSON-able: sent to the worker that runs it. Paths are relative to `workdir`.
    `home` is the folder of the run's home folders (default <runs_dir>/reproduce/<data set>); `group` the
    folder of its record under <out>/runs/ (default the data set). `data_fold`: the fold main.py runs where
    it is not the run's `fold` (a study whose folds are data versions runs each version's fold 1)."""
    digest = settings_hash(settings)
    key = run_key(model, fold, seed, digest)
    homes = home or os.path.join(runs_dir, "reproduce", dataset)
    spec = {"dataset": dataset, "model": model, "fold": fold, "seed": seed, "settings": settings,
            "settings_hash": digest, "key": key, "dataset_dir": dataset_dir, "threads": threads,
            "smoke": smoke, "home": os.path.join(homes, key), "group": group or dataset,
            "repo": REPO, "workdir": os.getcwd()}
    if data_fold is not None:
        spec["data_fold"] = data_fold
    return spec


def main_fold(spec_or_record):
    """The fold main.py runs (or ran) for a spec or record."""
    return spec_or_record.get("data_fold") or spec_or_record["fold"]


def run_folders(home):
    """Run folders main.py made in `home`, oldest first."""
    return sorted(path for path in glob.glob(os.path.join(glob.escape(home), "*"))
                  if run_files.is_run_folder(path))


def finished_folder(home):
    done = [path for path in run_folders(home) if run_files.is_finished(path)]
    return done[-1] if done else None


def resumable_folder(home):
    """The newest unfinished run folder with at least one finished epoch (state.json), or None."""
    for path in reversed(run_folders(home)):
        if not run_files.is_finished(path) and run_files.finished_epochs(path) >= 1:
            return path
    return None


def main_argv(spec, resume=None):
    """main.py's argv for the run (without the interpreter), with the paths as the user gave them; a spec
    with "pause_after" (a search's rung) ends the sitting after that epoch."""
    pause = ["--pause_after_epoch", str(spec["pause_after"])] if spec.get("pause_after") else []
    if resume:
        return [MAIN_PY, "--resume", resume] + pause
    return ([MAIN_PY, "--dataset", spec["dataset"], "--model", spec["model"], "--fold", str(main_fold(spec)),
             "--seed", str(spec["seed"]), "--dataset_dir", spec["dataset_dir"],
             "--threads", str(spec["threads"]), "--runs_dir", spec["home"]]
            + settings_argv(spec["settings"]) + spec.get("extra_argv", []) + pause)


def paused_at(spec, home):
    """The unfinished run folder in `home` that has reached the spec's pause (its "pause_after" epoch),
    or None (no pause asked, or no folder that far)."""
    folder = resumable_folder(home) if spec.get("pause_after") else None
    if folder is not None and run_files.finished_epochs(folder) >= spec["pause_after"]:
        return folder
    return None


def paused_folder(spec):
    """The spec's run folder when it waits at the spec's pause already (see paused_at), else None."""
    return paused_at(spec, os.path.join(spec["workdir"], spec["home"]))


def best_valid_auc(run_dir, up_to_epoch=None):
    """The best validation AUC in a run folder's epochs.csv (up to `up_to_epoch`), or None before any."""
    epochs = run_files.read_epochs(run_dir)
    if up_to_epoch is not None:
        epochs = epochs[epochs["epoch"] <= up_to_epoch]
    values = epochs["valid_auc"].dropna() if "valid_auc" in epochs else []
    return float(values.max()) if len(values) else None


def die_with_parent():
    """In the child, before exec: on Linux, SIGTERM when the worker that started it dies (best effort)."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_program(argv, spec, log_path):
    """Starts main.py (or evaluate.py) with `argv` in the run's working folder, in its own process group (so
    that it can be ended whole), output appended to `log_path`. argv[0] is the program, found in the
    repository."""
    log = open(log_path, "a")
    log.write("\n=== %s: python %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                          " ".join(shlex.quote(a) for a in argv)))
    log.flush()
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # main.py quiets TensorFlow itself (utils/quiet.py)
    preexec = die_with_parent if sys.platform.startswith("linux") else None
    program = [sys.executable, os.path.join(spec["repo"], argv[0])] + argv[1:]
    try:
        return subprocess.Popen(program, cwd=spec["workdir"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=preexec)
    finally:
        log.close()


def run_program(argv, spec, log_path):
    """start_program, waited for; its exit status. A cancelled task ends the program too (no orphan)."""
    process = start_program(argv, spec, log_path)
    try:
        return process.wait()
    finally:
        stop_program(process)


def stop_program(process, grace_seconds=10):
    """Ends the run's whole process group: SIGTERM, then SIGKILL after `grace_seconds`."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except OSError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def seconds_per_epoch(run_dir):
    rows = run_files.read_epoch_rows(run_dir)
    if not rows:
        return None, None
    total = [(r.get("train_seconds") or 0) + (r.get("eval_seconds") or 0) for r in rows]
    return sum(total) / len(total), sum(r.get("train_seconds") or 0 for r in rows) / len(rows)


def hardware():
    """The CPU model and the cores visible, e.g. 'AMD EPYC, 2 cores visible'."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.check_output(["lscpu"], universal_newlines=True).splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return "%s, %d cores visible" % (cpu, os.cpu_count() or 0)


def identity_of(spec):
    """What a record says of the run it records: its data set, model, fold, seed, settings and key."""
    identity = dict((k, spec.get(k)) for k in ("dataset", "model", "fold", "seed", "settings",
                                               "settings_hash", "key", "dataset_dir", "threads", "smoke",
                                               "group"))
    if "data_fold" in spec:
        identity["data_fold"] = spec["data_fold"]
    return identity


def run_and_record(spec):
    """Runs (or resumes, or finds finished) the run of `spec`; returns its record, a pause (a spec with
    "pause_after": the run stopped unfinished at that epoch, "paused" true, no record) or a failure; never
    raises.

    The record: identity, settings and their hash, the run folder, summary.json as it is, config.json's
    constants and versions, seconds, the command (paths as given) and the hardware. A failure: the exit
    status and the last lines of the run's log. Runs in the worker; paths are relative to spec["workdir"].
    While it runs it holds the home's lock: another driver's task for the same run waits, then finds it
    finished.
    """
    identity = identity_of(spec)
    if not os.path.isfile(os.path.join(spec["repo"], MAIN_PY)) or not os.path.isdir(spec["workdir"]):
        return dict(identity, failed=True, exit_status=None, log_tail="", log=None, run_dir=None,
                    error="%s or %s is missing on this machine: every machine needs the repository and the "
                          "working folder at the same paths" % (os.path.join(spec["repo"], MAIN_PY),
                                                                 spec["workdir"]))
    home = os.path.join(spec["workdir"], spec["home"])
    try:
        os.makedirs(home, exist_ok=True)
        with home_lock(home):
            return run_in_home(spec, identity, home)
    except (OSError, RunFolderError) as error:
        return dict(identity, failed=True, exit_status=None, log_tail="", run_dir=None,
                    log=os.path.join(spec["home"], "main.log"),
                    error="%s: %s" % (type(error).__name__, error))


@contextlib.contextmanager
def home_lock(home):
    """Holds the run home's lock (flock: a killed holder releases it); waits while another holds it."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one driver at a time is then the user's to keep
        yield
        return
    with open(os.path.join(home, HOME_LOCK), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def run_in_home(spec, identity, home):
    started = time.time()
    here = lambda path: os.path.join(spec["workdir"], path)
    relative = lambda folder: os.path.join(spec["home"], os.path.basename(folder))  # as the user gave it
    log_path = os.path.join(spec["home"], "main.log")
    run_dir, resumed, status, how = finished_folder(home), None, 0, "found finished"
    paused = paused_at(spec, home) if run_dir is None else None
    if paused is not None:
        return paused_result(spec, identity, paused, relative, "found paused", started)
    if run_dir is None:
        resumed = resumable_folder(home)
        how = "resumed" if resumed else "ran"
        status = run_program(main_argv(spec, resume=relative(resumed) if resumed else None), spec,
                             here(log_path))
        run_dir = finished_folder(home)
        paused = paused_at(spec, home) if status == 0 and run_dir is None else None
        if paused is not None:
            return paused_result(spec, identity, paused, relative, how, started)
    if status != 0 or run_dir is None:
        unfinished = run_folders(home)
        return dict(identity, failed=True, exit_status=status, log=log_path,
                    log_tail=log_tail(here(log_path)), error=None,
                    run_dir=relative(unfinished[-1]) if unfinished else None)
    summary = run_files.read_summary(run_dir)
    config = run_files.read_config(run_dir)
    per_epoch, train_per_epoch = seconds_per_epoch(run_dir)
    return dict(identity, failed=False, run_dir=relative(run_dir), summary=summary,
                constants=config.get("constants"), versions=config.get("versions"),
                command=" ".join(shlex.quote(a) for a in ["python"] + main_argv(spec)), how=how,
                resumed_from=relative(resumed) if resumed else None,
                wall_seconds=None if how == "found finished" else time.time() - started,
                seconds_per_epoch=per_epoch, train_seconds_per_epoch=train_per_epoch, hardware=hardware(),
                log=log_path, finished_at=time.strftime("%Y-%m-%d %H:%M:%S"))


EVALUATE_PY = "evaluate.py"
TEST_FIGURES = ("auc", "auc_ci_low", "auc_ci_high", "auc_ci_resamples", "auc_from2", "acc", "loss")


def score_and_record(spec):
    """The record of a test run that is a finished search run (spec["scored_from"], its record): evaluate.py
    scores that run's selected checkpoint on the test split once, into the spec's home; returns the record
    (the search run's, with its test figures and "predictions_dir", the evaluation) or a failure; never
    raises. Run in the worker, as run_and_record."""
    identity = identity_of(spec)
    home = os.path.join(spec["workdir"], spec["home"])
    log_path = os.path.join(spec["home"], "evaluate.log")
    try:
        os.makedirs(home, exist_ok=True)
        with home_lock(home):
            return score_in_home(spec, identity, home, log_path)
    except (OSError, ValueError, RunFolderError) as error:
        return dict(identity, failed=True, exit_status=None, log_tail="", run_dir=None, log=log_path,
                    error="%s: %s" % (type(error).__name__, error))


def score_in_home(spec, identity, home, log_path):
    started = time.time()
    source = spec["scored_from"]
    found = sorted(glob.glob(os.path.join(glob.escape(home), "*", "metrics.json")))
    how = "found scored"
    if not found:
        how = "the chosen trial's search run, scored on the test split"
        argv = [EVALUATE_PY, source["run_dir"], "--split", "test", "--evaluations_dir", spec["home"]]
        status = run_program(argv, spec, os.path.join(spec["workdir"], log_path))
        found = sorted(glob.glob(os.path.join(glob.escape(home), "*", "metrics.json")))
        if status != 0 or not found:
            return dict(identity, failed=True, exit_status=status, error=None, run_dir=source["run_dir"],
                        log=log_path, log_tail=log_tail(os.path.join(spec["workdir"], log_path)))
    metrics = run_files.read_json(found[-1])
    summary = dict(source["summary"], **dict(("test_" + name, metrics.get(name)) for name in TEST_FIGURES))
    evaluation = os.path.join(spec["home"], os.path.basename(os.path.dirname(found[-1])))
    return dict(identity, failed=False, run_dir=source["run_dir"], predictions_dir=evaluation,
                summary=summary, constants=source.get("constants"), versions=source.get("versions"),
                command="%s; python %s %s --split test" % (source.get("command"), EVALUATE_PY,
                                                         source["run_dir"]),
                how=how, reused_from=source["key"], resumed_from=None,
                wall_seconds=None if how == "found scored" else time.time() - started,
                seconds_per_epoch=source.get("seconds_per_epoch"),
                train_seconds_per_epoch=source.get("train_seconds_per_epoch"), hardware=hardware(),
                log=log_path, finished_at=time.strftime("%Y-%m-%d %H:%M:%S"))


def paused_result(spec, identity, folder, relative, how, started):
    """What a sitting that paused at its rung returns: no record (a record is a finished run's), the
    folder, its epochs and its best validation AUC so far."""
    return dict(identity, failed=False, paused=True, run_dir=relative(folder), how=how,
                epochs=run_files.finished_epochs(folder),
                pause_after=spec["pause_after"], valid_auc=best_valid_auc(folder, spec["pause_after"]),
                wall_seconds=time.time() - started, hardware=hardware())


def rung_auc(spec, epochs):
    """The best validation AUC of the spec's run up to epoch `epochs` (a search's rung), finished or
    paused, read from its run folder; None when it has no folder with an epoch."""
    home = os.path.join(spec["workdir"], spec["home"])
    folder = finished_folder(home) or resumable_folder(home)
    return None if folder is None else best_valid_auc(folder, epochs)


# --- a search's rung, kept as a record ----------------------------------------------------------------------

# A run paused at its rung leaves no run record (a record is a finished run's), only its run folder. A rung
# record keeps what the promotion reads (the best validation AUC up to the rung), so that the promotion is
# made again from the records alone where the run folders are gone (a new machine, a cleaned runs/): the
# paused runs are not trained again, and a promoted one trains from its start.
RUNG = "rung"


def write_rung_record(out, paused, driver_command):
    """Writes a paused run's rung record (<out>/runs/rung/<key>.json) atomically; returns its path."""
    record = dict((k, v) for k, v in paused.items() if k not in ("failed", "paused", "valid_auc", "epochs"))
    record.update(summary={"valid_auc": paused["valid_auc"], "epochs_run": paused["epochs"]},
                  finished_at=time.strftime("%Y-%m-%d %H:%M:%S"))
    return write_record(out, record, driver_command, folder=RUNG)


def rung_record(out, spec):
    """The spec's sound rung record for its own rung (the same pause_after), or None."""
    record, _ = read_record(record_path(out, RUNG, spec["key"]), spec["key"])
    return record if record is not None and record.get("pause_after") == spec.get("pause_after") else None


def at_rung(out, spec):
    """True when the run of `spec` (a search run with "pause_after") has reached its rung: a rung record,
    or a run folder paused there."""
    return bool(spec.get("pause_after")) and (rung_record(out, spec) is not None
                                              or paused_folder(spec) is not None)


def rung_figure(out, spec, epochs):
    """The best validation AUC of the spec's run up to its rung `epochs`: from its rung record when there is
    one (what the promotion saw), else from its run folder; None when neither holds it."""
    record = rung_record(out, dict(spec, pause_after=epochs))
    return record["summary"]["valid_auc"] if record is not None else rung_auc(spec, epochs)


# --- records ------------------------------------------------------------------------------------------------

# What a record must hold to count as a run's record (a damaged or foreign file does not).
RECORD_FIELDS = ("dataset", "model", "fold", "seed", "key", "settings_hash", "summary", "run_dir")


def record_path(out, group, key):
    return os.path.join(out, "runs", group, key + ".json")


def write_record(out, record, driver_command, folder=None):
    """Writes one run's record atomically under <out>/runs/<folder>/, by default its group (else its data
    set); a rung record keeps its spec's group but goes under rung/. Returns its path."""
    record = dict(record, driver_command=driver_command)
    record.pop("failed", None)
    path = record_path(out, folder or record.get("group") or record["dataset"], record["key"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run_files.write_json(path, record)
    return path


def record_problem(path, record, key=None):
    """What makes `record` (read from `path`) not a run's record, or None: not an object, a field missing,
    or the key of another run (not the file's name)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [name for name in RECORD_FIELDS if name not in record]
    if missing:
        return "lacks %s" % ", ".join(missing)
    expected = key or os.path.splitext(os.path.basename(path))[0]
    if record["key"] != expected:
        return "holds the record of another run (%s)" % record["key"]
    if not isinstance(record["summary"], dict):
        return "its summary is not a JSON object"
    return None


def read_record(path, key=None):
    """(record, None) for a sound record at `path`; (None, why) for a missing, truncated or foreign one."""
    if not os.path.exists(path):
        return None, "missing"
    try:
        record = run_files.read_json(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return None, "cannot be read (%s)" % error
    problem = record_problem(path, record, key)
    return (None, problem) if problem else (record, None)


def read_records(out, group, warn=None):
    """The sound records under <out>/runs/<group>/; `warn(path, why)` is told of every damaged one."""
    records = []
    for path in sorted(glob.glob(os.path.join(glob.escape(out), "runs", glob.escape(group), "*.json"))):
        record, problem = read_record(path)
        if record is not None:
            records.append(record)
        elif warn is not None:
            warn(path, problem)
    return records


def recorded(out, spec, warn=None):
    """True when the run of `spec` has a sound record; a damaged one is reported through `warn` and does
    not count (the run is run, or found finished, again and its record rewritten)."""
    path = record_path(out, spec.get("group") or spec["dataset"], spec["key"])
    record, problem = read_record(path, spec["key"])
    if record is None and problem != "missing" and warn is not None:
        warn(path, problem)
    return record is not None


def run_folder(record, runs_dir):
    """The record's run folder under `runs_dir` with its predictions.csv, or None when it is not there (or
    holds another run: its config.json names another data set, model, fold or seed)."""
    given = record.get("run_dir")
    if not given:
        return None
    name = os.path.basename(os.path.normpath(given))
    for folder in (os.path.join(runs_dir, "reproduce", record["dataset"], record["key"], name),
                   os.path.join(runs_dir, name), given):
        if os.path.isfile(os.path.join(folder, run_files.PREDICTIONS)) and same_run(folder, record):
            return folder
    return None


def same_run(folder, record):
    try:
        constants = run_files.read_json(os.path.join(folder, run_files.CONFIG)).get("constants") or {}
    except (OSError, ValueError, AttributeError):
        return False
    ran = dict(record, fold=main_fold(record))
    return all(constants.get(name) == ran[name] for name in ("dataset", "model", "fold", "seed"))

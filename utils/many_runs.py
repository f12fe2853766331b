"""Many runs of main.py: the per-data-set settings table, one run as a program, its record, the tables.

scripts/reproduce.py (the paper's table) and scripts/tune.py (a validation-only search) send runs to Ray;
what they share lives here, free of Ray and of TensorFlow, so the library never imports either. A run is
always `python main.py --name value ...` in its own process (nothing imports main.py): the settings below are
overrides of main.py's constants, main.py's own values give the rest, and the run's config.json records them
all.

A run has a key: data set, model, fold, seed and the hash of its settings (every override, epochs included;
not the paths, not the threads). Its home folder `<runs_dir>/reproduce/<data set>/<key>/` is fixed by the key,
so a killed attempt is found again and resumed (`main.py --resume`), and a finished run folder is never run
twice. Its record, `<out>/runs/<data set>/<key>.json`, is written atomically when the run ends; the tables
`<out>/<data set>.md` and `.json` are rendered from the records, so sittings, machines and people merge
without conflict.
"""
import csv
import glob
import hashlib
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import time

from utils.config import ConfigError, main_constants, parse_value
from utils.run_files import write_json, write_text

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("dkvmn", "dkt")
MAIN_PY = "main.py"
LOG_TAIL_LINES = 15

# The one table of per-data-set settings: overrides of main.py's constants, shared ("all") and per model.
# Every constant that changes what is trained is written out, so a change of main.py's defaults does not
# change a row. The architecture is the DKVMN paper's (Zhang et al. 2017, section 5 and its code); the
# optimiser is Adam with dropout 0.2 (the paper used SGD with momentum 0.9, lr 0.05 x 0.667 every 20 epochs,
# clip 50, on the BCE summed per sequence; to run that: --set optimizer=sgd --set learning_rate=0.05
# --set lr_decay=0.667 --set loss_scale=sequence_sum --set max_grad_norm=5 --set dropout=0). What was tried
# on the validation folds is in results/NOTES.md. `paper` = test AUC of the paper's Table 3; `chosen` says
# whether the row was chosen on validation.
TRAINING = {"optimizer": "adam", "dropout": 0.2, "init_std": 0.1, "max_grad_norm": 50.0, "lr_decay": 1.0,
            "loss_scale": "mean"}
DKT_ROW = {"hidden_size": 200, "dkt_embedding_size": 200}
SYNTHETIC_5 = {  # the DKVMN paper's Synthetic-5 sizes; lr 3e-3 chosen before any run, for run time
    "dataset_dir": "dataset/synthetic",
    "paper": {"dkvmn": 0.8273, "dkt": 0.8034},  # the paper's figure is likely the mean over the 20 versions
    "chosen": "Adam 3e-3 set for run time; DKVMN and DKT sizes the paper's (results/NOTES.md)",
    "all": dict(TRAINING, seq_len=50, batch_size=32, learning_rate=3e-3, epochs=150, early_stop_patience=15),
    "dkvmn": {"memory_size": 5, "key_dim": 10, "value_dim": 10, "final_dim": 50, "key_projection": False},
    "dkt": DKT_ROW,
}
SETTINGS = {
    "assist2009_updated": {
        "dataset_dir": "dataset/assist2009_updated",
        "paper": {"dkvmn": 0.8157, "dkt": 0.8053},
        "chosen": "on the validation fold (results/NOTES.md)",
        "all": dict(TRAINING, seq_len=200, batch_size=32, learning_rate=1e-3, epochs=50,
                    early_stop_patience=8),
        # DKVMN: the authors' key projection and learning rate 5e-3 (best validation AUC 0.8220, at epoch 60
        # of 60, against 0.8208 at 3e-3 and 0.8204 for the authors' SGD), chosen on validation; as that run
        # was still improving, up to 80 epochs (the validation AUC picks the epoch, so a higher cap is safe)
        "dkvmn": {"memory_size": 20, "key_dim": 50, "value_dim": 200, "final_dim": 50, "learning_rate": 5e-3,
                  "key_projection": True, "epochs": 80, "early_stop_patience": 10},
        "dkt": DKT_ROW,
    },
    "assist2015": {  # the authors' sizes (their code/python3/main.py); optimiser as assist2009's start
        "dataset_dir": "dataset/assist2015",
        "paper": {"dkvmn": 0.7268, "dkt": 0.7252},
        "chosen": ("the authors' sizes; the learning rate chosen on fold 1's validation split: Adam 5e-3 for "
                   "DKVMN, 1e-3 for DKT (results/search/assist2015-<model>.json, results/NOTES.md)"),
        "all": dict(TRAINING, seq_len=200, batch_size=50, learning_rate=1e-3, epochs=50,
                    early_stop_patience=8),
        "dkvmn": {"memory_size": 20, "key_dim": 50, "value_dim": 100, "final_dim": 50,
                  "key_projection": True, "learning_rate": 5e-3},
        "dkt": DKT_ROW,
    },
    "STATICS": {
        "dataset_dir": "dataset/STATICS",
        "paper": {"dkvmn": 0.8284, "dkt": 0.8020},
        "chosen": ("on fold 1's validation split, a grid per model (results/search/STATICS-<model>.json, "
                   "results/NOTES.md): DKVMN N 10 (the authors' 50 overfits by epoch 3-5), d_v 100, "
                   "Adam 1e-3; DKT hidden 100, dropout 0.5, Adam 3e-3"),
        "all": dict(TRAINING, seq_len=200, batch_size=10, learning_rate=1e-3, epochs=50,
                    early_stop_patience=8),
        # DKVMN: N 10 rather than the authors' 50 (best validation AUC 0.8219 at epoch 29 of a 30-epoch trial,
        # against at most 0.8135 for any trial with N 50); the row keeps 50 epochs
        "dkvmn": {"memory_size": 10, "key_dim": 50, "value_dim": 100, "final_dim": 50,
                  "key_projection": True},
        # DKT: best validation AUC 0.8254 at epoch 7, against 0.8025 for the declared start (hidden 200,
        # dropout 0.2, Adam 1e-3), which ASHA stopped at epoch 5
        "dkt": dict(DKT_ROW, hidden_size=100, dropout=0.5, learning_rate=3e-3),
    },
    "synthetic": {  # our own generator (data/synthetic.py) with Synthetic-5's sizes; no paper figure
        "dataset_dir": "dataset",
        "paper": {"dkvmn": None, "dkt": None},
        "chosen": SYNTHETIC_5["chosen"],
        "all": dict(SYNTHETIC_5["all"], synthetic_students=4000, synthetic_exercises=50, synthetic_concepts=5,
                    valid_fraction=0.2, test_fraction=0.2),
        "dkvmn": SYNTHETIC_5["dkvmn"],
        "dkt": DKT_ROW,
    },
}
for _version in range(20):  # the paper's Synthetic-5, its 20 data versions, all with version 0's settings
    SETTINGS["naive_c5_q50_s4000_v%d" % _version] = SYNTHETIC_5

# --smoke: a tiny model and one epoch, to check the whole pipeline in seconds (not a result).
SMOKE = {"memory_size": 3, "key_dim": 8, "value_dim": 8, "final_dim": 8, "hidden_size": 16,
         "dkt_embedding_size": 16, "seq_len": 20, "batch_size": 16, "epochs": 1, "early_stop_patience": 0,
         "synthetic_students": 200}

# Options of a run that are not settings: where it runs and reads, not what it trains.
NOT_SETTINGS = ("dataset", "model", "fold", "seed", "dataset_dir", "runs_dir", "threads", "batch_parts",
                "data_cache", "resume")


# --- settings -----------------------------------------------------------------------------------------------

SCRIPT_OPTION = {"dataset": "the data set argument", "model": "--models", "fold": "--folds",
                 "seed": "--seeds", "dataset_dir": "--dataset_dir", "runs_dir": "--runs_dir",
                 "threads": "--cpus_per_run",
                 "resume": "nothing: a killed run is resumed by itself"}


def parse_set(item):
    """`--set name=value` -> (name, value); the value is a number, true/false or text, as JSON reads it."""
    name, equals, text = item.partition("=")
    if not equals or not name or name.startswith("-"):
        raise ConfigError("--set takes NAME=VALUE, e.g. --set learning_rate=0.003; got %r" % item)
    if name in SCRIPT_OPTION:
        raise ConfigError("--set %s: use %s instead" % (name, SCRIPT_OPTION[name]))
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return name, lowered == "true"
    try:
        value = json.loads(text)
    except ValueError:
        return name, text
    return name, value if isinstance(value, (int, float)) and not isinstance(value, bool) else text


def check_settings(settings, source="--set"):
    """Each setting must be a constant of main.py (read from its text) and read as that constant's type,
    so that a typo is one error line before anything starts, not a failure of every run."""
    defaults = main_constants()
    for name, value in sorted(settings.items()):
        if name not in defaults:
            raise ConfigError("%s: %s is not a constant of main.py; valid names: %s"
                              % (source, name, ", ".join(sorted(defaults))))
        if isinstance(value, (list, dict)):
            continue  # a search dimension: tune.py checks its values
        parse_value(name, command_text(value), defaults[name])


def table_settings(dataset, model):
    """The table's row for (data set, model), or None when the data set has no row."""
    row = SETTINGS.get(dataset)
    if row is None:
        return None
    return dict(row["all"], **row[model])


def settings_hash(settings):
    """A short hash of the settings: runs with equal settings share it, whatever the paths or threads."""
    text = json.dumps(dict((k, v) for k, v in settings.items() if k not in NOT_SETTINGS), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def command_text(value):
    """A setting as main.py's command line takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def settings_argv(settings):
    argv = []
    for name in sorted(settings):
        argv += ["--" + name, command_text(settings[name])]
    return argv


def run_key(model, fold, seed, digest):
    return "%s-f%d-s%d-%s" % (model, fold, seed, digest)


def check_folds(dataset, dataset_dir, folds):
    """Three-line data sets: each fold's train and valid file must exist, checked before anything starts."""
    if dataset == "synthetic":
        return
    if not os.path.isdir(dataset_dir):
        raise ConfigError("data folder %s does not exist: give --dataset_dir, the folder of %s's files"
                          % (dataset_dir, dataset))
    three_line = dataset in SETTINGS or glob.glob(os.path.join(dataset_dir, dataset + "_t*.csv"))
    if not three_line:
        return  # a csv log or the raw ASSISTments file: main.py checks its own files
    for fold in folds:
        for part in ("train%d" % fold, "valid%d" % fold):
            path = os.path.join(dataset_dir, "%s_%s.csv" % (dataset, part))
            if not os.path.isfile(path):
                raise ConfigError("fold %d of %s does not exist: %s is missing (folds found: %s)" % (
                    fold, dataset, path, " ".join(available_folds(dataset_dir, dataset)) or "none"))


def available_folds(dataset_dir, dataset):
    prefix = os.path.join(dataset_dir, dataset + "_train")
    folds = [path[len(prefix):-4] for path in glob.glob(prefix + "*.csv")]
    return sorted(f for f in folds if f.isdigit())


# --- one run as a program (runs inside a Ray worker) --------------------------------------------------------

def run_spec(dataset, model, fold, seed, settings, dataset_dir, runs_dir, threads, smoke=False):
    """What one run needs, JSON-able: sent to the worker that runs it. Paths are relative to `workdir`."""
    digest = settings_hash(settings)
    key = run_key(model, fold, seed, digest)
    return {"dataset": dataset, "model": model, "fold": fold, "seed": seed, "settings": settings,
            "settings_hash": digest, "key": key, "dataset_dir": dataset_dir, "threads": threads,
            "smoke": smoke, "home": os.path.join(runs_dir, "reproduce", dataset, key),
            "repo": REPO, "workdir": os.getcwd()}


def run_folders(home):
    """Run folders main.py made in `home`, oldest first."""
    return sorted(path for path in glob.glob(os.path.join(home, "*")) if
                  os.path.isfile(os.path.join(path, "config.json")))


def finished_folder(home):
    done = [path for path in run_folders(home) if os.path.isfile(os.path.join(path, "summary.json"))]
    return done[-1] if done else None


def resumable_folder(home):
    """The newest unfinished run folder with at least one finished epoch (state.json), or None."""
    for path in reversed(run_folders(home)):
        if os.path.isfile(os.path.join(path, "summary.json")):
            continue
        try:
            with open(os.path.join(path, "state.json")) as f:
                if int(json.load(f).get("epoch", 0)) >= 1:
                    return path
        except (OSError, ValueError):
            continue
    return None


def main_argv(spec, resume=None):
    """main.py's argv for the run (without the interpreter), with the paths as the user gave them."""
    if resume:
        return [MAIN_PY, "--resume", resume]
    return ([MAIN_PY, "--dataset", spec["dataset"], "--model", spec["model"], "--fold", str(spec["fold"]),
             "--seed", str(spec["seed"]), "--dataset_dir", spec["dataset_dir"],
             "--threads", str(spec["threads"]), "--runs_dir", spec["home"]]
            + settings_argv(spec["settings"]) + spec.get("extra_argv", []))


def die_with_parent():
    """In the child, before exec: on Linux, SIGTERM when the worker that started it dies (best effort)."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_program(argv, spec, log_path):
    """Starts main.py with `argv` in the run's working folder, in its own process group (so that it can be
    ended whole), output appended to `log_path`. argv[0] is main.py, found in the repository."""
    log = open(log_path, "a")
    log.write("\n=== %s: python %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                          " ".join(shlex.quote(a) for a in argv)))
    log.flush()
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    preexec = die_with_parent if sys.platform.startswith("linux") else None
    program = [sys.executable, os.path.join(spec["repo"], argv[0])] + argv[1:]
    try:
        return subprocess.Popen(program, cwd=spec["workdir"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=preexec)
    finally:
        log.close()


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


def epoch_rows(run_dir):
    """epochs.csv's complete rows as dicts of floats (a row being written is left out)."""
    path = os.path.join(run_dir, "epochs.csv")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return []
    complete = text[:text.rfind("\n") + 1]
    rows = []
    for row in csv.DictReader(complete.splitlines()):
        try:
            rows.append(dict((k, float(v)) if v not in ("", None) else (k, None) for k, v in row.items()))
        except ValueError:
            break
    return rows


def seconds_per_epoch(run_dir):
    rows = epoch_rows(run_dir)
    if not rows:
        return None, None
    total = [r["train_seconds"] + r["eval_seconds"] for r in rows]
    return sum(total) / len(total), sum(r["train_seconds"] for r in rows) / len(rows)


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


def run_and_record(spec):
    """Runs (or resumes, or finds finished) the run of `spec`; returns its record or a failure; never raises.

    The record: identity, settings and their hash, the run folder, summary.json as it is, config.json's
    constants and versions, seconds, the command (paths as given) and the hardware. A failure: the exit
    status and the last lines of the run's log. Runs in the worker; paths are relative to spec["workdir"].
    """
    started = time.time()
    identity = dict((k, spec[k]) for k in ("dataset", "model", "fold", "seed", "settings", "settings_hash",
                                           "key", "dataset_dir", "threads", "smoke"))
    if not os.path.isfile(os.path.join(spec["repo"], MAIN_PY)) or not os.path.isdir(spec["workdir"]):
        return dict(identity, failed=True, exit_status=None, log_tail="", log=None, run_dir=None,
                    error="%s or %s is missing on this machine: every machine needs the repository and the "
                          "working folder at the same paths" % (os.path.join(spec["repo"], MAIN_PY),
                                                                 spec["workdir"]))
    here = lambda path: os.path.join(spec["workdir"], path)
    relative = lambda folder: os.path.join(spec["home"], os.path.basename(folder))  # as the user gave it
    home = here(spec["home"])
    os.makedirs(home, exist_ok=True)
    log_path = os.path.join(spec["home"], "main.log")
    run_dir, resumed, status, how = finished_folder(home), None, 0, "found finished"
    if run_dir is None:
        resumed = resumable_folder(home)
        how = "resumed" if resumed else "ran"
        process = start_program(main_argv(spec, resume=relative(resumed) if resumed else None), spec,
                                here(log_path))
        try:
            status = process.wait()
        finally:
            stop_program(process)  # the task was cancelled: no orphan keeps training
        run_dir = finished_folder(home)
    if status != 0 or run_dir is None:
        unfinished = run_folders(home)
        return dict(identity, failed=True, exit_status=status, log=log_path,
                    log_tail=log_tail(here(log_path)), error=None,
                    run_dir=relative(unfinished[-1]) if unfinished else None)
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    per_epoch, train_per_epoch = seconds_per_epoch(run_dir)
    return dict(identity, failed=False, run_dir=relative(run_dir), summary=summary,
                constants=config.get("constants"), versions=config.get("versions"),
                command=" ".join(shlex.quote(a) for a in ["python"] + main_argv(spec)), how=how,
                resumed_from=relative(resumed) if resumed else None,
                wall_seconds=None if how == "found finished" else time.time() - started,
                seconds_per_epoch=per_epoch, train_seconds_per_epoch=train_per_epoch, hardware=hardware(),
                log=log_path, finished_at=time.strftime("%Y-%m-%d %H:%M:%S"))


# --- records and tables -------------------------------------------------------------------------------------

def record_path(out, dataset, key):
    return os.path.join(out, "runs", dataset, key + ".json")


def write_record(out, record, driver_command):
    """Writes one finished run's record atomically; returns its path."""
    record = dict(record, driver_command=driver_command)
    record.pop("failed", None)
    path = record_path(out, record["dataset"], record["key"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, record)
    return path


def read_records(out, dataset):
    records = []
    for path in sorted(glob.glob(os.path.join(out, "runs", dataset, "*.json"))):
        with open(path) as f:
            records.append(json.load(f))
    return records


def mean_std(values):
    values = [float(v) for v in values if v is not None]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


FIGURES = ("test_auc", "test_acc", "test_auc_from2", "test_loss", "valid_auc", "best_epoch",
           "test_oracle_auc")


def table_entry(dataset, model, records):
    """One row of the table: the runs of one model with one set of settings, their mean and std."""
    records = sorted(records, key=lambda r: (r["fold"], r["seed"]))
    paper = SETTINGS.get(dataset, {}).get("paper", {}).get(model)
    entry = {"model": model, "paper_auc": paper, "settings": records[0]["settings"],
             "settings_hash": records[0]["settings_hash"], "n_runs": len(records),
             "seeds": sorted(set(r["seed"] for r in records)),
             "folds": sorted(set(r["fold"] for r in records)),
             "run_dirs": [r["run_dir"] for r in records], "smoke": bool(records[0].get("smoke")),
             "commands": sorted(set(r["driver_command"] for r in records)),
             "runs": [run_line_fields(r) for r in records]}
    for name in FIGURES + ("seconds_per_epoch",):
        entry[name], entry[name + "_std"] = mean_std([run[name] for run in entry["runs"]])
    oracle = [(r["test_auc"], r["test_oracle_auc"]) for r in entry["runs"] if r["test_oracle_auc"]]
    entry["auc_over_oracle"], entry["auc_over_oracle_std"] = mean_std([a / o for a, o in oracle])
    parameters = [r["num_parameters"] for r in entry["runs"] if r["num_parameters"] is not None]
    entry["num_parameters"] = parameters[0] if parameters else None
    return entry


def run_line_fields(record):
    summary = record["summary"]
    fields = dict((name, summary.get(name)) for name in FIGURES)
    fields.update(run_dir=record["run_dir"], seed=record["seed"], fold=record["fold"],
                  epochs_run=summary.get("epochs_run"), stopped=summary.get("stopped"),
                  num_parameters=summary.get("num_parameters"),
                  seconds_per_epoch=record.get("seconds_per_epoch"),
                  wall_seconds=record.get("wall_seconds"))
    return fields


def table(dataset, records, failed=()):
    """The table of a data set from its records: one entry per (model, settings)."""
    groups = {}
    for record in records:
        groups.setdefault((record["model"], record["settings_hash"]), []).append(record)
    order = lambda key: (MODELS.index(key[0]) if key[0] in MODELS else len(MODELS), key[0],
                         min(r.get("finished_at", "") for r in groups[key]))
    entries = [table_entry(dataset, model, groups[(model, digest)])
               for model, digest in sorted(groups, key=order)]
    distinct = lambda name: sorted(set(str(r.get(name)) for r in records if r.get(name) is not None))
    versions = sorted(set("Python %s, TensorFlow %s" % (r["versions"]["python"], r["versions"]["tensorflow"])
                          for r in records if r.get("versions")))
    return {"dataset": dataset, "hardware": "; ".join(distinct("hardware")),
            "threads": ", ".join(distinct("threads")), "versions": "; ".join(versions), "models": entries,
            "records": "runs/%s/ (one file per run)" % dataset,
            "failed": [dict((k, f.get(k)) for k in ("model", "seed", "fold", "settings_hash", "exit_status",
                                                   "log", "run_dir", "error")) for f in failed]}


def fmt(value, std=None, digits=4):
    if value is None:
        return "-"
    if digits == 1 and std is None and float(value).is_integer():
        return "%d" % value
    text = "%.*f" % (digits, value)
    return text + (" ± %.*f" % (digits, std) if std is not None else "")


def markdown(results):
    """The table as Markdown: one line per (model, settings), then every run with its command."""
    entries = results["models"]
    oracle = any(e["test_oracle_auc"] is not None for e in entries)
    several = dict((m, sum(e["model"] == m for e in entries)) for m in set(e["model"] for e in entries))
    header = ["model", "test AUC", "paper AUC", "test ACC", "test AUC (pos >= 2)", "best epoch",
              "s / epoch", "parameters", "runs (seeds; folds)"]
    if oracle:
        header[3:3] = ["oracle AUC", "AUC / oracle"]
    lines = ["# %s: DKVMN vs DKT" % results["dataset"], "",
             "Test figures of the checkpoint with the best validation AUC (the test split is scored once). "
             "Mean ± std over the runs when there are several; every run is listed below and recorded in "
             "%s." % results["records"], "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in entries:
        name = entry["model"] + (" (%s)" % entry["settings_hash"] if several[entry["model"]] > 1 else "")
        row = [name, fmt(entry["test_auc"], entry["test_auc_std"]), fmt(entry["paper_auc"]),
               fmt(entry["test_acc"], entry["test_acc_std"]),
               fmt(entry["test_auc_from2"], entry["test_auc_from2_std"]),
               fmt(entry["best_epoch"], entry["best_epoch_std"], 1),
               fmt(entry["seconds_per_epoch"], None, 1),
               "-" if entry["num_parameters"] is None else "{:,}".format(entry["num_parameters"]),
               "%d (%s; %s)" % (entry["n_runs"], " ".join(map(str, entry["seeds"])),
                                " ".join(map(str, entry["folds"])))]
        if oracle:
            row[3:3] = [fmt(entry["test_oracle_auc"], entry["test_oracle_auc_std"]),
                        fmt(entry["auc_over_oracle"], entry["auc_over_oracle_std"], 3)]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Hardware: %s; TensorFlow threads %s; %s." % (
        results["hardware"], results["threads"], results["versions"]), ""]
    if results["failed"]:
        lines.append("Failed in the last command (not in the figures above):")
        lines += ["- %s, seed %s, fold %s (settings %s): %s; log %s" % (
            f["model"], f["seed"], f["fold"], f["settings_hash"],
            f["error"] or "exit status %s" % f["exit_status"], f["log"]) for f in results["failed"]]
        lines.append("")
    for entry in entries:
        lines += ["**%s** (settings %s)%s: `%s`" % (
            entry["model"], entry["settings_hash"], " (SMOKE: not a result)" if entry["smoke"] else "",
            "  +  ".join(entry["commands"])), ""]
        lines += ["settings (overrides of main.py's constants): `%s`" % json.dumps(entry["settings"],
                                                                                   sort_keys=True), ""]
        for run in entry["runs"]:
            lines.append("- %s: seed %d, fold %d, test AUC %s, valid AUC %s, best epoch %s of %s (%s), "
                         "%s s/epoch, %s s in all" % (
                             run["run_dir"], run["seed"], run["fold"], fmt(run["test_auc"]),
                             fmt(run["valid_auc"]), run["best_epoch"], run["epochs_run"], run["stopped"],
                             fmt(run["seconds_per_epoch"], None, 1), fmt(run["wall_seconds"], None, 0)))
        lines.append("")
    return "\n".join(lines)


def render_tables(out, dataset, failed=()):
    """Rewrites <out>/<dataset>.json and .md from the records; returns the Markdown."""
    results = table(dataset, read_records(out, dataset), failed)
    os.makedirs(out, exist_ok=True)  # the first run to end may have failed: no record made the folder
    write_json(os.path.join(out, dataset + ".json"), results)
    text = markdown(results)
    write_text(os.path.join(out, dataset + ".md"), text + "\n")
    return text


# --- Ray's connection, prepared without importing Ray -------------------------------------------------------

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


def ray_init_options(address, num_cpus):
    """ray.init's keyword arguments: a local Ray on 127.0.0.1, or the cluster at `address` (checked first).

    The workers get the repository on their PYTHONPATH, to find utils/ (a cluster's machines need the
    repository at the same path)."""
    python_path = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH", "")) if p)
    runtime_env = {"env_vars": {"PYTHONPATH": python_path}}
    if not address:
        return {"address": "local", "num_cpus": num_cpus, "include_dashboard": False,
                "_node_ip_address": "127.0.0.1", "log_to_driver": False, "runtime_env": runtime_env}
    host = check_address(address)
    options = {"address": address, "log_to_driver": False, "runtime_env": runtime_env}
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

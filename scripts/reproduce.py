"""Reproduce a row of the DKVMN paper's Table 3: train DKVMN and DKT on a data set, test once, write a table.

Each run is main.py's own run (`main.run`): the data set's settings below are overrides of main.py's
constants. The epoch is selected on the validation fold (the best validation AUC); the test split is
scored once, with that checkpoint. The script then writes results/<data set>.md and results/<data set>.json
(every run kept; several seeds / folds are reported as mean +- std, never the best run) and prints the table.

Usage (from the repo root):
    python scripts/reproduce.py naive_c5_q50_s4000_v0 --dataset_dir ../shared/data/dkvmn/synthetic
    python scripts/reproduce.py assist2009_updated --dataset_dir ../shared/data/dkvmn/assist2009_updated \
        --models dkt --seeds 0 1 2
    python scripts/reproduce.py synthetic            # our own generator; adds the oracle AUC (the ceiling)

Options: --models dkvmn dkt, --seeds 0 [1 2], --folds 1 [2 3] (three-line data sets), --epochs N,
--runs_dir runs, --out results, --threads 2, --set name=value (any other constant of main.py, e.g.
--set learning_rate=0.003; recorded in the results), --smoke (tiny model, one epoch: checks the pipeline),
--render (only rewrite the .md from the .json, e.g. after editing this script's table layout),
--jobs N (N runs at a time, each in its own process; on 2 cores: --seeds 0 1 2 --jobs 3 --threads 1).
Results of models not run now are kept from the existing JSON, so DKT and DKVMN can run one at a time.
"""
import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import main  # noqa: E402
from utils.config import parse_value  # noqa: E402

# The one table of per-data-set settings: overrides of main.py's constants, shared ("all") and per model.
# The architecture is the DKVMN paper's (Zhang et al. 2017, section 5 and its code). The optimiser is Adam
# 1e-3 with dropout 0.2 (the paper used SGD with momentum 0.9, lr 0.05 x 0.667 every 20 epochs, clip 50, on
# the BCE summed per sequence; to run that instead: --set optimizer=sgd --set learning_rate=0.05
# --set lr_decay=0.667 --set loss_scale=sequence_sum --set max_grad_norm=5 --set dropout=0). What was tried
# on the validation folds is in results/NOTES.md. `paper` = test AUC of the paper's Table 3.
SETTINGS = {
    "assist2009_updated": {
        "dataset_dir": "dataset/assist2009_updated",
        "paper": {"dkvmn": 0.8157, "dkt": 0.8053},
        "all": {"seq_len": 200, "batch_size": 32, "optimizer": "adam", "learning_rate": 1e-3,
                "dropout": 0.2, "init_std": 0.1, "max_grad_norm": 50.0, "epochs": 50,
                "early_stop_patience": 8},
        # DKVMN: the authors' key projection and learning rate 5e-3 (best validation AUC 0.8220, at epoch 60
        # of 60, against 0.8208 at 3e-3 and 0.8204 for the authors' SGD), chosen on validation
        # (results/NOTES.md); as that run was still improving, up to 80 epochs (the validation AUC picks the
        # epoch, so a higher cap is safe)
        "dkvmn": {"memory_size": 20, "key_dim": 50, "value_dim": 200, "final_dim": 50, "learning_rate": 5e-3,
                  "key_projection": True, "epochs": 80, "early_stop_patience": 10},
        "dkt": {"hidden_size": 200},
    },
    "naive_c5_q50_s4000_v0": {  # the DKVMN paper's Synthetic-5, version 0
        "dataset_dir": "dataset/synthetic",
        "paper": {"dkvmn": 0.8273, "dkt": 0.8034},
        "all": {"seq_len": 50, "batch_size": 32, "optimizer": "adam", "learning_rate": 3e-3,
                "dropout": 0.2, "init_std": 0.1, "max_grad_norm": 50.0, "epochs": 150,
                "early_stop_patience": 15},
        "dkvmn": {"memory_size": 5, "key_dim": 10, "value_dim": 10, "final_dim": 50},
        "dkt": {"hidden_size": 200},
    },
    "synthetic": {  # our own generator (data/synthetic.py), Synthetic-5's sizes; no paper figure
        "dataset_dir": "dataset",
        "paper": {"dkvmn": None, "dkt": None},
        "all": {"seq_len": 50, "batch_size": 32, "optimizer": "adam", "learning_rate": 3e-3,
                "dropout": 0.2, "init_std": 0.1, "max_grad_norm": 50.0, "epochs": 150,
                "early_stop_patience": 15, "synthetic_students": 4000, "synthetic_exercises": 50,
                "synthetic_concepts": 5},
        "dkvmn": {"memory_size": 5, "key_dim": 10, "value_dim": 10, "final_dim": 50},
        "dkt": {"hidden_size": 200},
    },
}

# --smoke: a tiny model and one epoch, to check the whole pipeline in seconds (not a result).
SMOKE = {"memory_size": 3, "key_dim": 8, "value_dim": 8, "final_dim": 8, "hidden_size": 16, "seq_len": 20,
         "batch_size": 16, "epochs": 1, "early_stop_patience": 0, "synthetic_students": 200}

MODELS = ("dkvmn", "dkt")
METRICS = ("test_auc", "test_acc", "test_auc_from2", "test_loss", "valid_auc")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", choices=sorted(SETTINGS))
    parser.add_argument("--dataset_dir", help="folder of the data set files (default: %s)" % ", ".join(
        "%s: %s" % (name, s["dataset_dir"]) for name, s in sorted(SETTINGS.items())))
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--folds", nargs="+", type=int, default=[1],
                        help="three-line data sets: folds <name>_train<k>/_valid<k> (test is the same file)")
    parser.add_argument("--epochs", type=int, help="most epochs (overrides the table)")
    parser.add_argument("--runs_dir", default="runs")
    parser.add_argument("--out", default="results", help="folder of the results table (.md and .json)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="override any other constant of main.py (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="tiny model, one epoch: a pipeline check")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from the .json")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at a time, each in its own process with --threads threads")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.dataset == "synthetic" and args.folds != [1]:
        parser.error("--folds applies to three-line data sets; the synthetic split is set by the seed")
    return args


def model_config(args, model, seed, fold):
    """main.py's constants with the table's overrides, then --smoke, --set, --epochs and the run's own."""
    table = SETTINGS[args.dataset]
    config = dict(main.constants(), **table["all"])
    config.update(table[model])
    if args.smoke:
        config.update(SMOKE)
    defaults = main.constants()
    for item in args.sets:
        name, _, text = item.partition("=")
        if name not in defaults or not _:
            raise SystemExit("error: --set takes NAME=VALUE with NAME a constant of main.py, got %r" % item)
        config[name] = parse_value(name, text, defaults[name])
    if args.epochs is not None:
        config["epochs"] = args.epochs
    config.update(dataset=args.dataset, dataset_dir=args.dataset_dir or table["dataset_dir"], model=model,
                  seed=seed, fold=fold, runs_dir=args.runs_dir, threads=args.threads, resume="")
    return config


def oracle_auc(run_dir, dataset):
    """AUC of the generator's true P(correct) on the test positions the run scored (the ceiling)."""
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    truth = dict((s.student, s) for s in dataset.test)
    predictions = pd.read_csv(os.path.join(run_dir, "predictions.csv"), dtype={"student": str})
    probs, answers = [], []
    for student, position, answer in zip(predictions["student"], predictions["position"],
                                         predictions["answer"]):
        sequence = truth[student]
        assert int(sequence.answers[position]) == int(answer), "predictions.csv does not match the data"
        probs.append(float(sequence.true_probs[position]))
        answers.append(int(answer))
    return float(roc_auc_score(answers, probs))


def run_one(args, model, seed, fold, log):
    config = model_config(args, model, seed, fold)
    log("=== %s on %s, seed %d, fold %d ===" % (model, args.dataset, seed, fold))
    started = time.time()
    run_dir, summary = main.run(config, log=log)
    wall = time.time() - started
    import pandas as pd
    epochs = pd.read_csv(os.path.join(run_dir, "epochs.csv"))
    record = {"model": model, "seed": seed, "fold": fold, "run_dir": os.path.basename(run_dir),
              "best_epoch": int(summary["best_epoch"]), "epochs_run": int(summary["epochs_run"]),
              "stopped": summary["stopped"], "num_parameters": int(summary["num_parameters"]),
              "seconds_per_epoch": float((epochs["train_seconds"] + epochs["eval_seconds"]).mean()),
              "train_seconds_per_epoch": float(epochs["train_seconds"].mean()), "wall_seconds": wall}
    for name in METRICS:
        record[name] = float(summary[name])
    if args.dataset == "synthetic":
        record["oracle_auc"] = oracle_auc(run_dir, main.load_data(config))
        record["auc_over_oracle"] = record["test_auc"] / record["oracle_auc"]
    overrides = dict((k, v) for k, v in sorted(config.items())
                     if main.constants().get(k) != v and k not in ("seed", "fold", "resume", "runs_dir"))
    return record, overrides


def mean_std(values):
    values = [float(v) for v in values]
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return float(np.mean(values)), std


def model_entry(args, model, runs, overrides, command):
    """One record per model: the mean (and std over runs) of each figure, and every run."""
    entry = {"model": model, "paper_auc": SETTINGS[args.dataset]["paper"][model], "command": command,
             "run_dirs": [r["run_dir"] for r in runs], "seeds": sorted(set(r["seed"] for r in runs)),
             "folds": sorted(set(r["fold"] for r in runs)), "n_runs": len(runs), "smoke": args.smoke,
             "overrides": overrides, "runs": runs}
    names = list(METRICS) + ["best_epoch", "seconds_per_epoch", "num_parameters"]
    if args.dataset == "synthetic":
        names += ["oracle_auc", "auc_over_oracle"]
    for name in names:
        entry[name], entry[name + "_std"] = mean_std([r[name] for r in runs])
    entry["num_parameters"] = int(entry["num_parameters"])
    return entry


def hardware():
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.check_output(["lscpu"], universal_newlines=True).splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return "%s, %d cores visible" % (cpu, os.cpu_count() or 0)


def _fmt(value, std=None, digits=4):
    if value is None:
        return "-"
    if digits == 1 and std is None and float(value).is_integer():
        return "%d" % value
    text = "%.*f" % (digits, value)
    return text + (" ± %.*f" % (digits, std) if std is not None else "")


def markdown(results):
    synthetic = results["dataset"] == "synthetic"
    header = ["model", "test AUC", "paper AUC", "test ACC", "test AUC (pos >= 2)", "best epoch",
              "s / epoch", "parameters", "runs (seeds; folds)"]
    if synthetic:
        header[3:3] = ["oracle AUC", "AUC / oracle"]
    lines = ["# %s: DKVMN vs DKT" % results["dataset"], "",
             "Test figures of the checkpoint with the best validation AUC (the test split is scored once). "
             "Mean ± std over the runs when there are several; every run is listed in %s.json."
             % results["dataset"], "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in results["models"]:
        row = [entry["model"], _fmt(entry["test_auc"], entry["test_auc_std"]), _fmt(entry["paper_auc"]),
               _fmt(entry["test_acc"], entry["test_acc_std"]),
               _fmt(entry["test_auc_from2"], entry["test_auc_from2_std"]),
               _fmt(entry["best_epoch"], entry["best_epoch_std"], 1),
               _fmt(entry["seconds_per_epoch"], None, 1),
               "{:,}".format(entry["num_parameters"]),
               "%d (%s; %s)" % (entry["n_runs"], " ".join(map(str, entry["seeds"])),
                                " ".join(map(str, entry["folds"])))]
        if synthetic:
            row[3:3] = [_fmt(entry["oracle_auc"], entry["oracle_auc_std"]),
                        _fmt(entry["auc_over_oracle"], entry["auc_over_oracle_std"], 3)]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Hardware: %s; TensorFlow threads %s; %s." % (
        results["hardware"], results["threads"], results["versions"]), ""]
    for entry in results["models"]:
        lines += ["**%s**%s: `%s`" % (entry["model"], " (SMOKE: not a result)" if entry["smoke"] else "",
                                      entry["command"]), ""]
        lines.append("settings that differ from main.py's constants: `%s`" % json.dumps(dict(
            (k, v) for k, v in entry["overrides"].items() if k not in ("runs_dir", "dataset", "model"))))
        lines.append("")
        for run in entry["runs"]:
            lines.append("- %s: seed %d, fold %d, test AUC %.4f, valid AUC %.4f, best epoch %d of %d (%s), "
                         "%.1f s/epoch, %.0f s in all" % (
                             run["run_dir"], run["seed"], run["fold"], run["test_auc"], run["valid_auc"],
                             run["best_epoch"], run["epochs_run"], run["stopped"], run["seconds_per_epoch"],
                             run["wall_seconds"]))
        lines.append("")
    return "\n".join(lines)


def write_results(args, entries):
    """Writes <out>/<dataset>.json and .md; models not run now keep their existing records."""
    import tensorflow.compat.v1 as tf
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, args.dataset + ".json")
    kept = []
    if os.path.exists(json_path):
        with open(json_path) as f:
            kept = [e for e in json.load(f).get("models", []) if e["model"] not in entries]
    models = sorted(kept + list(entries.values()), key=lambda e: MODELS.index(e["model"]))
    results = {"dataset": args.dataset, "hardware": hardware(), "threads": args.threads,
               "versions": "Python %s, TensorFlow %s" % (platform.python_version(), tf.__version__),
               "models": models}
    from utils.run_files import write_json, write_text
    write_json(json_path, results)
    text = markdown(results)
    write_text(os.path.join(args.out, args.dataset + ".md"), text + "\n")
    return text


def render(args):
    """--render: rewrites <out>/<dataset>.md from its JSON (no training)."""
    with open(os.path.join(args.out, args.dataset + ".json")) as f:
        text = markdown(json.load(f))
    from utils.run_files import write_text
    write_text(os.path.join(args.out, args.dataset + ".md"), text + "\n")
    return text


class JobFailed(Exception):
    """A run started by --jobs exited with an error; `returncode` is its exit status."""

    def __init__(self, message, returncode):
        super().__init__(message)
        self.returncode = returncode


def child_argv(args, model, seed, fold, out):
    """The argv of one run in its own process: this call's options, one model / seed / fold, its own --out."""
    rest = [args.dataset, "--models", model, "--seeds", str(seed), "--folds", str(fold), "--out", out,
            "--runs_dir", args.runs_dir, "--threads", str(args.threads)]
    if args.dataset_dir:
        rest += ["--dataset_dir", args.dataset_dir]
    if args.epochs is not None:
        rest += ["--epochs", str(args.epochs)]
    for item in args.sets:
        rest += ["--set", item]
    return rest + (["--smoke"] if args.smoke else [])


def parallel_runs(args, tasks, log):
    """Runs each (model, seed, fold) of `tasks` as `reproduce.py` in a child process, args.jobs at a time.

    Yields (model, record, overrides) as runs finish. A failed child stops the others and raises JobFailed
    with the tail of its log (kept in a temporary folder).
    """
    scratch = tempfile.mkdtemp(prefix="reproduce-")
    waiting, running = list(tasks), []
    try:
        while waiting or running:
            while waiting and len(running) < args.jobs:
                model, seed, fold = task = waiting.pop(0)
                out = os.path.join(scratch, "%s-s%d-f%d" % task)
                log_file = open(out + ".log", "w")
                process = subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__)] + child_argv(args, model, seed, fold, out),
                    stdout=log_file, stderr=subprocess.STDOUT)
                running.append((task, out, log_file, process))
                log("started %s, seed %d, fold %d (log: %s.log)" % (model, seed, fold, out))
            time.sleep(0.5)
            for item in [r for r in running if r[3].poll() is not None]:
                (model, seed, fold), out, log_file, process = item
                running.remove(item)
                log_file.close()
                if process.returncode != 0:
                    with open(out + ".log") as f:
                        tail = "".join(f.readlines()[-15:])
                    raise JobFailed("the run of %s, seed %d, fold %d failed (exit %d); the end of %s.log:\n%s"
                                    % (model, seed, fold, process.returncode, out, tail), process.returncode)
                with open(os.path.join(out, args.dataset + ".json")) as f:
                    entry = json.load(f)["models"][0]
                log("finished %s, seed %d, fold %d: test AUC %.4f" % (model, seed, fold, entry["test_auc"]))
                yield model, entry["runs"][0], entry["overrides"]
    finally:
        for _, _, log_file, process in running:
            process.kill()
            log_file.close()


def reproduce(argv, log=print):
    args = parse_args(argv)
    if args.render:
        log(render(args))
        return {}
    command = "python scripts/reproduce.py " + " ".join(shlex.quote(a) for a in argv)
    tasks = [(model, seed, fold) for model in args.models for fold in args.folds for seed in args.seeds]
    if args.jobs > 1:
        finished = parallel_runs(args, tasks, log)
    else:
        finished = ((model,) + run_one(args, model, seed, fold, log) for model, seed, fold in tasks)
    runs, overrides, entries = {}, {}, {}
    for model, record, model_overrides in finished:
        runs.setdefault(model, []).append(record)
        runs[model].sort(key=lambda r: (r["fold"], r["seed"]))
        overrides[model] = model_overrides
        entries[model] = model_entry(args, model, runs[model], overrides[model], command)
        text = write_results(args, entries)  # after every run: a stopped script keeps what it did
    log(text)
    return entries


def main_entry(argv):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow.compat.v1 as tf
    tf.logging.set_verbosity(tf.logging.ERROR)
    tf.disable_v2_behavior()
    from utils.commands import exit_status
    try:
        return exit_status(lambda: reproduce(argv, log=lambda *a: print(*a, flush=True)))
    except JobFailed as error:
        print("error: %s" % error, file=sys.stderr)
        return error.returncode


if __name__ == "__main__":
    sys.exit(main_entry(sys.argv[1:]))

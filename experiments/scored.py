"""A recorded run scored again by evaluate.py: its selected checkpoint on one split, with the model's state
cut every SEQ_LEN answers (the paper's protocol) or carried over each whole history (as a served model
answers).

The figures are kept beside the records, one file per run, split and state:
<results>/scored/<data set>/<key>-<split>-<state>.json (AUC and its 95% interval, AUC on positions >= 2,
ECE, Brier, loss, AUC by position in the history, and the command that made them). Table 3's whole-history
column reads the test split scored carried; results/state_modes/ reads all four. No TensorFlow here: the
scoring is `python evaluate.py` in its own process.
"""
import glob
import os
import subprocess
import sys
import tempfile

from experiments.runs import run_folder
from utils import run_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVALUATE_PY = os.path.join(REPO, "evaluate.py")
SPLITS = ("valid", "test")
STATES = ("cut", "carried")
KEPT = ("auc", "auc_ci_low", "auc_ci_high", "auc_ci_resamples", "auc_from2", "ece", "brier", "loss",
        "auc_by_position")


def path(results_dir, dataset, key, split="test", state="carried"):
    return os.path.join(results_dir, "scored", dataset, "%s-%s-%s.json" % (key, split, state))


def read(results_dir, record, split="test", state="carried"):
    """The record's figures on `split` scored with the state `state`, or None when it was not scored so."""
    where = path(results_dir, record["dataset"], record["key"], split, state)
    return run_files.read_json(where) if os.path.isfile(where) else None


def evaluate_options(split, state):
    """evaluate.py's options that score `split` with the state `state`."""
    return ["--split", split, "--carry_state", "true" if state == "carried" else "false"]


def command(run_dir, split, state):
    return " ".join(["python evaluate.py", str(run_dir)] + evaluate_options(split, state))


def evaluate(run_dir, split, state):
    """evaluate.py on the run's own data: (metrics.json's dict, None), or (None, why it failed)."""
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, EVALUATE_PY, run_dir] + evaluate_options(split, state) + [
            "--evaluations_dir", out]
        completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True)
        found = glob.glob(os.path.join(out, "*", "metrics.json"))
        if completed.returncode != 0 or not found:
            said = completed.stderr.strip().splitlines() or ["exit status %d" % completed.returncode]
            return None, said[-1]
        return run_files.read_json(found[0]), None


def keep(results_dir, record, split, state, metrics):
    """Writes the kept figures of `metrics` for the record; returns them."""
    kept = dict((name, metrics.get(name)) for name in KEPT)
    kept.update(key=record["key"], model=record["model"], fold=record["fold"], seed=record["seed"],
                dataset=record["dataset"], split=split, state=state,
                training_state=run_files.state_mode(record.get("constants") or {}),
                run_dir=record.get("run_dir"), command=command(record.get("run_dir"), split, state))
    where = path(results_dir, record["dataset"], record["key"], split, state)
    os.makedirs(os.path.dirname(where), exist_ok=True)
    run_files.write_json(where, kept)
    return kept


def score_records(results_dir, records, runs_dir, splits, states, log=print):
    """Scores every record on each split and state not scored yet; returns how many evaluations failed. A
    record whose run folder is not under `runs_dir` is named and skipped."""
    failed = 0
    for record in sorted(records, key=lambda r: r["key"]):
        wanted = [(split, state) for split in splits for state in states
                  if read(results_dir, record, split, state) is None]
        folder = run_folder(record, runs_dir) if wanted else None
        if wanted and folder is None:
            log("%s: run folder not under %s, not scored" % (record["key"], runs_dir))
            continue
        for split, state in wanted:
            metrics, why = evaluate(folder, split, state)
            if metrics is None:
                failed += 1
                log("%s: evaluate.py --split %s (state %s) failed: %s" % (record["key"], split, state, why))
                continue
            kept = keep(results_dir, record, split, state, metrics)
            log("%s: %s, state %s: AUC %.4f, ECE %.4f" % (
                record["key"], split, state, kept["auc"], kept["ece"]))
    return failed


def auc_past(figures, seq_len):
    """The AUC on positions past `seq_len` of each history from kept figures (None where not scored or the
    range is not one of evaluate.py's position ranges)."""
    for row in (figures or {}).get("auc_by_position") or []:
        if row.get("last") is None and row.get("first") == seq_len + 1:
            return row.get("auc")
    return None

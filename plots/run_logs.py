"""Reading run folders (no TensorFlow): shared by the scripts in plots/.

A run folder is written by main.py (see README, "The run folder"):
config.json, steps.csv, epochs.csv, summary.json (at the end only), skills.csv,
correlation_weights.csv (DKVMN only), predictions.csv, checkpoints/, tensorboard/.

Everything here raises RunError for bad input; the scripts end through `exit_status`, which prints its
message as "error: <message>" on stderr and exits with status 2.
"""
import json
import os
import sys

import numpy as np
import pandas as pd

EPOCH_COLUMNS = ["epoch", "learning_rate", "train_loss", "valid_loss", "valid_acc", "valid_auc",
                 "valid_auc_from2", "test_loss", "test_acc", "test_auc", "test_auc_from2",
                 "train_seconds", "eval_seconds"]
STEP_COLUMNS = ["step", "epoch", "train_loss"]

MODEL_NAMES = {"dkvmn": "DKVMN", "dkt": "DKT"}


class RunError(Exception):
    """Expected bad input (not a run folder, empty run, wrong kind of run, unreadable file)."""


def exit_status(body, written):
    """Runs `body()`; returns the script's exit status: 0, or 2 after one "error: ..." line on stderr for
    bad input (RunError) or a failed write (OSError; `written` names what could not be written)."""
    try:
        body()
    except RunError as e:
        sys.stderr.write("error: %s\n" % e)
        return 2
    except OSError as e:
        sys.stderr.write("error: cannot write %s: %s\n" % (written, e))
        return 2
    return 0


class Run(object):
    """What a run folder holds, read once.

    path, name (folder name), config (dict, {} if absent), constants (dict),
    summary (dict or None while the run is in progress), epochs (DataFrame, one row per
    finished epoch, sorted, may be empty), steps (DataFrame or None), model, dataset,
    best_epoch (int or None).
    """

    def __init__(self, path, config, summary, epochs, steps):
        self.path = path
        self.name = os.path.basename(os.path.normpath(path))
        self.config = config
        self.constants = config.get("constants") or {}
        self.summary = summary
        self.epochs = epochs
        self.steps = steps
        self.model = str(self.constants.get("model") or (summary or {}).get("model") or "?")
        self.dataset = str(self.constants.get("dataset") or (summary or {}).get("dataset") or "?")
        self.best_epoch = _best_epoch(summary, epochs)

    @property
    def model_label(self):
        return MODEL_NAMES.get(self.model.lower(), self.model)

    @property
    def is_dkt(self):
        return self.model.lower() == "dkt"

    def __repr__(self):
        return "Run(%r, model=%r, dataset=%r, epochs=%d)" % (self.path, self.model, self.dataset,
                                                              len(self.epochs))


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError as e:
        raise RunError("%s is not valid JSON (%s)" % (path, e)) from None
    except OSError as e:
        raise RunError("cannot read %s (%s)" % (path, e.strerror or e)) from None


def _read_numeric_csv(path, columns, key):
    """Read a log written as training goes: tolerate a half-written last line and the rows
    repeated by a resumed run (the last one wins); check the header."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=columns)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise RunError("cannot parse %s (%s)" % (path, str(e).strip().splitlines()[-1])) from None
    except OSError as e:
        raise RunError("cannot read %s (%s)" % (path, e.strerror or e)) from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise RunError("%s lacks the column(s) %s (header: %s); expected %s"
                       % (path, ",".join(missing), ",".join(map(str, table.columns)), ",".join(columns)))
    out = pd.DataFrame({c: pd.to_numeric(table[c], errors="coerce") for c in table.columns})
    out = out[np.isfinite(out[key].values.astype(float))]
    out = out.drop_duplicates(subset=[key], keep="last").sort_values(key).reset_index(drop=True)
    return out


def _best_epoch(summary, epochs):
    if summary and summary.get("best_epoch") is not None:
        try:
            return int(summary["best_epoch"])
        except (TypeError, ValueError):
            pass
    if epochs is None or len(epochs) == 0 or "valid_auc" not in epochs:
        return None
    auc = epochs["valid_auc"].values.astype(float)
    if not np.isfinite(auc).any():
        return None
    return int(epochs["epoch"].values[int(np.nanargmax(auc))])


def load_config(path):
    """config.json of a run folder; RunError when `path` is not a run folder."""
    if not os.path.isdir(path):
        raise RunError("%s is not a folder (expected a run folder such as runs/<dataset>-<model>-<time>/)"
                       % path)
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        raise RunError("%s is not a run folder: it has no config.json (expected a folder written by main.py, "
                       "e.g. runs/<dataset>-<model>-<time>/)" % path)
    config = _read_json(config_path)
    if not isinstance(config, dict):
        raise RunError("%s: expected a JSON object" % config_path)
    return config


def load_run(path, need_epochs=True):
    """Read one run folder. With need_epochs, a run without any finished epoch is an error."""
    config = load_config(path)
    summary_path = os.path.join(path, "summary.json")
    summary = _read_json(summary_path) if os.path.isfile(summary_path) else None
    epochs_path = os.path.join(path, "epochs.csv")
    if os.path.isfile(epochs_path):
        epochs = _read_numeric_csv(epochs_path, ["epoch"], "epoch")
    else:
        epochs = pd.DataFrame(columns=EPOCH_COLUMNS)
    if need_epochs and len(epochs) == 0:
        raise RunError("%s has no finished epoch yet (epochs.csv %s): wait for the first epoch to end"
                       % (path, "is empty" if os.path.isfile(epochs_path) else "is missing"))
    steps_path = os.path.join(path, "steps.csv")
    steps = _read_numeric_csv(steps_path, STEP_COLUMNS, "step") if os.path.isfile(steps_path) else None
    if steps is not None:
        steps = steps[np.isfinite(steps["train_loss"].values.astype(float))].reset_index(drop=True)
    return Run(path, config, summary, epochs, steps)


def read_skills(path, n_skills=None):
    """skills.csv -> DataFrame(skill int, skill_id str, name str, true_concept float, NaN when unknown).
    Without skills.csv (or for skills it lacks) the index stands in for the id and the name."""
    skills_path = os.path.join(path, "skills.csv")
    if os.path.isfile(skills_path):
        try:
            table = pd.read_csv(skills_path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise RunError("cannot parse %s (%s)" % (skills_path, str(e).strip().splitlines()[-1])) from None
        if "skill" not in table.columns:
            raise RunError("%s lacks the column skill (header: %s); expected skill,skill_id,name,true_concept"
                           % (skills_path, ",".join(map(str, table.columns))))
        index = pd.to_numeric(table["skill"], errors="coerce")
        if index.isnull().any():
            bad = int(np.flatnonzero(index.isnull().values)[0])
            raise RunError("%s:%d: skill %r is not an integer index"
                           % (skills_path, bad + 2, table["skill"][bad]))
        out = pd.DataFrame({"skill": index.astype(int)})
        out["skill_id"] = table["skill_id"].astype(str) if "skill_id" in table else out["skill"].astype(str)
        out["name"] = table["name"].astype(str) if "name" in table else ""
        if "true_concept" in table:
            out["true_concept"] = pd.to_numeric(table["true_concept"], errors="coerce")
        else:
            out["true_concept"] = np.nan
    else:
        out = pd.DataFrame({"skill": np.arange(n_skills or 0, dtype=int)})
        out["skill_id"] = out["skill"].astype(str)
        out["name"] = ""
        out["true_concept"] = np.nan
    out = out.drop_duplicates(subset=["skill"], keep="last").sort_values("skill").reset_index(drop=True)
    empty = out["name"].str.strip() == ""
    out.loc[empty, "name"] = out.loc[empty, "skill_id"]
    return out


def read_correlation_weights(path):
    """correlation_weights.csv -> (skill indices int array [S], weights float array [S, N])."""
    weights_path = os.path.join(path, "correlation_weights.csv")
    try:
        table = pd.read_csv(weights_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise RunError("cannot parse %s (%s)" % (weights_path, str(e).strip().splitlines()[-1])) from None
    w_columns = [c for c in table.columns if str(c).startswith("w")]
    if "skill" not in table.columns or not w_columns:
        raise RunError("%s: expected the header skill,w0,w1,...,w{N-1} (got %s)"
                       % (weights_path, ",".join(map(str, table.columns))))
    w_columns.sort(key=lambda c: int(c[1:]) if c[1:].isdigit() else -1)
    values = table[w_columns].apply(pd.to_numeric, errors="coerce").values.astype(float)
    skills = pd.to_numeric(table["skill"], errors="coerce").values
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1) | ~np.isfinite(skills))
    if len(bad_rows):
        raise RunError("%s:%d: not a number in this row" % (weights_path, bad_rows[0] + 2))
    if len(values) == 0:
        raise RunError("%s has no rows" % weights_path)
    return skills.astype(int), values


def run_labels(runs, separate=False):
    """Legend label of each run: the model, plus the data set when the runs differ in data set,
    plus the folder name when two runs would otherwise share a label and separate is set."""
    with_dataset = len(set(r.dataset for r in runs)) > 1
    labels = [r.model_label + (" · " + r.dataset if with_dataset else "") for r in runs]
    if separate:
        counts = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        labels = [label + (" [%s]" % r.name if counts[label] > 1 else "") for label, r in zip(labels, runs)]
    return labels


def group_runs(runs, separate=False):
    """[(label, [runs])]: runs of the same model and data set form one group (a seed band),
    in the order of first appearance; with separate, one group per run."""
    labels = run_labels(runs, separate=separate)
    groups = []
    index = {}
    for label, run in zip(labels, runs):
        if label not in index:
            index[label] = len(groups)
            groups.append((label, []))
        groups[index[label]][1].append(run)
    return groups

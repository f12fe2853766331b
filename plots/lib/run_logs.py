"""Run folders as the plots see them (no TensorFlow): a `Run` per folder, legend labels, seed/fold groups.

The folder's format and its readers are utils/run_files.py's (one home); bad input raises
utils.errors.RunFolderError and the scripts end through utils.commands.exit_status (one `error:` line,
exit 2).
"""
import os
import re

import numpy as np

from utils import model_registry, run_files
from utils.errors import RunFolderError


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
        return model_registry.label(self.model)

    @property
    def has_correlation_weights(self):
        """Whether the run wrote each skill's weights over latent concepts (a DKVMN run that finished): what
        the clustering figures need."""
        return os.path.isfile(os.path.join(self.path, run_files.CORRELATION_WEIGHTS))

    def __repr__(self):
        return "Run(%r, model=%r, dataset=%r, epochs=%d)" % (self.path, self.model, self.dataset,
                                                              len(self.epochs))


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


def load_run(path, need_epochs=True):
    """Read one run folder. With need_epochs, a run without any finished epoch is an error."""
    config = run_files.read_config(path)
    epochs = run_files.read_epochs(path)
    if need_epochs and len(epochs) == 0:
        state = "is empty" if os.path.isfile(os.path.join(path, run_files.EPOCHS)) else "is missing"
        raise RunFolderError("%s has no finished epoch yet (epochs.csv %s): wait for the first epoch to end"
                             % (path, state))
    return Run(path, config, run_files.read_summary(path), epochs, run_files.read_steps(path))


def run_labels(runs, separate=False, by_model=False):
    """Legend label of each run: the model, plus the data set when the runs differ in data set (unless
    by_model: versions of one data set, say, banded together), plus the folder name when two runs would
    otherwise share a label and separate is set."""
    with_dataset = len(set(r.dataset for r in runs)) > 1 and not by_model
    labels = [r.model_label + (" · " + r.dataset if with_dataset else "") for r in runs]
    if separate:
        counts = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        labels = [label + (" [%s]" % r.name if counts[label] > 1 else "") for label, r in zip(labels, runs)]
    return labels


def group_runs(runs, separate=False, by_model=False):
    """[(label, [runs])]: runs of the same model and data set form one group (a band over the folds or
    seeds they differ in), in the order of first appearance; with by_model, runs of the same model whatever
    their data set; with separate, one group per run."""
    labels = run_labels(runs, separate=separate, by_model=by_model)
    groups = []
    index = {}
    for label, run in zip(labels, runs):
        if label not in index:
            index[label] = len(groups)
            groups.append((label, []))
        groups[index[label]][1].append(run)
    return groups


def natural_order(name):
    """Sort key that puts "v2" before "v10": the name's digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def group_members(runs):
    """What a group's runs are, for its legend: "n=3: folds 1, 2, 3", "n=2: seeds 0, 1",
    "n=4: folds 1, 2 x seeds 0, 1" (the constants FOLD and SEED, named where the runs differ in them;
    "?" for a run that does not record one), "n=20: 20 data sets, v0 ... v9" (first and last by name), or
    "n=2" for runs that differ in none of them."""
    parts = []
    datasets = sorted(set(run.dataset for run in runs), key=natural_order)
    if len(datasets) > 1:
        parts.append("%d data sets, %s" % (len(datasets), ", ".join(datasets) if len(datasets) <= 3
                                           else "%s ... %s" % (datasets[0], datasets[-1])))
    for constant, plural in (("fold", "folds"), ("seed", "seeds")):
        values = [run.constants.get(constant) for run in runs]
        if len(set(values)) > 1:
            names = [str(v) for v in sorted(set(v for v in values if v is not None))]
            parts.append("%s %s" % (plural, ", ".join(names + (["?"] if None in values else []))))
    return "n=%d" % len(runs) + (": " + " x ".join(parts) if parts else "")

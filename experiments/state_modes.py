"""Cut or carried state: the round that says how a served model should be trained (results/NOTES.md
declares it).

A run of a Table 3 row restarts the model's state every SEQ_LEN answers (cut); with carry_state=true it trains
and selects with the state passed from one chunk of a student to the next (carried), as export.py serves it.
Each run is scored on validation and test both ways (experiments/scored.py). Per data set and model this
module sets the two training modes side by side: per scoring mode the AUC over folds (mean, std, t interval),
the ECE and the AUC past SEQ_LEN; the paired t of carried - cut training over the folds both have; and the
mode the declared criterion picks: the higher mean validation AUC scored carried, the way a served model is
used. Test figures are reported and decide nothing. No TensorFlow.
"""
import os

from experiments import scored, statistics
from experiments.runs import read_records
from experiments.settings import settings_hash, table_settings
from experiments.study_report import fmt
from utils import run_files

TRAINING_MODES = ("cut", "carried")
CRITERION = ("valid", "carried")


def mode_settings(dataset, model, mode):
    """The row's settings trained in `mode` (None: no row)."""
    row = table_settings(dataset, model)
    if row is None:
        return None
    return dict(row, carry_state=True) if mode == "carried" else row


def mode_records(results_dir, dataset, model):
    """{training mode: records of the row's settings in that mode}; other records are not counted."""
    rows = dict((mode, mode_settings(dataset, model, mode)) for mode in TRAINING_MODES)
    digests = dict((mode, settings_hash(row)) for mode, row in rows.items() if row is not None)
    found = dict((mode, []) for mode in digests)
    for record in read_records(results_dir, dataset):
        if record["model"] != model or record.get("smoke"):
            continue
        for mode, digest in digests.items():
            if record["settings_hash"] == digest:
                found[mode].append(record)
    return found


def figures(results_dir, record):
    """{(split, state): the kept figures or None} of one record."""
    return dict(((split, state), scored.read(results_dir, record, split, state))
                for split in scored.SPLITS for state in scored.STATES)


def measure(values):
    return statistics.over_units([v for v in values if v is not None])


def mode_cell(results_dir, records, seq_len):
    """One training mode's figures over its folds, per (split, state)."""
    by_fold = dict((r["fold"], figures(results_dir, r)) for r in sorted(records, key=lambda r: r["seed"]))
    cell = {"folds": sorted(by_fold), "missing": []}
    for split in scored.SPLITS:
        for state in scored.STATES:
            kept = [by_fold[f][(split, state)] for f in cell["folds"]]
            cell["missing"] += ["fold %d %s %s" % (f, split, state) for f, k in zip(cell["folds"], kept)
                                if k is None]
            cell["%s_%s" % (split, state)] = {
                "auc": measure([k and k["auc"] for k in kept]),
                "ece": measure([k and k["ece"] for k in kept]),
                "auc_past_seq_len": measure([scored.auc_past(k, seq_len) for k in kept]),
                "by_fold": dict((f, k and k["auc"]) for f, k in zip(cell["folds"], kept))}
    return cell


def carried_minus_cut(cells, split, state):
    """Paired t of carried - cut training on (split, state) over the folds both have."""
    a, b = (cells[m]["%s_%s" % (split, state)]["by_fold"] for m in ("carried", "cut"))
    folds = sorted(f for f in a if f in b and a[f] is not None and b[f] is not None)
    return statistics.paired_over_units([a[f] for f in folds], [b[f] for f in folds])


def chosen_mode(cells):
    """The training mode with the higher mean validation AUC scored carried; None until both modes have it on
    the same folds, every one of them (a mean over other folds would compare other students)."""
    by_fold = dict((m, cells[m]["%s_%s" % CRITERION]["by_fold"]) for m in TRAINING_MODES)
    folds = set(by_fold["cut"])
    if not folds or set(by_fold["carried"]) != folds or any(
            v is None for m in TRAINING_MODES for v in by_fold[m].values()):
        return None
    means = dict((m, sum(by_fold[m].values()) / len(folds)) for m in TRAINING_MODES)
    return max(TRAINING_MODES, key=lambda m: (means[m], m == "cut"))  # a tie keeps the paper's cut


def build(results_dir, datasets, models):
    """The report: one entry per (data set, model) that has records."""
    entries = []
    for dataset in datasets:
        for model in models:
            records = mode_records(results_dir, dataset, model)
            if not any(records.values()):
                continue
            seq_len = table_settings(dataset, model)["seq_len"]
            cells = dict((m, mode_cell(results_dir, records.get(m, []), seq_len)) for m in TRAINING_MODES)
            entries.append({
                "dataset": dataset, "model": model, "seq_len": seq_len, "cells": cells,
                "settings_hash": dict((m, settings_hash(mode_settings(dataset, model, m)))
                                      for m in TRAINING_MODES),
                "carried_minus_cut": dict(("%s_%s" % (split, state), carried_minus_cut(cells, split, state))
                                          for split in scored.SPLITS for state in scored.STATES),
                "chosen": chosen_mode(cells)})
    return {"criterion": "mean validation AUC over the folds, scored carried", "entries": entries}


# --- markdown -----------------------------------------------------------------------------------------------

def auc_text(measured):
    if not measured["n"]:
        return "-"
    if measured["n"] < 2:
        return "%s (1)" % fmt(measured["mean"])
    return "%s ± %s [%s, %s] (%d)" % (fmt(measured["mean"]), fmt(measured["std"]), fmt(measured["low"]),
                                     fmt(measured["high"]), measured["n"])


def entry_lines(entry):
    lines = ["### %s, %s (SEQ_LEN %d)" % (entry["dataset"], entry["model"].upper(), entry["seq_len"]), "",
             "| training | scored | validation AUC | test AUC, mean ± std [95% t] (folds) | test ECE | "
             "test AUC past SEQ_LEN |", "|---|---|---|---|---|---|"]
    for mode in TRAINING_MODES:
        cell = entry["cells"][mode]
        for state in scored.STATES:
            valid, test = cell["valid_%s" % state], cell["test_%s" % state]
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                mode, state, fmt(valid["auc"]["mean"]), auc_text(test["auc"]), fmt(test["ece"]["mean"]),
                fmt(test["auc_past_seq_len"]["mean"])))
    lines.append("")
    for split, state in (CRITERION,) + tuple(("test", state) for state in scored.STATES):
        diff = entry["carried_minus_cut"]["%s_%s" % (split, state)]
        if diff.get("n", 0) >= 2:
            lines.append("- carried - cut training, %s scored %s%s: %s [%s, %s], paired t over %d folds, "
                         "p %s" % (
                             split, state, " (the criterion)" if (split, state) == CRITERION else "",
                             fmt(diff["mean_difference"], sign=True), fmt(diff["low"], sign=True),
                             fmt(diff["high"], sign=True), diff["n"], fmt(diff["p_value"], 3)))
    missing = [m + ": " + ", ".join(entry["cells"][m]["missing"]) for m in TRAINING_MODES
               if entry["cells"][m]["missing"]]
    if missing:
        lines.append("- not scored yet (`python scripts/state_modes.py` scores them): " + "; ".join(missing))
    chosen = entry["chosen"]
    lines.append("- **the criterion picks: %s**" % (
        "%s training" % chosen if chosen else "nothing yet (both modes need their validation AUC scored "
                                              "carried on the same folds)"))
    return lines + [""]


def markdown(report, command):
    lines = ["# Cut or carried state: how a served model should be trained", "",
             "Each run is a Table 3 row's settings, trained with the state cut every SEQ_LEN answers (the "
             "paper's protocol) or carried from one chunk of a student to the next (`carry_state=true`), its "
             "epoch selected on validation in its own mode, then scored on validation and test both ways "
             "(`evaluate.py --carry_state false|true`). A served model carries the state, so the criterion, "
             "declared before the runs (results/NOTES.md), is the %s; the test figures decide nothing. "
             "Intervals: Student's t over the folds (they share one test split, so they measure the noise of "
             "retraining). ECE: expected calibration error, 10 bins." % report["criterion"], "",
             "Rendered by `%s`." % command, ""]
    for entry in report["entries"]:
        lines += entry_lines(entry)
    return "\n".join(lines)


def write(report, out_dir, command):
    run_files.write_json(os.path.join(out_dir, "state_modes.json"), report)
    run_files.write_text(os.path.join(out_dir, "state_modes.md"), markdown(report, command) + "\n")

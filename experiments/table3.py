"""The DKVMN paper's Table 3 from the run records: test AUC per data set and model, with intervals and tests.

The table is the study (experiments/statistics.py) applied to the paper's four data sets with their declared
settings rows (experiments/settings.py): rows assist2009_updated, assist2015 and STATICS (a value per fold; a
fold run with several seeds counts with the mean of its seeds), Synthetic-5 v0 (a value per seed) and
Synthetic-5 over its versions v0 .. v19 (seed 0, a value per version). Only records with the settings of the
table's row count. Per cell: mean ± std over those values, Student's t 95% interval, n, the paper's figure,
the AUC on positions >= 2, and each run's own 95% interval (students resampled) when its summary has one.
DKVMN - DKT per row: a paired t-test over folds (or seeds, versions), and per fold a paired bootstrap over
students on the two runs' predictions.csv (found under runs_dir from the record's run folder). Each per-fold
result is stored once in <results>/paired/<data set>/<fold>-s<seed>.json, with the two record keys, and read
back on later renders, so the table survives the run folders being gone. No TensorFlow, no Ray.
"""
import json
import os
import shlex

import numpy as np

from experiments import scored, statistics
from experiments.runs import read_records, record_path, run_folder
from experiments.settings import SETTINGS, settings_hash, table_settings
from experiments.study_report import fmt
from utils import model_registry, run_files
from utils.errors import ConfigError, RunFolderError

LEVEL = statistics.LEVEL
PAPER_FOLDS = 5  # the paper's protocol for the three-line data sets: folds 1-5
VERSIONS = ["naive_c5_q50_s4000_v%d" % version for version in range(20)]
MODEL_A, MODEL_B = model_registry.names()[:2]  # the paper's two models, DKVMN and DKT; differences are A - B
BASELINES = model_registry.names()[2:]  # the classical models, each set beside both deep ones

# One row per block of Table 3: which data sets' records, and what one value of the mean is (its unit).
ROWS = [
    {"name": "assist2009_updated", "label": "ASSIST2009", "datasets": ["assist2009_updated"], "unit": "fold"},
    {"name": "assist2015", "label": "ASSIST2015", "datasets": ["assist2015"], "unit": "fold"},
    {"name": "STATICS", "label": "STATICS", "datasets": ["STATICS"], "unit": "fold"},
    {"name": "naive_c5_q50_s4000_v0", "label": "Synthetic-5 v0", "datasets": [VERSIONS[0]], "unit": "seed"},
    {"name": "synthetic5_versions", "label": "Synthetic-5 v0-v19", "datasets": VERSIONS, "unit": "version"},
]


# --- records -> values --------------------------------------------------------------------------------------

def table_records(results_dir, dataset, model):
    """(records of `model` on `dataset` run with the table's settings, keys of the other records)."""
    digest = settings_hash(table_settings(dataset, model))
    kept, left_out = [], []
    for record in read_records(results_dir, dataset):
        if record["model"] != model:
            continue
        if record["settings_hash"] == digest and not record.get("smoke"):
            kept.append(record)
        else:
            left_out.append(record["key"])
    return kept, left_out


# --- the fair round's records: one study per data set (results/NOTES.md, "The fair round") ------------------

# The study folder under the round's folder that holds each row's test runs (scripts/study.py --out).
ROUND_STUDIES = {"assist2009_updated": "assist2009_updated", "assist2015": "assist2015", "STATICS": "STATICS",
                 "naive_c5_q50_s4000_v0": "synthetic", "synthetic5_versions": "synthetic"}
STUDY_PHASES = ("rung", "search", "test")  # every record a study writes (experiments/runs.py RUNG)


def study_folder(round_dir, row):
    return os.path.join(round_dir, ROUND_STUDIES[row["name"]])


def round_records(round_dir, row, model):
    """The study's test runs of `model` on the row's data sets: each fold's run with the study's one choice,
    the test split scored once; none while the row's study has none."""
    records = [dict(r, record_path=record_path(ROUND_STUDIES[row["name"]], "test", r["key"]))
               for r in read_records(study_folder(round_dir, row), "test")
               if r["model"] == model and r["dataset"] in row["datasets"] and not r.get("smoke")]
    return records


def round_choices(round_dir, row):
    """model -> the study's choice for the row's folds ({trial, values, valid_auc, judged_on}), from its
    study.json; {} before the study has rendered its report."""
    path = os.path.join(study_folder(round_dir, row), "study.json")
    if not os.path.isfile(path):
        return {}
    report = run_files.read_json(path)
    return dict((entry["model"], entry["choices"].get("1")) for entry in report.get("models", [])
                if entry.get("choices"))


def choice_text(choices):
    """e.g. "DKVMN: trial 2 {"carry_state": true}, mean valid AUC 0.8312 (over folds 1, 2, 3, 4, 5)"."""
    parts = []
    for model in model_registry.names():
        choice = choices.get(model)
        if choice:
            parts.append("%s: trial %d %s, %s %s" % (
                model_registry.label(model), choice["trial"], json.dumps(choice["values"], sort_keys=True)
                if choice["values"] else "(the row)", choice["judged_on"], fmt(choice["valid_auc"])))
    return "; ".join(parts) or "the study has not chosen yet"


def cpu_hours(study):
    """The CPU hours of a study from its records: every sitting's wall time (to the rung, on to the end, the
    test scoring) times the run's threads; (hours, the number of records)."""
    seconds, n = 0.0, 0
    for phase in STUDY_PHASES:
        for record in read_records(study, phase):
            seconds += (record.get("wall_seconds") or 0.0) * (record.get("threads") or 1)
            n += 1
    return seconds / 3600.0, n


def unit_of(row, record):
    """The value a record counts towards: its fold, seed or version (None: not in this row)."""
    if row["unit"] == "fold":
        return record["fold"]
    if row["unit"] == "seed":
        return record["seed"]
    return VERSIONS.index(record["dataset"]) if record["seed"] == 0 else None


def unit_name(row, unit):
    return {"fold": "fold %d", "seed": "seed %d", "version": "v%d"}[row["unit"]] % unit


def run_fields(row, record):
    """One run as the table lists it."""
    summary = record["summary"]
    low, high = summary.get("test_auc_ci_low"), summary.get("test_auc_ci_high")
    return {"key": record["key"], "dataset": record["dataset"], "model": record["model"],
            "fold": record["fold"], "seed": record["seed"], "unit": unit_name(row, unit_of(row, record)),
            "run_dir": record.get("run_dir"), "test_auc": summary.get("test_auc"),
            "test_auc_from2": summary.get("test_auc_from2"), "valid_auc": summary.get("valid_auc"),
            "best_epoch": summary.get("best_epoch"), "wall_seconds": record.get("wall_seconds"),
            "ci": None if low is None or high is None else {
                "low": low, "high": high, "resamples": summary.get("test_auc_ci_resamples")},
            "record": record.get("record_path") or os.path.join("runs", record["dataset"],
                                                                record["key"] + ".json")}


def mean_of(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def cell(row, model, records, results_dir):
    """The figures of one (row, model): a value per unit (the mean of the unit's runs), then across units;
    the same over whole histories for the units whose every run was scored so."""
    groups = {}
    for record in records:
        unit = unit_of(row, record)
        if unit is not None and record["summary"].get("test_auc") is not None:  # None: test not scored
            groups.setdefault(unit, []).append(record)
    units = sorted(groups)
    runs = [run_fields(row, r) for unit in units for r in sorted(groups[unit], key=lambda r: (r["fold"],
                                                                                               r["seed"]))]
    values = dict((unit, mean_of([r["summary"].get("test_auc") for r in groups[unit]])) for unit in units)
    from2 = [mean_of([r["summary"].get("test_auc_from2") for r in groups[unit]]) for unit in units]
    averaged = ["%s: mean of seeds %s" % (unit_name(row, unit), ", ".join(str(r["seed"]) for r in sorted(
        groups[unit], key=lambda r: r["seed"]))) for unit in units if len(groups[unit]) > 1]
    paper = SETTINGS[row["datasets"][0]]["paper"].get(model)
    auc = statistics.over_units([values[unit] for unit in units])
    whole = [[scored.read(results_dir, r, "test", "carried") for r in groups[unit]] for unit in units]
    whole = [mean_of([w["auc"] for w in scored]) for scored in whole if scored and None not in scored]
    return {"model": model, "units": units, "unit_names": [unit_name(row, u) for u in units],
            "unit_values": [values[u] for u in units], "test_auc": auc,
            "test_auc_from2": statistics.over_units(from2),
            "paper_auc": paper, "reaches_paper": None if paper is None or auc["mean"] is None
            else bool(auc["mean"] >= paper),
            "gap_to_paper": None if paper is None or auc["mean"] is None else auc["mean"] - paper,
            "averaged_seeds": averaged, "runs": runs,
            "seconds_per_run": mean_of([r["wall_seconds"] for r in runs]),
            "whole_history_auc": statistics.over_units(whole)}


# --- the paired bootstrap of one fold -----------------------------------------------------------------------

def paired_path(results_dir, dataset, fold, seed):
    return os.path.join(results_dir, "paired", dataset, "%d-s%d.json" % (fold, seed))


def stored_result(path, keys, args):
    """The stored per-fold result at `path` when it compares these two records the same way, else None."""
    if not os.path.isfile(path):
        return None
    try:
        stored = run_files.read_json(path)
    except ValueError as error:
        raise ConfigError("%s is not valid JSON (%s): delete it to have it computed again" % (path, error))
    same = (stored.get("keys") == keys and stored.get("n_resamples") == args.resamples
            and stored.get("resample_seed") == args.seed)
    return stored if same else None


def predictions_folder(record, runs_dir):
    """The folder of the record's test predictions.csv: a study's scored search run keeps them in its
    evaluation folder (predictions_dir), a run that scored its own test split in its run folder."""
    evaluation = record.get("predictions_dir")
    if evaluation and os.path.isfile(os.path.join(evaluation, run_files.PREDICTIONS)):
        return evaluation
    return run_folder(record, runs_dir)


def fold_difference(record_a, record_b, args):
    """(result, note) of the paired bootstrap of two runs of one fold and seed: the stored result, else
    computed from their predictions.csv and stored; (None, why) when neither is possible."""
    dataset, fold, seed = record_a["dataset"], record_a["fold"], record_a["seed"]
    keys = {MODEL_A: record_a["key"], MODEL_B: record_b["key"]}
    path = paired_path(args.results, dataset, fold, seed)
    stored = stored_result(path, keys, args)
    if stored is not None:
        return stored, "stored"
    folders = [predictions_folder(record, args.runs_dir) for record in (record_a, record_b)]
    missing = [record["key"] for record, folder in zip((record_a, record_b), folders) if folder is None]
    if missing:
        return None, "run folder not under %s: %s" % (args.runs_dir, ", ".join(missing))
    runs = [dict(path=folder, dataset=dataset, fold=fold, seed=seed) for folder in folders]
    try:
        predictions = [run_files.read_predictions(folder) for folder in folders]
        figures = statistics.paired_bootstrap(predictions[0], predictions[1], runs[0], runs[1],
                                              args.resamples, args.seed)
    except RunFolderError as error:  # a PairingError too: different positions, answers of one class
        return None, "skipped: %s" % error
    result = dict(figures, resample_seed=args.seed)
    result["auc_" + MODEL_A], result["auc_" + MODEL_B] = result.pop("auc_a"), result.pop("auc_b")
    result.update(dataset=dataset, fold=fold, seed=seed, keys=keys,
                  run_dirs={MODEL_A: record_a.get("run_dir"), MODEL_B: record_b.get("run_dir")})
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run_files.write_json(path, result)
    return run_files.read_json(path), "stored"  # as a reused one: a render does not depend on the order


# --- a row: both models and their difference ----------------------------------------------------------------

def row_table(row, args):
    """One row of the table: from the records with the row's settings (results/runs/), or with --round from
    the round's study of the row's data set."""
    records, left_out = {}, []
    round_dir = getattr(args, "round", None)
    for model in model_registry.names():
        if round_dir:
            records[model] = round_records(round_dir, row, model)
            continue
        records[model] = []
        for dataset in row["datasets"]:
            kept, other = table_records(args.results, dataset, model)
            records[model] += kept
            left_out += other
    cells = dict((model, cell(row, model, records[model], args.results)) for model in model_registry.names())
    table = {"name": row["name"], "label": row["label"], "datasets": row["datasets"], "unit": row["unit"],
             "chosen": SETTINGS[row["datasets"][0]]["chosen"], "cells": cells,
             "left_out": sorted(left_out), "t_test": across_units(cells),
             "baselines": baseline_differences(cells),
             "per_fold": per_fold(row, records, args)}
    if round_dir:
        table.update(chosen=choice_text(round_choices(round_dir, row)),
                     study=os.path.relpath(study_folder(round_dir, row), round_dir))
    return table


def across_units(cells, model_a=MODEL_A, model_b=MODEL_B):
    """The paired t-test of A - B (by default DKVMN - DKT) over the units both models have."""
    a, b = cells[model_a], cells[model_b]
    shared = [unit for unit in a["units"] if unit in b["units"]]
    value = lambda c, unit: c["unit_values"][c["units"].index(unit)]
    test = statistics.paired_over_units([value(a, u) for u in shared], [value(b, u) for u in shared])
    test["units"] = [a["unit_names"][a["units"].index(u)] for u in shared]
    return test


def baseline_differences(cells):
    """baseline -> {deep model -> the paired t-test of baseline - deep model over their shared units}, for
    the baselines with runs in this row. The folds of the three-line data sets share one test split, so this
    t measures the noise of retraining, not of the test students (said where the table prints it)."""
    return dict((baseline, dict((deep, across_units(cells, baseline, deep)) for deep in (MODEL_A, MODEL_B)))
                for baseline in BASELINES if cells[baseline]["units"])


def per_fold(row, records, args):
    """The paired bootstrap of every (data set, fold, seed) both models ran, in the row's unit order."""
    by_run = dict(((r["dataset"], r["fold"], r["seed"]), r) for r in records[MODEL_B])
    pairs = []
    for record_a in sorted(records[MODEL_A], key=lambda r: (VERSIONS.index(r["dataset"])
                                                           if r["dataset"] in VERSIONS else 0,
                                                           r["fold"], r["seed"])):
        record_b = by_run.get((record_a["dataset"], record_a["fold"], record_a["seed"]))
        if record_b is None or unit_of(row, record_a) is None:
            continue
        result, note = fold_difference(record_a, record_b, args)
        pairs.append({"dataset": record_a["dataset"], "fold": record_a["fold"], "seed": record_a["seed"],
                      "unit": unit_name(row, unit_of(row, record_a)),
                      "keys": {MODEL_A: record_a["key"], MODEL_B: record_b["key"]},
                      "result": result, "note": note,
                      "stored": os.path.relpath(paired_path(args.results, record_a["dataset"],
                                                            record_a["fold"], record_a["seed"]),
                                                args.results) if result else None})
    return pairs


# --- outputs ------------------------------------------------------------------------------------------------

def interval(low, high, sign=False):
    return "-" if low is None or high is None else "[%s, %s]" % (fmt(low, sign=sign), fmt(high, sign=sign))


def p_text(p):
    return "-" if p is None else ("%.2g" % p if p >= 0.001 else "%.1e" % p)


def n_text(row, c):
    """e.g. "3 (folds 1, 2, 3 of 5; fold 1: mean of seeds 0, 1, 2)"."""
    if not c["units"]:
        return "0"
    if row["unit"] == "fold":
        which = "folds %s of %d" % (", ".join(map(str, c["units"])), PAPER_FOLDS)
    elif row["unit"] == "seed":
        which = "seeds %s, fold 1" % ", ".join(map(str, c["units"]))
    else:
        which = "versions %s of 20, seed 0" % ", ".join(map(str, c["units"]))
    return "%d (%s)" % (len(c["units"]), "; ".join([which] + c["averaged_seeds"]))


def run_ci_text(row, c):
    """Each run's own interval, e.g. "fold 1 s0 [0.8101, 0.8199]; fold 2 s0 -"."""
    parts = []
    for run in c["runs"]:
        name = run["unit"] + (" s%d" % run["seed"] if row["unit"] != "seed" and len(c["runs"]) > len(
            c["units"]) else "")
        parts.append("%s %s" % (name, interval(run["ci"]["low"], run["ci"]["high"]) if run["ci"] else "-"))
    return "; ".join(parts) or "-"


def reaches_text(c):
    if c["reaches_paper"] is None:
        return "-"
    return "%s (%s)" % ("yes" if c["reaches_paper"] else "no", gap_text(c["gap_to_paper"]))


def gap_text(gap):
    """A difference to the paper's figure, e.g. "+0.0016"; one more digit where 4 would print a gap of 0."""
    return fmt(gap, 4 if gap is None or abs(gap) >= 5e-5 else 5, sign=True)


def main_table(rows):
    lines = ["| data set | model | test AUC, mean ± std | 95% CI (t) | n | paper | reaches the paper's? "
             "| test AUC, positions >= 2 | each run's 95% CI (students resampled) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        for model in (MODEL_A, MODEL_B):
            c = row["cells"][model]
            auc = c["test_auc"]
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                row["label"], model_registry.label(model),
                "-" if auc["mean"] is None else fmt(auc["mean"]) + (" ± " + fmt(auc["std"]) if auc["std"]
                                                                     is not None else ""),
                interval(auc["low"], auc["high"]), n_text(row, c), fmt(c["paper_auc"]), reaches_text(c),
                fmt(c["test_auc_from2"]["mean"]), run_ci_text(row, c)))
    return lines


def difference_tables(rows, args):
    lines = ["## DKVMN - DKT", "",
             "Across folds (seeds, versions): a paired t-test on the two models' values of the same fold; "
             "mean difference, its t 95% interval, two-sided p.", "",
             "| data set | DKVMN - DKT | 95% CI (t) | p (paired t) | n |", "|---|---|---|---|---|"]
    for row in rows:
        test = row["t_test"]
        lines.append("| %s | %s | %s | %s | %d (%s) |" % (
            row["label"], fmt(test["mean_difference"], sign=True), interval(test["low"], test["high"], True),
            p_text(test["p_value"]), test["n"], ", ".join(test["units"]) or "-"))
    lines += ["", "Per fold (seed, version): a paired bootstrap over students on the two runs' "
              "predictions.csv (%d resamples, seed %d; the same resamples for both models), stored in "
              "paired/; '-' where it could not be computed (why: last column)." % (args["resamples"],
                                                                                   args["seed"]), "",
              "| data set | run | DKVMN | DKT | DKVMN - DKT | 95% CI (bootstrap) | p | p (DeLong) | students "
              "| note |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        for pair in row["per_fold"]:
            r = pair["result"] or {}
            name = pair["unit"] + ("" if row["unit"] == "seed" else " s%d" % pair["seed"])
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                row["label"], name, fmt(r.get("auc_" + MODEL_A)), fmt(r.get("auc_" + MODEL_B)),
                fmt(r.get("difference"), sign=True), interval(r.get("low"), r.get("high"), True),
                p_text(r.get("p_value")), p_text((r.get("delong") or {}).get("p_value")),
                r.get("n_students", "-"),
                pair["stored"] if pair["result"] else pair["note"]))
    return lines


def auc_text(c):
    auc = c["test_auc"]
    if auc["mean"] is None:
        return "-"
    return fmt(auc["mean"]) + (" ± " + fmt(auc["std"]) if auc["std"] is not None else "")


def difference_text(test):
    if test["mean_difference"] is None:
        return "-"
    return "%s %s" % (fmt(test["mean_difference"], sign=True), interval(test["low"], test["high"], True))


def seconds_text(c):
    return "-" if c["seconds_per_run"] is None else "%.0f" % c["seconds_per_run"]


BASELINE_EXPLANATION = (
    "Each baseline is trained on the training split the deep models train on, with the row's shared "
    "settings (the same SEQ_LEN cut, batches and epoch limit; experiments/settings.py), chooses its epoch"
    " (BKT: with or without forgetting) on the validation split, and is scored once on the same test "
    "positions, its history cut at SEQ_LEN as the deep models' is. Differences: baseline - deep model, a "
    "paired t over the folds (seeds, versions) both have, with its 95% interval; the folds share one test"
    " split, so the interval measures the noise of retraining, not of the test students. Whole histories:"
    " the same runs scored with the state (the counts, BKT's filter) carried over each test history from "
    "its first answer to its last (scripts/score_runs.py, `evaluate.py --carry_state true`), "
    "as a served model sees a student; compare it only with the same column. Seconds: the mean wall time "
    "of one run as its record has it (main.py in its own process, the record's threads, evaluation and "
    "the test scoring included), on the machine named in each record (`hardware`): compare times of one "
    "machine only.")


def baseline_table(rows):
    """The classical models beside DKVMN and DKT, per data set: their figures and paired differences."""
    lines = ["## The classical baselines beside DKVMN and DKT", "", BASELINE_EXPLANATION, "",
             "| data set | model | test AUC, mean ± std | 95% CI (t) | n | - DKT [95% CI] | - DKVMN [95% CI] "
             "| whole histories: test AUC, mean ± std (n) | seconds per run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if not row["baselines"]:
            continue
        for model in (MODEL_A, MODEL_B) + tuple(row["baselines"]):
            c = row["cells"][model]
            against = row["baselines"].get(model)
            whole = c["whole_history_auc"]
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                row["label"], model_registry.label(model), auc_text(c),
                interval(c["test_auc"]["low"], c["test_auc"]["high"]), n_text(row, c),
                difference_text(against[MODEL_B]) if against else "",
                difference_text(against[MODEL_A]) if against else "",
                "-" if not whole["n"] else "%s (%d)" % (auc_text({"test_auc": whole}), whole["n"]),
                seconds_text(c)))
    if len(lines) == 6:
        return []
    return lines + [""] + baseline_verdicts(rows)


def baseline_verdicts(rows):
    """Where a classical model ties a deep one (the interval holds 0) or beats it (the interval above 0)."""
    ties, beats = [], []
    for row in rows:
        for baseline, tests in sorted(row["baselines"].items()):
            for deep, test in sorted(tests.items()):
                if test["low"] is None or test["high"] is None:
                    continue
                name = "%s %s vs %s (%s)" % (row["label"], model_registry.label(baseline),
                                             model_registry.label(deep), difference_text(test))
                if test["low"] > 0:
                    beats.append(name)
                elif test["high"] >= 0:
                    ties.append(name)
    return ["- A classical model above a deep one (interval above 0): %s." % ("; ".join(beats) or "none"),
            "- A classical model level with a deep one (interval holds 0): %s." % ("; ".join(ties) or "none")]


def notes(rows, args, in_round=False):
    lines = ["## Notes", "",
             "- n is the number of values behind a mean: folds (ASSIST2009, ASSIST2015, STATICS; the "
             "paper used %d), seeds (Synthetic-5 v0, fold 1) or data versions (Synthetic-5 v0-v19, seed 0, "
             "one run each; the paper used 20). A fold run with several seeds counts once, with the mean of "
             "its seeds (said in the n column). std is over those values (ddof 1); the 95%% CI is Student's "
             "t with n - 1 degrees of freedom (none for n < 2)." % PAPER_FOLDS]
    if in_round:
        lines.append("- Each figure is the test AUC of the checkpoint with the best validation AUC; the test "
                     "split is scored once. The rows are the round's test runs, each with its study's one "
                     "choice (## The round); a choice with carry_state trains, selects and scores with the "
                     "state carried, the others with the state restarted every SEQ_LEN answers, as in the "
                     "paper.")
    else:
        lines.append("- Each figure is the test AUC of the checkpoint with the best validation AUC; the test "
                     "split is scored once. Only records with the table's settings "
                     "(experiments/settings.py, SETTINGS) count. State: cut, as in the paper (every run "
                     "trains, selects and scores with the model's state restarted every SEQ_LEN answers); "
                     "the same rows trained with the state carried, as a served model uses it: "
                     "results/state_modes/state_modes.md.")
        for row in rows:
            lines.append("- %s settings: %s." % (row["label"], row["chosen"]))
            if row["left_out"]:
                lines.append("  Left out (other settings or a smoke run): %s." % ", ".join(row["left_out"]))
    reached = ["%s %s" % (row["label"], model_registry.label(m)) for row in rows for m in (MODEL_A, MODEL_B)
               if row["cells"][m]["reaches_paper"]]
    short = ["%s %s (%s)" % (row["label"], model_registry.label(m), gap_text(row["cells"][m]["gap_to_paper"]))
             for row in rows for m in (MODEL_A, MODEL_B) if row["cells"][m]["reaches_paper"] is False]
    lines.append("- Reach the paper's figure (mean >= paper): %s. Below it: %s." % (
        ", ".join(reached) or "none", ", ".join(short) or "none"))
    lines.append(significance_note(rows))
    resamples = args["resamples"]
    lines.append("- Per fold, the bootstrap's p counts resampled differences on each side of 0 with a +1 "
                 "correction, so %d resamples cannot show a p below 2 / %d = %.3f; DeLong's test takes "
                 "answers as independent, so its p is the optimistic one."
                 % (resamples, resamples + 1, 2.0 / (resamples + 1)))
    lines.append("- The Synthetic-5 rows compare with the paper's one Synthetic-5 figure, which is likely "
                 "the mean over its 20 versions.")
    lines.append("- A run's own 95% CI (students resampled, seeded with its SEED) is in summary.json for "
                 "runs made since it was added; older records have none ('-').")
    return lines


def significance_note(rows):
    """Which rows' paired t-test finds a difference at the 5% level, and which model is higher."""
    significant, other = [], []
    for row in rows:
        test = row["t_test"]
        if test["p_value"] is not None and test["p_value"] < 0.05:
            significant.append("%s (%s higher, p %s)" % (
                row["label"], model_registry.label(MODEL_A if test["mean_difference"] > 0 else MODEL_B),
                p_text(test["p_value"])))
        else:
            other.append("%s (n %d)" % (row["label"], test["n"]))
    return ("- DKVMN and DKT differ at the 5%% level (paired t over the row's values): %s. Not (or not yet "
            "testable): %s." % (", ".join(significant) or "none", ", ".join(other) or "none"))


def every_run(rows):
    lines = ["## Every run", "", "Record (under runs/), fold, seed, test AUC, its 95% CI, AUC on positions "
             ">= 2, run folder.", ""]
    for row in rows:
        for model in model_registry.names():
            for run in row["cells"][model]["runs"]:
                lines.append("- %s %s: %s, fold %d, seed %d, test AUC %s %s, positions >= 2 %s, run folder "
                             "%s" % (row["label"], model_registry.label(model), run["record"], run["fold"],
                                     run["seed"],
                                     fmt(run["test_auc"]), interval(run["ci"]["low"], run["ci"]["high"])
                                     if run["ci"] else "(no CI)", fmt(run["test_auc_from2"]), run["run_dir"]))
    return lines


def with_blank(lines):
    return lines + [""] if lines else lines


def round_lines(table):
    """The round's choices and cost, and where the table it re-renders is kept."""
    lines = ["## The round", "",
             "One study per data set (scripts/study.py, the commands in results/NOTES.md, \"The fair "
             "round\"): DKVMN and DKT with the same budget of trials, each choice made on the mean "
             "validation AUC over the folds, every fold's test split scored once with the chosen settings. "
             "The rows above are those test runs (each study's runs/test/). Table 3 as it stood before the "
             "round, with the rows' declared settings, is kept beside it: results/table3.md, its records in "
             "results/runs/.", "",
             "| data set | study | the choice |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % (row["label"], row["study"], row["chosen"]) for row in table["rows"]]
    lines += ["", "CPU hours from the records (wall time of every sitting, to the rung, on to the end and "
              "the test scoring, times the run's threads): %s; in all %.1f." % (", ".join(
                  "%s %.1f (%d records)" % (s["study"], s["cpu_hours"], s["records"])
                  for s in table["round"]["studies"]), table["round"]["cpu_hours"]), ""]
    return lines


def markdown(table):
    rows = table["rows"]
    if "round" in table:
        head = ["# Table 3 from the fair round: DKVMN and DKT tuned alike, test AUC", "",
                "Made by `%s` from %d run records (the round's studies); every figure is in table3.json." % (
                    table["command"], table["n_records"]), ""]
    else:
        head = ["# Table 3 of the DKVMN paper: DKVMN and DKT, test AUC, and the classical baselines beside "
                "them", "", "Made by `%s` from %d run records (results/runs/); every figure is in "
                "table3.json." % (table["command"], table["n_records"]), ""]
    return "\n".join(
        head + main_table(rows) + [""] + difference_tables(rows, table["args"]) + [""]
        + (round_lines(table) if "round" in table else [])
        + with_blank(baseline_table(rows)) + notes(rows, table["args"], "round" in table) + [""]
        + every_run(rows)) + "\n"


def pair_name(row, pair):
    """e.g. "fold 2 seed 0"; a row counted in seeds has the seed in its unit already ("seed 1")."""
    return pair["unit"] + ("" if row["unit"] == "seed" else " seed %d" % pair["seed"])


def plot_entries(rows):
    """The differences as plots/plot_comparison.py's entries: per row the paired t over its units, and per
    fold the paired bootstrap (not per version: 20 rows; they are in table3.md). Intervals that are undefined
    (n < 2) or do not hold their point estimate are left out of the figure."""
    entries = []
    for row in rows:
        test = row["t_test"]
        entries.append({"dataset": row["label"], "difference": test["mean_difference"], "low": test["low"],
                        "high": test["high"], "p_value": test["p_value"], "n": test["n"],
                        "kind": "paired t over %d %ss" % (test["n"], row["unit"])})
        if row["unit"] == "version":
            continue
        for pair in row["per_fold"]:
            r = pair["result"]
            if r:
                entries.append({"dataset": row["label"], "difference": r["difference"], "low": r["low"],
                                "high": r["high"], "p_value": r["p_value"], "n": r["n_students"],
                                "kind": "paired bootstrap, %s" % pair_name(row, pair)})
    drawable = lambda e: (e["low"] is not None and e["high"] is not None and e["difference"] is not None
                          and e["low"] <= e["difference"] <= e["high"])
    return [e for e in entries if drawable(e)]


def build(args, argv):
    rows = [row_table(row, args) for row in ROWS]
    n_records = len(set(run["record"] for row in rows for m in model_registry.names()
                        for run in row["cells"][m]["runs"]))  # v0 seed 0 is in two rows, one record
    if n_records == 0 and getattr(args, "round", None):
        raise ConfigError("no test runs in the round's studies under %s (%s): run the round's study "
                          "commands (results/NOTES.md) first"
                          % (args.round, ", ".join(sorted(set(ROUND_STUDIES.values())))))
    if n_records == 0:
        raise ConfigError("no run records with the table's settings under %s: run scripts/reproduce.py "
                          "first, or give --results, the folder that holds runs/<data set>/*.json"
                          % os.path.join(args.results, "runs"))
    command = "python scripts/table3.py" + "".join(" " + shlex.quote(a) for a in argv)  # how it is made
    table = {"command": command, "n_records": n_records, "level": LEVEL,
             "args": {"resamples": args.resamples, "seed": args.seed}, "rows": rows}
    if getattr(args, "round", None):
        studies = sorted(set(row["study"] for row in rows))
        hours = dict((name, cpu_hours(os.path.join(args.round, name))) for name in studies)
        table["round"] = {"studies": [{"study": name, "cpu_hours": hours[name][0], "records": hours[name][1]}
                                      for name in studies],
                          "cpu_hours": sum(h for h, _ in hours.values())}
    return table


def write_outputs(table, args):
    """table3.json, .md and table3_differences.json (the forest plot's entries); returns (Markdown, the
    entries' path or None when no difference has an interval yet)."""
    text = markdown(table)
    entries = plot_entries(table["rows"])
    run_files.write_json(os.path.join(args.results, "table3.json"), table)
    run_files.write_text(os.path.join(args.results, "table3.md"), text)
    differences = os.path.join(args.results, "table3_differences.json")
    run_files.write_json(differences, entries)
    return text, (differences if entries else None)

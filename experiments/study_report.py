"""A study's report, rendered from its records only: <out>/study.md and study.json, the figures' inputs.

- the table: per model, the test AUC over folds (a fold's value = the mean over its seeds): mean ± std,
  Student's t 95% interval, n; the chosen settings per fold;
- the headline comparison of every two models: a paired bootstrap over all test students, pooled over the
  outer folds (cross-validation: every student is tested once; versions: each data set's test split) or,
  with one fixed test split, over the
  predictions averaged over the folds; beside it the paired t-test over folds (with a fixed test split it
  measures retraining noise only, and says so);
- each fold's paired bootstrap; the runs that failed, under the table; every command used.
Figures are drawn with the plot programs' library (scripts/study.py calls it) from the files written here.
No Ray, no TensorFlow.
"""
import itertools
import json
import os

from experiments import statistics, study
from utils import model_registry, run_files
from utils.errors import RunFolderError

DIFFERENCES = "differences.json"  # plots/plot_comparison.py's entries
POOLED = "pooled"  # the headline's predictions per model, for the calibration figure


def fold_values(records):
    """fold -> the mean test AUC over the fold's seeds, of one model's records."""
    by_fold = {}
    for record in records:
        auc = record["summary"].get("test_auc")
        if auc is not None:
            by_fold.setdefault(record["fold"], []).append(float(auc))
    return dict((fold, sum(values) / len(values)) for fold, values in by_fold.items())


def model_rows(plan, records_by_model, choices):
    rows = []
    for model in plan["models"]:
        records = records_by_model.get(model, [])
        values = fold_values(records)
        folds = sorted(values)
        figures = statistics.over_units([values[f] for f in folds])
        valid = statistics.over_units([r["summary"].get("valid_auc") for r in records])
        rows.append({"model": model, "label": model_registry.label(model), "test_auc": figures,
                     "folds": folds, "fold_values": [values[f] for f in folds],
                     "seeds": sorted(set(r["seed"] for r in records)), "n_runs": len(records),
                     "valid_auc": valid["mean"], "choices": choices.get(model, {}),
                     "runs": [{"fold": r["fold"], "seed": r["seed"], "test_auc": r["summary"].get("test_auc"),
                               "valid_auc": r["summary"].get("valid_auc"), "run_dir": r["run_dir"],
                               "record": os.path.join("runs", "test", r["key"] + ".json")}
                              for r in sorted(records, key=lambda r: (r["fold"], r["seed"]))]})
    return rows


def read_fold_predictions(records):
    """fold -> (predictions averaged over the fold's seeds, the run folders); RunFolderError when a run
    folder or its predictions.csv is gone."""
    by_fold = {}
    for record in records:  # a search run scored on test afterwards keeps its predictions in the evaluation
        by_fold.setdefault(record["fold"], []).append(record.get("predictions_dir") or record["run_dir"])
    return dict((fold, (statistics.averaged([run_files.read_predictions(d) for d in dirs], dirs), dirs))
                for fold, dirs in by_fold.items())


def comparisons(plan, records_by_model, resamples, seed):
    """Every two models: the headline pooled bootstrap, the t-test over folds and each fold's bootstrap."""
    predictions, missing = {}, {}
    for model in plan["models"]:
        try:
            predictions[model] = read_fold_predictions(records_by_model.get(model, []))
        except RunFolderError as error:
            missing[model] = str(error)
    pairs = []
    for model_a, model_b in itertools.combinations(plan["models"], 2):
        pairs.append(compare(plan, model_a, model_b, records_by_model, predictions, missing, resamples,
                             seed))
    return pairs, predictions


def compare(plan, model_a, model_b, records_by_model, predictions, missing, resamples, seed):
    values_a = fold_values(records_by_model.get(model_a, []))
    values_b = fold_values(records_by_model.get(model_b, []))
    shared = sorted(set(values_a) & set(values_b))
    t_test = statistics.paired_over_units([values_a[f] for f in shared], [values_b[f] for f in shared])
    t_test["folds"] = shared
    t_test["meaning"] = {"cross_validation": "over outer folds with different test students",
                         study.VERSIONS: "over data sets, each with its own test split"}.get(
        plan["design"], "over folds that share one test split: it measures the noise of retraining only, "
        "not of the test students")
    result = {"a": model_a, "b": model_b, "t_test": t_test, "headline": None, "per_fold": [], "note": None}
    if model_a in missing or model_b in missing:
        result["note"] = "no paired bootstrap: %s" % (missing.get(model_a) or missing.get(model_b))
        return result
    folds = [f for f in shared if f in predictions[model_a] and f in predictions[model_b]]
    if not folds:
        result["note"] = "no fold has runs of both models"
        return result
    for fold in folds:
        result["per_fold"].append(dict(fold=fold, **bootstrap(
            predictions[model_a][fold], predictions[model_b][fold], "fold %d" % fold, resamples, seed)))
    result["headline"] = bootstrap(headline_predictions(plan, predictions[model_a], folds),
                                   headline_predictions(plan, predictions[model_b], folds),
                                   "all folds", resamples, seed)
    result["headline"]["how"] = ("the test predictions averaged over folds %s (one test split)" % folds
                                 if shares_one_test_split(plan) else
                                 "pooled over the folds %s (every test student once)" % folds)
    return result


def shares_one_test_split(plan):
    """True when every fold is tested on the same students (fixed test), not on its own (cross-validation,
    versions): then the headline averages the folds' predictions instead of pooling them."""
    return plan["design"] not in ("cross_validation", study.VERSIONS)


def headline_predictions(plan, by_fold, folds):
    if not shares_one_test_split(plan):
        return statistics.pooled([by_fold[f][0] for f in folds], ["fold%d" % f for f in folds])
    return statistics.averaged([by_fold[f][0] for f in folds], ["fold %d" % f for f in folds])


def bootstrap(a, b, what, resamples, seed):
    """The paired bootstrap of two models' (fold or pooled) predictions, or a note why there is none."""
    try:
        figures = statistics.paired_bootstrap(a[0] if isinstance(a, tuple) else a,
                                              b[0] if isinstance(b, tuple) else b,
                                              {"path": what}, {"path": what}, resamples, seed)
    except RunFolderError as error:  # PairingError: not the same answers, or one class only
        return {"figures": None, "note": str(error)}
    return {"figures": figures, "note": None}


def forest_entries(plan, pairs):
    """plots/plot_comparison.py's entries: per pair the headline bootstrap, the t-test, each fold."""
    entries = []
    for pair in pairs:
        name = "%s - %s" % (model_registry.label(pair["a"]), model_registry.label(pair["b"]))
        head = (pair["headline"] or {}).get("figures")
        if head:
            entries.append({"dataset": name, "difference": head["difference"], "low": head["low"],
                            "high": head["high"], "p_value": head["p_value"], "n": head["n_students"],
                            "kind": "paired bootstrap, all test students"})
        t = pair["t_test"]
        if t["low"] is not None:
            entries.append({"dataset": name, "difference": t["mean_difference"], "low": t["low"],
                            "high": t["high"], "p_value": t["p_value"], "n": t["n"],
                            "kind": "paired t over %d folds" % t["n"]})
        for fold in pair["per_fold"]:
            if fold["figures"]:
                f = fold["figures"]
                entries.append({"dataset": name, "difference": f["difference"], "low": f["low"],
                                "high": f["high"], "p_value": f["p_value"], "n": f["n_students"],
                                "kind": "paired bootstrap, fold %d" % fold["fold"]})
    return [e for e in entries if e["low"] <= e["difference"] <= e["high"]]


def fmt(value, digits=4, sign=False):
    return "-" if value is None else ("%+.*f" if sign else "%.*f") % (digits, value)


def interval(low, high, sign=False):
    return "-" if low is None or high is None else "[%s, %s]" % (fmt(low, sign=sign), fmt(high, sign=sign))


def p_text(p):
    return "-" if p is None else ("%.2g" % p if p >= 0.001 else "%.1e" % p)


def markdown(report):
    plan = report["plan"]
    labels = " vs ".join(model_registry.label(m) for m in plan["models"])
    versions = plan.get("versions")
    data = plan["dataset"] if not versions else "%s ... %s (%d data sets, one fold each)" % (
        versions[0], versions[-1], len(versions))
    lines = ["# Study %s: %s on %s" % (plan["name"], labels, data), "",
             "%s, %d fold(s) run (%s), seeds %s%s. Settings chosen on validation only (%s); the test split "
             "scored once per run. Every figure is in study.json; every run's record in runs/." % (
                 plan["design"].replace("_", " "), len(plan["folds"]), ", ".join(map(str, plan["folds"])),
                 ", ".join(map(str, plan["seeds"])),
                 " (SMOKE: a pipeline check, not a result)" if plan["smoke"] else "",
                 plan["search_text"]), "",
             "| model | test AUC, mean ± std | 95% CI (t) | n | validation AUC | per fold |",
             "|---|---|---|---|---|---|"]
    for row in report["models"]:
        auc = row["test_auc"]
        lines.append("| %s | %s | %s | %d folds (seeds %s) | %s | %s |" % (
            row["label"], "-" if auc["mean"] is None else fmt(auc["mean"]) + (
                " ± " + fmt(auc["std"]) if auc["std"] is not None else ""),
            interval(auc["low"], auc["high"]), auc["n"], ", ".join(map(str, row["seeds"])) or "-",
            fmt(row["valid_auc"]), ", ".join("%d: %s" % (f, fmt(v)) for f, v in zip(row["folds"],
                                                                                  row["fold_values"]))))
    lines.append("")
    if report["failed"]:
        lines.append("Runs that failed (not in the figures; the same command runs them again):")
        lines += ["- %s: %s; log %s" % (f["what"], f["why"], f["log"]) for f in report["failed"]]
        lines.append("")
    lines += comparison_lines(report)
    lines += choice_lines(report)
    lines += ["## Figures", ""] + ["- %s: `%s`" % (what, path) for what, path in report["figures"]] + [""]
    lines += ["## Commands", "", "The study:", ""] + ["    %s" % c for c in report["commands"]] + [
        "", "Every run (main.py, paths as given):", ""]
    lines += ["    %s" % c for c in report["run_commands"]]
    return "\n".join(lines) + "\n"


def comparison_lines(report):
    lines = ["## Paired comparisons", "",
             "Headline: a paired bootstrap over students (%d resamples, the same students for both models) "
             "on all test students. Beside it, the paired t-test over folds, and each fold's own bootstrap."
             % report["resamples"], "",
             "| A - B | difference | 95% CI | p | students | how | paired t over folds | p (t) |",
             "|---|---|---|---|---|---|---|---|"]
    for pair in report["pairs"]:
        head = (pair["headline"] or {}).get("figures") or {}
        t = pair["t_test"]
        lines.append("| %s - %s | %s | %s | %s | %s | %s | %s %s (%s) | %s |" % (
            model_registry.label(pair["a"]), model_registry.label(pair["b"]), fmt(head.get("difference"),
                                                                                 sign=True),
            interval(head.get("low"), head.get("high"), True), p_text(head.get("p_value")),
            head.get("n_students", "-"), (pair["headline"] or {}).get("how") or pair["note"] or "-",
            fmt(t["mean_difference"], sign=True), interval(t["low"], t["high"], True), t["meaning"],
            p_text(t["p_value"])))
    lines += ["", "| A - B | fold | difference | 95% CI (bootstrap) | p | students |",
              "|---|---|---|---|---|---|"]
    for pair in report["pairs"]:
        for fold in pair["per_fold"]:
            f = fold["figures"] or {}
            lines.append("| %s - %s | %d | %s | %s | %s | %s |" % (
                model_registry.label(pair["a"]), model_registry.label(pair["b"]), fold["fold"],
                fmt(f.get("difference"), sign=True), interval(f.get("low"), f.get("high"), True),
                p_text(f.get("p_value")), f.get("n_students", fold["note"] or "-")))
    return lines + [""]


def choice_lines(report):
    lines = ["## Settings chosen on validation", ""]
    trial_0 = "the Table 3 row" if report["plan"].get("table_row") else "main.py's defaults"
    for row in report["models"]:
        for choice, folds in study.distinct_choices(row["choices"]):
            values = json.dumps(choice["values"], sort_keys=True) if choice["values"] else trial_0
            lines.append("- %s, %s %s: trial %d%s, validation AUC %s (%s): `%s`" % (
                row["label"], "fold" if len(folds) == 1 else "folds", ", ".join(folds), choice["trial"],
                " (%s)" % trial_0 if choice["trial"] == 0 else "", fmt(choice["valid_auc"]),
                choice["judged_on"], values))
    return lines + [""]

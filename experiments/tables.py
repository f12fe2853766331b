"""A data set's table of many runs (scripts/reproduce.py): one row per (model, settings), mean and std over
its runs, every run listed with its command; <out>/<data set>.md and .json, rendered from the records only.
No Ray, no TensorFlow.
"""
import json
import os

from experiments.runs import read_records
from experiments.settings import paper_auc
from utils import model_registry
from utils.run_files import state_mode, write_json, write_text


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
    paper = paper_auc(dataset, model)
    entry = {"model": model, "paper_auc": paper, "settings": records[0]["settings"],
             "settings_hash": records[0]["settings_hash"], "n_runs": len(records),
             "seeds": sorted(set(r["seed"] for r in records)),
             "folds": sorted(set(r["fold"] for r in records)),
             "run_dirs": [r["run_dir"] for r in records], "smoke": bool(records[0].get("smoke")),
             "commands": sorted(set(r["driver_command"] for r in records)),
             "runs": [run_line_fields(r) for r in records],
             "state": state_mode(records[0].get("constants") or records[0]["settings"])}
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
    models = model_registry.names()
    order = lambda key: (models.index(key[0]) if key[0] in models else len(models), key[0],
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
    header = ["model", "state", "test AUC", "paper AUC", "test ACC", "test AUC (pos >= 2)", "best epoch",
              "s / epoch", "parameters", "runs (seeds; folds)"]
    if oracle:
        header[4:4] = ["oracle AUC", "AUC / oracle"]
    labels = [model_registry.label(m) for m in model_registry.names()]
    lines = ["# %s: %s" % (results["dataset"], " vs ".join(labels)), "",
             "Test figures of the checkpoint with the best validation AUC (the test split is scored once), "
             "in the run's state mode: cut (the state restarts every SEQ_LEN answers, the paper's protocol) "
             "or carried (CARRY_STATE: over each whole history, as a served model). "
             "Mean ± std over the runs when there are several; every run is listed below and recorded in "
             "%s." % results["records"], "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in entries:
        name = entry["model"] + (" (%s)" % entry["settings_hash"] if several[entry["model"]] > 1 else "")
        row = [name, entry["state"], fmt(entry["test_auc"], entry["test_auc_std"]), fmt(entry["paper_auc"]),
               fmt(entry["test_acc"], entry["test_acc_std"]),
               fmt(entry["test_auc_from2"], entry["test_auc_from2_std"]),
               fmt(entry["best_epoch"], entry["best_epoch_std"], 1),
               fmt(entry["seconds_per_epoch"], None, 1),
               "-" if entry["num_parameters"] is None else "{:,}".format(entry["num_parameters"]),
               "%d (%s; %s)" % (entry["n_runs"], " ".join(map(str, entry["seeds"])),
                                " ".join(map(str, entry["folds"])))]
        if oracle:
            row[4:4] = [fmt(entry["test_oracle_auc"], entry["test_oracle_auc_std"]),
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


def render_tables(out, dataset, failed=(), warn=None):
    """Rewrites <out>/<dataset>.json and .md from the records; returns the Markdown. `warn(path, why)` is
    told of every damaged record (left out)."""
    results = table(dataset, read_records(out, dataset, warn), failed)
    os.makedirs(out, exist_ok=True)  # the first run to end may have failed: no record made the folder
    write_json(os.path.join(out, dataset + ".json"), results)
    text = markdown(results)
    write_text(os.path.join(out, dataset + ".md"), text + "\n")
    return text



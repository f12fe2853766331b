"""scripts/study.py end to end on a tiny response log this test writes, as a user runs it (a local Ray on
127.0.0.1 started by the script): the smoke study, and what the same command does with what it left. Bad
input, a killed study, a failed run and data versions as folds: tests/test_study_cases.py. Ray is not on the
TF 1.14 leg (Python 3.7): skipped there.
"""
import json
import os
import shutil
import time

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

pytest.importorskip("ray")

from ray_helpers import run_script  # noqa: E402
from study_helpers import SMOKE, run_folders, write_log  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    work = tmp_path_factory.mktemp("study")
    write_log(str(work))
    started = time.time()
    completed = run_script("study.py", SMOKE, work, timeout=900)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    with open(str(work / "results" / "tiny" / "study.json")) as f:
        return work, completed, json.load(f), time.time() - started


def records(work, phase):
    folder = work / "results" / "tiny" / "runs" / phase
    return [json.load(open(str(folder / name))) for name in sorted(os.listdir(str(folder)))]


def test_the_smoke_study_runs_every_model_and_renders_the_report(smoke):
    work, completed, report, _ = smoke
    plan = report["plan"]
    tests, searches = records(work, "test"), records(work, "search")
    assert sorted((r["model"], r["fold"], r["seed"]) for r in tests) == sorted(
        (m, f, s) for m in plan["models"] for f in plan["folds"] for s in plan["seeds"])
    assert len(searches) == len(plan["models"]) * len(plan["folds"]) * 2  # 2 trials: the defaults and one
    assert "successive halving: every trial to epoch 1" in plan["search_text"]
    assert completed.stdout.count("paused ") == len(searches)  # each paused at its rung, then went on
    assert all(r["how"] == "resumed" and r["summary"]["epochs_run"] == 2 for r in searches)
    for record in searches:  # the search never scored a test split
        assert record["settings"]["score_test"] is False
        assert not [k for k in record["summary"] if k.startswith("test_")]
    assert "data (id kc)" in completed.stdout and "data (id item)" in completed.stdout  # both read first
    for model, trials in plan["trials"].items():  # each trial's id reached its runs
        assert set(r["constants"]["csv_skill_column"] for r in searches if r["model"] == model) == set(
            trial.get("csv_skill_column", "kc") for trial in trials)
    search_keys = dict((r["key"], r) for r in searches)
    for record in tests:  # each the chosen trial's search run, its selected checkpoint scored on test once
        search = search_keys[record["reused_from"]]
        assert search["run_dir"] == record["run_dir"] and search["settings"]["score_test"] is False
        predictions = np.genfromtxt(str(work / record["predictions_dir"] / "predictions.csv"), delimiter=",",
                                    names=True)
        assert record["summary"]["test_auc"] == pytest.approx(roc_auc_score(predictions["answer"],
                                                                             predictions["p"]), abs=1e-9)
        assert record["summary"]["valid_auc"] == search["summary"]["valid_auc"]
    for record in tests:  # main.py's data options reached every run as the user spelled them
        constants = record["constants"]
        chosen = report["models"][plan["models"].index(record["model"])]["choices"][str(record["fold"])]
        assert constants["csv_student_column"] == "user_id"
        assert constants["csv_skill_column"] == chosen["values"].get("csv_skill_column", "kc")
        assert 0 < record["summary"]["test_auc"] < 1
    decisions = (work / "results" / "tiny" / "decisions.txt").read_text().splitlines()
    for model in plan["models"]:  # each rung's promotion and each choice, as the log said them, in order
        promoted = [line for line in decisions if line.startswith(model + " at the rung (epoch 1)")]
        chosen = [line for line in decisions if line.startswith(model + ", the choice for fold(s) ")]
        assert promoted and all("(goes on)" in line and line in completed.stdout for line in promoted)
        choices = report["models"][plan["models"].index(model)]["choices"]
        said_folds = [f for line in chosen for f in line.split(": trial")[0].split("fold(s) ")[1].split(", ")]
        assert sorted(said_folds) == sorted(choices), decisions  # every fold's choice said once
        for choice in choices.values():
            assert any(": trial %d, validation AUC %.4f (" % (choice["trial"], choice["valid_auc"]) in line
                       for line in chosen)
        assert all(completed.stdout.index(line) < completed.stdout.index("test, the chosen search runs")
                   for line in chosen)
    for row in report["models"]:
        choice = row["choices"][str(plan["folds"][0])]
        trial_aucs = dict((r["settings_hash"], r["summary"]["valid_auc"]) for r in searches
                          if r["model"] == row["model"] and r["fold"] == plan["folds"][0])
        assert choice["valid_auc"] == pytest.approx(max(trial_aucs.values()))
        assert row["test_auc"]["n"] == len(plan["folds"])
    pair = report["pairs"][0]
    assert pair["headline"]["figures"]["n_students"] > 0 and pair["per_fold"]
    out = work / "results" / "tiny"
    for name in ("study.md", "commands.txt", "differences.json", "figures/calibration_dkvmn.png",
                 "figures/calibration_dkt.png", "figures/7_model_difference.png"):
        assert (out / name).is_file(), name
    assert (out / "figures" / "curves").is_dir() and (out / "figures" / "clusters_dkvmn").is_dir()
    markdown = (out / "study.md").read_text()
    assert "python scripts/study.py tiny --dataset csv" in markdown
    assert all(r["command"] in markdown for r in tests)
    assert str(work) not in markdown


def test_the_same_command_again_runs_nothing(smoke):
    work, _, report, _ = smoke
    before = run_folders(work)
    again = run_script("study.py", SMOKE, work, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    searched = len(records(work, "search"))  # 2 trials: the defaults and the best one both go on
    tested = len(records(work, "test"))      # one seed: every test run is a search run scored on test
    for phase, count in (("search, each trial to its rung", searched),
                         ("search, the promoted trials to their end", searched),
                         ("test, the chosen search runs scored on the test split", tested), ("test", 0)):
        assert "%s: %d run(s), %d recorded, 0 to run" % (phase, count, count) in again.stdout
    assert "Ray:" not in again.stdout and run_folders(work) == before
    with open(str(work / "results" / "tiny" / "study.json")) as f:
        assert json.load(f)["models"] == report["models"]
    study_md = work / "results" / "tiny" / "study.md"
    study_md.unlink()
    # the report from the records; one run's log emptied: its curves cannot be drawn, which is said, and the
    # other figures and the report are made
    epochs = str(work / records(work, "test")[0]["run_dir"] / "epochs.csv")
    kept = open(epochs).read()
    try:
        with open(epochs, "w") as f:
            f.write(kept.splitlines()[0] + "\n")
        rendered = run_script("study.py", SMOKE + ["--render"], work, timeout=300)
    finally:
        with open(epochs, "w") as f:
            f.write(kept)
    assert rendered.returncode == 0, rendered.stdout[-3000:] + rendered.stderr[-3000:]
    assert study_md.is_file() and run_folders(work) == before
    said = [line for line in rendered.stdout.splitlines() if "could not be drawn" in line]
    assert len(said) == 1 and said[0].startswith("training and validation curves"), rendered.stdout[-3000:]
    assert "no finished epoch" in said[0], said
    figures = [what for what, _ in json.load(open(str(work / "results" / "tiny" / "study.json")))["figures"]]
    assert not [what for what in figures if what.startswith("training")] and len(figures) == 4, figures


def test_where_the_run_folders_are_gone_the_rung_records_keep_the_promotion(smoke, tmp_path):
    """Only results/ travels to a new machine (a commit): each trial's figure at its rung is in its rung
    record, so no trial trains to its rung again, and the promoted runs whose records are gone train from
    their start."""
    work, completed, _, _ = smoke
    rungs, searches = records(work, "rung"), records(work, "search")
    assert sorted(r["key"] for r in rungs) == sorted(r["key"] for r in searches)  # every search run paused
    for rung in rungs:  # what the promotion read, as the first sitting logged it
        assert rung["summary"]["epochs_run"] == rung["pause_after"] == 1 and "summary" in rung
        assert "valid AUC so far %.4f" % rung["summary"]["valid_auc"] in completed.stdout
    fresh = tmp_path / "fresh"
    for folder in ("logs", "results"):
        shutil.copytree(str(work / folder), str(fresh / folder))
    for phase in ("search", "test"):
        shutil.rmtree(str(fresh / "results" / "tiny" / "runs" / phase))
    # DKT's part of the study only: what the other model's records hold is the same, and half the runs
    rungs = [r for r in rungs if r["model"] == "dkt"]
    again = run_script("study.py", SMOKE[:SMOKE.index("--models")] + ["--models", "dkt"], fresh, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    n = len(rungs)
    assert ("search, each trial to its rung: %d run(s), 0 recorded, %d paused at their rung, 0 to run"
            % (n, n)) in again.stdout, again.stdout
    promoted = "search, the promoted trials to their end: %d run(s), 0 recorded, %d to run" % (n, n)
    assert promoted in again.stdout, again.stdout
    assert "paused search" not in again.stdout  # no run went to its rung again
    decided = [line for line in again.stdout.splitlines() if "at the rung (epoch 1)" in line]
    assert decided and all("(goes on)" in line for line in decided), again.stdout  # made again, and said
    assert set(line.split()[0] for line in decided) == set(r["model"] for r in rungs)
    assert all(r["how"] == "ran" and r["summary"]["epochs_run"] == 2 for r in records(fresh, "search"))
    assert len(records(fresh, "test")) == len([r for r in records(work, "test") if r["model"] == "dkt"])

"""scripts/study.py end to end on a tiny response log this test writes, as a user runs it (a local Ray on
127.0.0.1 started by the script). Ray is not on the TF 1.14 leg (Python 3.7): skipped there.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

pytest.importorskip("ray")

from ray_helpers import RAY_ENV, REPO, error_lines, run_script, write_three_line  # noqa: E402

DATA = ["--dataset", "csv", "--dataset_dir", "logs", "--csv_file", "answers.tsv", "--csv_student_column",
        "user_id", "--csv_skill_column", "kc", "--csv_order_column", "order_id"]
DEEP = ["--models", "dkvmn", "dkt"]  # the default is every registered model: the baselines too
# the id is a choice too; two epochs, so that the search's successive halving pauses every trial at epoch 1
SMOKE = (["tiny"] + DATA + ["--smoke", "--num_cpus", "2", "--ids", "kc", "item", "--epochs", "2",
                            "--halving_epochs", "1"] + DEEP)


def write_log(folder, students=60, seed=0):
    """<folder>/logs/answers.tsv: a log in another layout (user_id, kc, item, correct, order_id)."""
    random = np.random.RandomState(seed)
    os.makedirs(os.path.join(folder, "logs"), exist_ok=True)
    lines, order = ["user_id\tkc\titem\tcorrect\torder_id"], 0
    for student in range(students):
        ability = random.normal()
        for _ in range(random.randint(8, 25)):
            skill, order = random.randint(0, 6), order + 1
            p = 1 / (1 + np.exp(-(ability + 0.3 * skill - 0.8)))
            lines.append("u%03d\tk%d\ti%d\t%d\t%d" % (student, skill, 3 * skill + random.randint(3),
                                                     random.rand() < p, order))
    with open(os.path.join(folder, "logs", "answers.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def run_folders(work):
    top = work / "runs" / "study" / "tiny"
    return sorted(os.path.join(root, name) for root, names, _ in os.walk(str(top)) for name in names
                  if os.path.isfile(os.path.join(root, name, "config.json")))


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
    rendered = run_script("study.py", SMOKE + ["--render"], work, timeout=300)   # the report from the records
    assert rendered.returncode == 0, rendered.stdout[-3000:] + rendered.stderr[-3000:]
    assert study_md.is_file() and run_folders(work) == before


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
    again = run_script("study.py", SMOKE, fresh, timeout=900)
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
    assert len(records(fresh, "test")) == len(records(work, "test"))


@pytest.mark.parametrize("args, message", [
    (["--csv_student_column", "learner"], "learner"),                         # no such column
    (["--space", '{"memory_size": ["abc", 5]}'], "memory_size takes number values"),
    (["--space", '{"memory_sise": [5]}'], "memory_sise is not a constant of main.py"),
    (["--ids", "kc", "item", "--no_search"], "a choice made on validation"),
    (["--set", "csv_file=x.tsv"], "as main.py spells them"),
    (["--inner_folds", "5"], "--inner_folds must be in 1..4 with 5 folds"),
    (["--trial", "dkvmn", '{"memory_size": "abc"}'], "memory_size"),
    (["--search_folds", "2"], "--search_folds is for one choice for all folds"),
    (["--dataset", "csv", "STATICS"], "csv splits its students itself"),
])
def test_bad_input_is_one_error_line_before_anything_runs(tmp_path, args, message):
    write_log(str(tmp_path))
    completed = run_script("study.py", ["tiny"] + DATA + ["--smoke"] + args, tmp_path, timeout=120)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr
    assert len(error_lines(completed)) == 1 and message in error_lines(completed)[0], completed.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["logs"] or not (tmp_path / "results").exists()
    assert not (tmp_path / "runs").exists()


def test_a_log_with_too_few_students_says_how_many_are_needed(tmp_path):
    write_log(str(tmp_path), students=2)
    completed = run_script("study.py", ["tiny"] + DATA + ["--smoke"], tmp_path, timeout=120)
    assert completed.returncode == 2 and len(error_lines(completed)) == 1, completed.stderr
    line = error_lines(completed)[0]
    assert "students" in line and ("too few" in line or "needs at least" in line), line
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()


def finished_epochs(folder):
    try:
        with open(os.path.join(folder, "state.json")) as f:
            return json.load(f)["epoch"]
    except (OSError, ValueError):
        return 0


def ray_processes_of(folder):
    """Processes whose command line or open files are in `folder` (a driver's Ray folder)."""
    sys.path.insert(0, REPO)
    from experiments import ray_driver
    return ray_driver.processes_using(folder)


def test_a_killed_study_resumes_its_run_and_the_next_command_stops_what_the_kill_left(tmp_path):
    write_log(str(tmp_path), students=400)  # epochs long enough to kill one
    args = ["tiny"] + DATA + ["--smoke", "--epochs", "6", "--no_search", "--models", "dkvmn",
                              "--num_cpus", "1"]
    driver = subprocess.Popen([sys.executable, os.path.join(REPO, "scripts", "study.py")] + args,
                              cwd=str(tmp_path), env=dict(os.environ, **RAY_ENV),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300

    def running():  # a run folder with a finished epoch and no summary yet: the one to kill
        return [f for f in run_folders(tmp_path) if finished_epochs(f)
                and not os.path.exists(os.path.join(f, "summary.json"))]
    while time.time() < deadline and not running():
        assert driver.poll() is None, "the study ended before it could be killed"
        time.sleep(0.2)
    driver.send_signal(signal.SIGKILL)  # as a crash would: the driver cleans up nothing
    driver.wait()
    killed = running()[0]
    fold = re.search(r"-f(\d+)-s0-", killed).group(1)
    last, deadline = -1, time.time() + 60
    while time.time() < deadline and os.path.getsize(os.path.join(killed, "steps.csv")) != last:
        last = os.path.getsize(os.path.join(killed, "steps.csv"))
        time.sleep(3)  # the run's process ends with the driver: no more steps logged
    # The run's process goes when Ray notices its driver is gone, which can take longer than the tiny run's
    # last epochs; resuming from the last epoch is then tests/test_reproduce.py's killed-command test.
    finished_alone = os.path.exists(os.path.join(killed, "summary.json"))
    before = run_folders(tmp_path)

    again = run_script("study.py", args, tmp_path, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    if not finished_alone:
        assert "finished test dkvmn fold %s seed 0 (resumed)" % fold in again.stdout
    assert killed in run_folders(tmp_path) and set(before) <= set(run_folders(tmp_path))
    epochs = open(os.path.join(killed, "epochs.csv")).read().splitlines()[1:]
    assert [int(line.split(",")[0]) for line in epochs] == list(range(1, 7))  # each epoch once
    left = [line for line in again.stdout.splitlines() if "left by a driver that was killed" in line]
    for line in left:  # what the killed driver's Ray left is gone now
        assert ray_processes_of(line.rsplit("(", 1)[1].rstrip(")")) == []


def test_a_failed_run_is_listed_under_the_table_and_the_others_finish(tmp_path):
    write_log(str(tmp_path))
    # a huge initial std makes DKVMN's first loss NaN (main.py exits 3); DKT still trains
    args = ["tiny"] + DATA + ["--smoke", "--no_search", "--num_cpus", "2", "--set", "init_std=1e30"] + DEEP
    completed = run_script("study.py", args, tmp_path, timeout=900)
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "FAILED test dkvmn fold 1 seed 0: exit status 3" in completed.stdout
    report = json.load(open(str(tmp_path / "results" / "tiny" / "study.json")))
    folds = report["plan"]["folds"] if "plan" in report else [1, 2]  # --smoke: the first two folds
    assert sorted(f["what"] for f in report["failed"]) == ["test dkvmn fold %d seed 0" % k for k in folds]
    assert [r["n_runs"] for r in report["models"]] == [0, len(folds)]  # dkvmn, dkt
    assert "Runs that failed" in (tmp_path / "results" / "tiny" / "study.md").read_text()



def test_data_versions_are_the_folds_and_the_choice_is_made_on_the_searched_ones(tmp_path):
    """Three three-line data sets as the study's folds (--smoke runs the first two): the search runs on
    fold 1 only (--search_folds 1), each fold runs its own data set's fold 1 and test file, and the
    headline pools the two test splits."""
    versions = ["toy_v0", "toy_v1", "toy_v2"]
    for number, name in enumerate(versions):
        write_three_line(str(tmp_path / "data"), name, seed=number)
    completed = run_script("study.py", ["toy", "--dataset"] + versions + [
        "--dataset_dir", "data", "--models", "dkt", "dkvmn", "--smoke", "--search_folds", "1",
        "--num_cpus", "2"], tmp_path, timeout=600)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    folder = tmp_path / "results" / "toy" / "runs"
    searched = [json.load(open(str(path))) for path in sorted((folder / "search").iterdir())]
    tests = [json.load(open(str(path))) for path in sorted((folder / "test").iterdir())]
    assert sorted(set((r["fold"], r["dataset"]) for r in searched)) == [(1, "toy_v0")]
    assert sorted((r["model"], r["fold"], r["dataset"], r["data_fold"]) for r in tests) == [
        (m, f, "toy_v%d" % (f - 1), 1) for m in ("dkt", "dkvmn") for f in (1, 2)]
    for record in tests:   # main.py ran the data set's own fold 1 and scored its own test file
        config = json.load(open(str(tmp_path / record["run_dir"] / "config.json")))
        assert (config["constants"]["dataset"], config["constants"]["fold"]) == (record["dataset"], 1)
        assert record["summary"]["test_auc"] is not None
    report = json.load(open(str(tmp_path / "results" / "toy" / "study.json")))
    assert report["plan"]["design"] == "versions"
    headline = report["pairs"][0]["headline"]
    assert headline["how"].startswith("pooled") and headline["figures"]["n_students"] == 40   # 20 + 20

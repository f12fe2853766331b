"""scripts/study.py on the cases beside the smoke study (tests/test_study.py): bad input, a log with too few
students, a killed study, a failed run, data versions as the folds; each on a tiny log or data set the test
writes, as a user runs it (a local Ray on 127.0.0.1). Ray is not on the TF 1.14 leg (Python 3.7): skipped
there.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray")

from experiments import ray_driver  # noqa: E402
from ray_helpers import (RAY_ENV, REPO, error_lines, folders_of_driver, program_name, run_here,  # noqa: E402
                         run_script, write_three_line)
from study_helpers import DATA, DEEP, run_folders, write_log  # noqa: E402


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
def test_bad_input_is_one_error_line_before_anything_runs(tmp_path, capsys, monkeypatch, args, message):
    write_log(str(tmp_path))  # in this process; the next test runs the script as a user does
    completed = run_here("study.py", ["tiny"] + DATA + ["--smoke"] + args, tmp_path, capsys, monkeypatch)
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
        assert ray_driver.processes_using(line.rsplit("(", 1)[1].rstrip(")")) == []


@pytest.mark.parametrize("models", [DEEP, ["--models", "dkvmn"]])
def test_a_failed_run_is_listed_under_the_table_and_the_others_finish(tmp_path, models):
    """DKVMN's runs fail; DKT's finish, or (DKVMN alone) no run finishes and the report still says so."""
    write_log(str(tmp_path))
    # a huge initial std makes DKVMN's first loss NaN (main.py exits 3); DKT still trains
    args = ["tiny"] + DATA + ["--smoke", "--no_search", "--num_cpus", "2", "--set", "init_std=1e30"] + models
    completed = run_script("study.py", args, tmp_path, timeout=900)
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "FAILED test dkvmn fold 1 seed 0: exit status 3" in completed.stdout
    report = json.load(open(str(tmp_path / "results" / "tiny" / "study.json")))
    folds = report["plan"]["folds"] if "plan" in report else [1, 2]  # --smoke: the first two folds
    assert sorted(f["what"] for f in report["failed"]) == ["test dkvmn fold %d seed 0" % k for k in folds]
    assert [r["n_runs"] for r in report["models"]] == [0, len(folds)][:len(models) - 1]  # dkvmn, dkt
    assert "Runs that failed" in (tmp_path / "results" / "tiny" / "study.md").read_text()



def test_data_versions_are_the_folds_and_the_choice_is_made_on_the_searched_ones(tmp_path):
    """Three three-line data sets as the study's folds (--smoke runs the first two): the search runs on
    fold 1 only (--search_folds 1) and each fold runs its own data set's fold 1 and test file. One model:
    how two models' test splits are pooled is tests/test_experiments.py's (no run needed)."""
    versions = ["toy_v0", "toy_v1", "toy_v2"]
    for number, name in enumerate(versions):
        write_three_line(str(tmp_path / "data"), name, seed=number)
    completed = run_script("study.py", ["toy", "--dataset"] + versions + [
        "--dataset_dir", "data", "--models", "dkt", "--smoke", "--search_folds", "1",
        "--num_cpus", "2"], tmp_path, timeout=600)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    folder = tmp_path / "results" / "toy" / "runs"
    searched = [json.load(open(str(path))) for path in sorted((folder / "search").iterdir())]
    tests = [json.load(open(str(path))) for path in sorted((folder / "test").iterdir())]
    assert sorted(set((r["fold"], r["dataset"]) for r in searched)) == [(1, "toy_v0")]
    assert sorted((r["model"], r["fold"], r["dataset"], r["data_fold"]) for r in tests) == [
        ("dkt", f, "toy_v%d" % (f - 1), 1) for f in (1, 2)]
    for record in tests:   # main.py ran the data set's own fold 1 and scored its own test file
        config = json.load(open(str(tmp_path / record["run_dir"] / "config.json")))
        assert (config["constants"]["dataset"], config["constants"]["fold"]) == (record["dataset"], 1)
        assert record["summary"]["test_auc"] is not None
    report = json.load(open(str(tmp_path / "results" / "toy" / "study.json")))
    assert report["plan"]["design"] == "versions" and report["models"][0]["test_auc"]["n"] == 2


def test_a_study_whose_ray_is_lost_stops_before_any_choice_or_report(tmp_path):
    """Ray's raylet and workers killed under a study (as a `ray stop` beside it kills them): the study stops
    with one line, status 1, and writes no promotion, choice or report made on what the loss left."""
    write_log(str(tmp_path), students=400)  # epochs long enough to be under way
    args = ["tiny"] + DATA + ["--smoke", "--epochs", "6", "--no_search", "--models", "dkvmn",
                              "--num_cpus", "1"]
    driver = subprocess.Popen([sys.executable, os.path.join(REPO, "scripts", "study.py")] + args,
                              cwd=str(tmp_path), env=dict(os.environ, **RAY_ENV), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not [f for f in run_folders(tmp_path) if finished_epochs(f)]:
            assert driver.poll() is None, "the study ended before its Ray could be lost"
            time.sleep(0.2)
        folder = folders_of_driver(driver.pid)[0]
        lost = [pid for pid in ray_driver.processes_using(folder) if pid != driver.pid and (
            program_name(pid) == "raylet" or program_name(pid).startswith("ray::run"))]
        assert len(lost) == 2, [program_name(pid) for pid in ray_driver.processes_using(folder)]
        ray_driver.stop_processes(lost)
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    errors = error_lines(subprocess.CompletedProcess(args, driver.returncode, out, err))
    assert driver.returncode == 1 and len(errors) == 1, (driver.returncode, out[-2000:], err[-2000:])
    said = errors[0]
    assert said.startswith("error: Ray stopped under this command (") and ray_driver.CONTINUES in said, said
    assert "FAILED" not in out and not (tmp_path / "results" / "tiny" / "study.md").exists()
    assert not (tmp_path / "results" / "tiny" / "study.json").exists()

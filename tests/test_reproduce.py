"""scripts/reproduce.py end to end, as a user runs it, on a Ray head started by hand on 127.0.0.1.

Tiny three-line data made here, --smoke (tiny model, one epoch). Ray is not on the TF 1.14 leg (Python 3.7):
this module is skipped there, and .ci/run counts that skip.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray")

from ray_helpers import RAY_ENV, REPO, RayHead, error_lines, run_here, run_script, write_three_line  # noqa: E402

NAME = "naive_c5_q50_s4000_v0"  # a data set of the table; the files are the test's own
SUMMARY_FIGURES = ("test_auc", "test_acc", "test_auc_from2", "valid_auc", "best_epoch", "num_parameters")


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    ray_head = RayHead(tmp_path_factory.mktemp("head") / "head.log")
    yield ray_head.address
    ray_head.stop()


@pytest.fixture
def work(tmp_path):
    """A working folder with data/ (fold 1 of NAME); paths below are relative to it, as a user types them."""
    write_three_line(str(tmp_path / "data"), NAME)
    return tmp_path


DEEP = ["--models", "dkvmn", "dkt"]  # the default is every registered model: the baselines too


def smoke_args(head, *more):
    return [NAME, "--dataset_dir", "data", "--smoke", "--address", head] + list(more)


def records(work, name=NAME):
    folder = work / "results" / "runs" / name
    return dict((p, json.load(open(str(folder / p)))) for p in sorted(os.listdir(str(folder))))


def run_folders(work):
    home = work / "runs" / "reproduce" / NAME
    if not home.exists():
        return []
    return sorted(os.path.join(key, d) for key in os.listdir(str(home)) for d in os.listdir(str(home / key))
                  if os.path.isdir(str(home / key / d)))


def test_each_run_is_recorded_and_the_table_comes_from_the_records(head, work):
    completed = run_script("reproduce.py", smoke_args(head, *DEEP), work)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    found = records(work)
    assert sorted(r["model"] for r in found.values()) == ["dkt", "dkvmn"]
    table = json.load(open(str(work / "results" / (NAME + ".json"))))
    markdown = open(str(work / "results" / (NAME + ".md"))).read()
    assert [e["model"] for e in table["models"]] == ["dkvmn", "dkt"] and table["failed"] == []
    for file_name, record in found.items():
        assert file_name == record["key"] + ".json"
        assert record["key"] == "%s-f1-s0-%s" % (record["model"], record["settings_hash"])
        run_dir = work / record["run_dir"]
        assert record["run_dir"].startswith(os.path.join("runs", "reproduce", NAME, record["key"]) + os.sep)
        summary = json.load(open(str(run_dir / "summary.json")))
        constants = json.load(open(str(run_dir / "config.json")))["constants"]
        assert record["summary"] == summary  # every key of summary.json, as it is
        assert constants["epochs"] == 1 and constants["threads"] == 1 and constants["dataset_dir"] == "data"
        assert all(constants[name] == value for name, value in record["settings"].items())
        assert record["command"].startswith("python main.py --dataset %s --model %s"
                                            % (NAME, record["model"]))
        assert str(work) not in record["command"] + record["driver_command"] + record["run_dir"]
        entry = [e for e in table["models"] if e["model"] == record["model"]][0]
        for name in SUMMARY_FIGURES:
            assert entry[name] == pytest.approx(summary[name], abs=1e-12), name
        assert entry["paper_auc"] in (0.8273, 0.8034) and entry["seeds"] == [0] and entry["smoke"]
        assert record["seconds_per_epoch"] > 0
        assert "%.4f" % summary["test_auc"] in markdown and record["run_dir"] in markdown

    again = run_script("reproduce.py", smoke_args(head, *DEEP), work)
    assert again.returncode == 0 and "2 already recorded" in again.stdout and "0 to run" in again.stdout
    assert records(work) == found and len(run_folders(work)) == 2

    os.remove(str(work / "results" / (NAME + ".md")))
    rendered = run_script("reproduce.py", [NAME, "--render"], work)
    assert rendered.returncode == 0
    assert open(str(work / "results" / (NAME + ".md"))).read() == markdown


def finished_epochs(folder):
    try:
        return json.load(open(os.path.join(folder, "state.json")))["epoch"]
    except (OSError, ValueError):
        return 0


def test_a_killed_command_resumes_the_killed_run_from_its_last_epoch(head, tmp_path):
    """(That a recorded run is not run again is checked by the first test.)"""
    write_three_line(str(tmp_path / "data"), NAME, sizes=(300, 30, 20))  # epochs long enough to kill one
    args = smoke_args(head, "--epochs", "8", "--models", "dkvmn")

    driver = subprocess.Popen([sys.executable, os.path.join(REPO, "scripts", "reproduce.py")] + args,
                              cwd=str(tmp_path), env=dict(os.environ, **RAY_ENV),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    home = tmp_path / "runs" / "reproduce" / NAME
    dkvmn_folder = lambda: [str(home / f) for f in run_folders(tmp_path) if f.startswith("dkvmn-")]
    deadline = time.time() + 180
    while time.time() < deadline and not (dkvmn_folder() and finished_epochs(dkvmn_folder()[0]) >= 1):
        assert driver.poll() is None, "the command ended before it could be killed"
        time.sleep(0.2)
    driver.send_signal(signal.SIGKILL)  # as a crash would: the driver cleans up nothing
    driver.wait()
    killed = dkvmn_folder()[0]
    last, deadline = -1, time.time() + 60
    while time.time() < deadline and os.path.getsize(os.path.join(killed, "steps.csv")) != last:
        last = os.path.getsize(os.path.join(killed, "steps.csv"))
        time.sleep(3)  # the run's process must end with the driver: no more steps logged
    assert not os.path.exists(os.path.join(killed, "summary.json"))
    at_kill = finished_epochs(killed)
    assert 1 <= at_kill < 8

    again = run_script("reproduce.py", args, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 run(s): 0 already recorded" in again.stdout
    assert "finished dkvmn fold 1 seed 0 (resumed)" in again.stdout
    dkvmn = list(records(tmp_path).values())[0]
    assert str(tmp_path / dkvmn["run_dir"]) == killed and dkvmn["resumed_from"] == dkvmn["run_dir"]
    assert dkvmn["summary"]["epochs_run"] == 8 and len(dkvmn_folder()) == 1
    epochs = open(os.path.join(killed, "epochs.csv")).read().splitlines()[1:]
    assert [int(line.split(",")[0]) for line in epochs] == list(range(1, 9))  # each epoch once


def test_a_failed_run_is_listed_and_the_others_finish(head, work):
    # a huge initial std makes DKVMN's first loss NaN (main.py exits 3); DKT still trains
    completed = run_script("reproduce.py", smoke_args(head, "--set", "init_std=1e30", *DEEP), work)
    assert completed.returncode == 1
    assert "FAILED dkvmn fold 1 seed 0: exit status 3" in completed.stdout
    log = [line for line in open(str(work / "runs" / "reproduce" / NAME / [
        f for f in run_folders(work) if f.startswith("dkvmn-")][0].split(os.sep)[0] / "main.log"))]
    assert log[-1].startswith("error:") and log[-1] in completed.stdout  # the end of its log is shown
    assert [r["model"] for r in records(work).values()] == ["dkt"]
    table = json.load(open(str(work / "results" / (NAME + ".json"))))
    assert [e["model"] for e in table["models"]] == ["dkt"]
    assert [(f["model"], f["exit_status"]) for f in table["failed"]] == [("dkvmn", 3)]
    assert "Failed in the last command" in open(str(work / "results" / (NAME + ".md"))).read()


@pytest.mark.parametrize("args, message", [
    (["no_such_data", "--dataset_dir", "data"], "unknown data set 'no_such_data'"),
    ([NAME, "--dataset_dir", "data", "--folds", "1", "2"], "fold 2 of %s does not exist" % NAME),
    ([NAME, "--dataset_dir", "data", "--address", "127.0.0.1:%d" % 1], "nothing answers at 127.0.0.1:1"),
    ([NAME, "--dataset_dir", "data", "--settings", "no_such_search.json"], "no_such_search.json"),
    ([NAME, "--dataset_dir", "data", "--set", "no_such_constant=1"], "no_such_constant is not a constant"),
    ([NAME, "--dataset_dir", "data", "--set", "epochs=1.5"], "--epochs takes an integer"),
    ([NAME, "--render"], "no records of %s" % NAME),
])
def test_bad_input_is_one_error_line_and_nothing_is_recorded(work, capsys, monkeypatch, args, message):
    started = time.time()
    if "--address" in args:  # as a user runs it: the script's whole start, Ray's address check included
        completed = run_script("reproduce.py", args + ["--smoke"], work, timeout=60)
    else:
        completed = run_here("reproduce.py", args + ["--smoke"], work, capsys, monkeypatch)
    assert completed.returncode == 2 and time.time() - started < 30
    assert len(error_lines(completed)) == 1 and message in error_lines(completed)[0], completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (work / "results").exists() and not (work / "runs").exists()


def test_bad_input_that_only_main_py_finds_ends_the_command_with_its_error_line(head, work):
    (work / "data" / (NAME + "_valid1.csv")).write_text("3\n1,x,2\n0,1,1\n")  # a skill id that is no number
    completed = run_script("reproduce.py", smoke_args(head, "--models", "dkvmn", "--seeds", "0", "1"), work)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert len(error_lines(completed)) == 1 and NAME + "_valid1.csv" in error_lines(completed)[0]
    assert "from main.py; nothing was recorded" in error_lines(completed)[0]
    assert not (work / "results").exists()

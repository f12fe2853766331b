"""scripts/tune.py end to end on a local Ray: a two-trial search on tiny three-line data of a data set the
settings table does not know, then scripts/reproduce.py with the search's choice.

Ray is not on the TF 1.14 leg (Python 3.7): this module is skipped there, and .ci/run counts that skip.
"""
import csv
import json
import os
import shlex

import pytest

pytest.importorskip("ray")

from ray_helpers import error_lines, run_here, run_script, script_module, write_three_line  # noqa: E402

NAME = "my_log"  # not in the settings table: a search works for any data set
SPACE = {"learning_rate": {"grid": [0.0005, 0.02]}}
TEST_COLUMNS = ("test_loss", "test_acc", "test_auc", "test_auc_from2")


SEARCH_ARGS = [NAME, "--model", "dkvmn", "--smoke", "--dataset_dir", "data", "--space", json.dumps(SPACE),
               "--samples", "1", "--max_epochs", "3", "--num_cpus", "2", "--out", "search"]


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """(working folder, the search's output, its record) of a 2-trial grid of at most 3 epochs."""
    work = tmp_path_factory.mktemp("search")
    write_three_line(str(work / "data"), NAME, sizes=(80, 30, 20))
    completed = run_script("tune.py", SEARCH_ARGS, work)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with open(str(work / "search" / (NAME + "-dkvmn.json"))) as f:
        return work, completed, json.load(f)


def epoch_log(work, trial):
    with open(str(work / trial["home"] / os.path.basename(trial["run_dir"]) / "epochs.csv")) as f:
        return list(csv.DictReader(f))


def test_the_chosen_settings_have_the_best_validation_auc_of_the_trials(search):
    work, _, record = search
    trials = record["trials"]
    assert sorted(t["values"]["learning_rate"] for t in trials) == [0.0005, 0.02]
    for trial in trials:
        rows = epoch_log(work, trial)
        aucs = [float(row["valid_auc"]) for row in rows[:trial["epochs_run"]]]
        assert 1 <= trial["epochs_run"] <= 3
        assert trial["best_valid_auc"] == pytest.approx(max(aucs), abs=1e-12)
        assert trial["best_epoch"] == aucs.index(max(aucs)) + 1
        assert trial["valid_auc_by_epoch"] == pytest.approx(aucs, abs=1e-12)
    best = max(trials, key=lambda t: t["best_valid_auc"])
    chosen = record["chosen"]
    assert chosen["trial_id"] == best["trial_id"] and chosen["best_valid_auc"] == best["best_valid_auc"]
    assert chosen["settings"] == dict(record["fixed_settings"], **best["values"])
    assert chosen["settings"]["epochs"] == 3 and record["space"] == SPACE
    assert record["test split"].startswith("never scored")
    assert record["command"].startswith("python scripts/tune.py %s --model dkvmn" % NAME)


def test_no_trial_scores_the_test_split(search):
    work, completed, record = search
    for trial in record["trials"]:
        run_dir = work / trial["home"] / os.path.basename(trial["run_dir"])
        rows = epoch_log(work, trial)
        assert rows and all(row[column] == "" for row in rows for column in TEST_COLUMNS)
        assert not (run_dir / "predictions.csv").exists()
        assert json.load(open(str(run_dir / "config.json")))["constants"]["score_test"] is False
        if (run_dir / "summary.json").exists():  # written when main.py ended the trial, not Tune
            assert not [k for k in json.load(open(str(run_dir / "summary.json"))) if k.startswith("test")]
    assert "test AUC" not in completed.stdout


def test_the_printed_next_step_runs_the_search_s_choice_on_the_test_split_as_printed(search):
    work, searched, record = search
    printed = searched.stdout.split("run it on the test split with:\n")[1].splitlines()[0].strip()
    words = shlex.split(printed)
    assert words[:2] == ["python", "scripts/reproduce.py"]
    completed = run_script("reproduce.py", words[2:] + ["--num_cpus", "2"], work)  # a local Ray
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    runs = os.listdir(str(work / "results" / "runs" / NAME))
    ran = json.load(open(str(work / "results" / "runs" / NAME / runs[0])))
    assert len(runs) == 1 and ran["settings"] == record["chosen"]["settings"]
    assert 0 < ran["summary"]["test_auc"] < 1


def run_folders(work):
    """Every run folder main.py made for the search's trials."""
    search_dir = work / "runs" / "tune" / (NAME + "-dkvmn")
    return sorted(os.path.join(home, run) for home in os.listdir(str(search_dir))
                  if (search_dir / home / "main.log").exists()
                  for run in os.listdir(str(search_dir / home)) if run.startswith(NAME))


def test_the_same_search_again_continues_it_and_trains_nothing_new(search):
    work, _, record = search
    before = run_folders(work)
    completed = run_script("tune.py", SEARCH_ARGS, work)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "continuing the search" in completed.stdout
    again = json.load(open(str(work / "search" / (NAME + "-dkvmn.json"))))
    keep = lambda r: [(t["trial_id"], t["values"], t["best_valid_auc"], t["epochs_run"]) for t in r["trials"]]
    assert keep(again) == keep(record) and again["chosen"] == record["chosen"]
    assert run_folders(work) == before and len(before) == 2


def test_another_search_under_the_same_name_is_refused(search):
    work, _, _ = search
    other = SEARCH_ARGS[:SEARCH_ARGS.index("--samples")] + ["--samples", "2"] + SEARCH_ARGS[
        SEARCH_ARGS.index("--samples") + 2:]
    completed = run_script("tune.py", other, work, timeout=60)
    assert completed.returncode == 2 and len(error_lines(completed)) == 1
    assert "holds another search named %s-dkvmn (it differs in samples)" % NAME in error_lines(completed)[0]


@pytest.mark.parametrize("space, message", [
    ("{learning_rate: 0.1", "--space is not JSON"),
    ('{"learning_rate": {"lognormal": [1, 2]}}', "learning_rate takes one of choice, grid, loguniform"),
    ('{"dropout": {"uniform": [0.5, 0.1]}}', "needs low < high"),
    ('{"epochs": [1, 2]}', "epochs is not a setting to search"),
    ('{"memory_size": ["abc", 5]}', "memory_size takes number values"),
])
def test_a_space_that_does_not_parse_is_one_error_line_and_nothing_is_written(tmp_path, capsys, monkeypatch,
                                                                              space, message):
    write_three_line(str(tmp_path / "data"), NAME)
    completed = run_here("tune.py", [NAME, "--model", "dkt", "--dataset_dir", "data", "--space", space,
                                     "--smoke"], tmp_path, capsys, monkeypatch)
    assert_bad_input(completed, message, tmp_path)


@pytest.mark.parametrize("args, message", [
    (["--set", "score_test=true"], "a search never scores the test split"),
    (["--set", "no_such=1"], "--set: no_such is not a constant of main.py"),
    (["--fold", "2"], "fold 2 of %s does not exist" % NAME),
    (["--address", "127.0.0.1:1"], "nothing answers at 127.0.0.1:1"),
])
def test_other_bad_input_is_one_error_line_and_nothing_is_written(tmp_path, capsys, monkeypatch, args,
                                                                  message):
    write_three_line(str(tmp_path / "data"), NAME)
    args = [NAME, "--model", "dkt", "--dataset_dir", "data", "--smoke"] + args
    if "--address" in args:  # as a user runs it: the script's whole start, Ray's address check included
        completed = run_script("tune.py", args, tmp_path, timeout=60)
    else:
        completed = run_here("tune.py", args, tmp_path, capsys, monkeypatch)
    assert_bad_input(completed, message, tmp_path)


def test_a_model_with_nothing_to_search_is_refused_with_the_command_that_runs_it(tmp_path):
    write_three_line(str(tmp_path / "data"), NAME)
    completed = run_script("tune.py", [NAME, "--model", "bkt", "--dataset_dir", "data", "--smoke"], tmp_path,
                           timeout=60)
    assert_bad_input(completed, "--model bkt has no setting to search", tmp_path)
    assert "python scripts/reproduce.py %s --models bkt" % NAME in error_lines(completed)[0]


def assert_bad_input(completed, message, tmp_path):
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert len(error_lines(completed)) == 1 and message in error_lines(completed)[0], completed.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["data"]


def test_a_search_that_ends_without_a_record_leaves_its_name_free(tmp_path):
    """Every trial fails before its first epoch (main.py refuses the data): no record, and the same --name
    with other settings is not refused as 'another search'."""
    write_three_line(str(tmp_path / "data"), NAME)
    (tmp_path / "data" / (NAME + "_valid1.csv")).write_text("3\n1,x,2\n0,1,1\n")  # not a number
    args = [NAME, "--model", "dkt", "--dataset_dir", "data", "--smoke", "--samples", "1", "--num_cpus", "1",
            "--out", "search", "--space", json.dumps({"learning_rate": [0.01]})]
    failed = run_script("tune.py", args, tmp_path)
    assert failed.returncode == 2 and len(error_lines(failed)) == 1, failed.stdout[-2000:] + failed.stderr
    assert not (tmp_path / "search").exists()
    assert not (tmp_path / "runs" / "tune" / (NAME + "-dkt")).exists()
    write_three_line(str(tmp_path / "data"), NAME)  # the data fixed, another space under the same name
    again = run_script("tune.py", args[:-1] + [json.dumps({"learning_rate": [0.02]})], tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert (tmp_path / "search" / (NAME + "-dkt.json")).exists()


def test_a_search_with_a_failed_trial_chooses_nothing_and_reproduce_refuses_its_record(search, tmp_path,
                                                                                        capsys, monkeypatch):
    """A trial that failed (Ray lost under it: Tune reports it failed, its curve cut short) was not judged:
    the record keeps every trial but no choice, the command ends with status 1 and says the same command
    retries it, and reproduce.py --settings refuses the record instead of running a choice."""
    work, _, record = search
    tune = script_module("tune.py")
    trials = [dict(trial) for trial in record["trials"]]
    trials[0]["stopped"] = "failed: The actor is dead because its owner has died. Owner's node has crashed."
    monkeypatch.chdir(str(tmp_path))
    said = []
    args = tune.parse_args(SEARCH_ARGS)
    status = tune.write_search(args, SEARCH_ARGS, record["space"], record["fixed_settings"],
                               record["dataset_dir"], trials, 1.0, said.append)
    kept = json.load(open(str(tmp_path / "search" / (NAME + "-dkvmn.json"))))
    assert status == 1 and kept["chosen"] is None
    assert kept["trials"] == sorted(trials, key=lambda t: t["trial_id"])
    assert "1 trial(s) failed (%s), so nothing is chosen" % trials[0]["trial_id"] in said[-1]
    assert not [line for line in said if line.startswith("chosen:")]
    write_three_line(str(tmp_path / "data"), NAME)
    refused = run_here("reproduce.py", [NAME, "--dataset_dir", "data", "--settings", "search/%s-dkvmn.json"
                                        % NAME, "--smoke"], tmp_path, capsys, monkeypatch)
    assert refused.returncode == 2 and len(error_lines(refused)) == 1, refused.stderr
    assert "its search chose nothing, as some of its trials failed" in error_lines(refused)[0]
    assert not (tmp_path / "runs").exists()

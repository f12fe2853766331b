"""scripts/reproduce.py end to end on a tiny three-line data set: one epoch, tiny model (--smoke)."""
import importlib.util
import json
import os

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "naive_c5_q50_s4000_v0"  # a name of the script's table; the files are the test's own
ENTRY_FIELDS = ("model", "test_auc", "test_acc", "test_auc_from2", "best_epoch", "seconds_per_epoch",
                "num_parameters", "paper_auc", "command", "run_dirs", "seeds", "runs")


def load_script():
    spec = importlib.util.spec_from_file_location("reproduce", os.path.join(REPO, "scripts", "reproduce.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_three_line(folder, rng, n_students, suffix):
    lines = []
    for _ in range(n_students):
        length = rng.randint(3, 30)
        skills = rng.randint(1, 11, size=length)
        answers = (rng.rand(length) < 0.3 + 0.05 * skills).astype(int)
        lines += [str(length), ",".join(map(str, skills)), ",".join(map(str, answers))]
    with open(os.path.join(folder, "%s_%s.csv" % (NAME, suffix)), "w") as f:
        f.write("\n".join(lines) + "\n")


def tiny_data_set(tmp_path, seed, sizes):
    """A three-line data set folder (train1, valid1, test with `sizes` students) and the smoke-run argv."""
    rng = np.random.RandomState(seed)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for suffix, n in zip(("train1", "valid1", "test"), sizes):
        write_three_line(str(data_dir), rng, n, suffix)
    out, runs = tmp_path / "results", tmp_path / "runs"
    argv = [NAME, "--dataset_dir", str(data_dir), "--runs_dir", str(runs), "--out", str(out),
            "--threads", "1", "--smoke"]
    return out, runs, argv


def quiet(*args):
    pass


def test_reproduce_writes_the_tables_with_the_runs_figures(tmp_path):
    out, runs, argv = tiny_data_set(tmp_path, 0, (60, 20, 20))
    reproduce = load_script()
    reproduce.reproduce(argv, log=quiet)

    results = json.load(open(str(out / (NAME + ".json"))))
    markdown = open(str(out / (NAME + ".md"))).read()
    assert results["dataset"] == NAME and results["hardware"]
    assert [e["model"] for e in results["models"]] == ["dkvmn", "dkt"]
    for entry in results["models"]:
        for field in ENTRY_FIELDS:
            assert field in entry, field
        assert entry["seeds"] == [0] and len(entry["runs"]) == 1 and entry["command"].endswith("--smoke")
        assert entry["paper_auc"] == reproduce.SETTINGS[NAME]["paper"][entry["model"]]
        run_dir = os.path.join(str(runs), entry["run_dirs"][0])
        summary = json.load(open(os.path.join(run_dir, "summary.json")))
        config = json.load(open(os.path.join(run_dir, "config.json")))["constants"]
        assert summary["model"] == entry["model"] and config["epochs"] == 1
        assert config["key_dim"] == reproduce.SMOKE["key_dim"]
        assert config["dataset_dir"] == str(tmp_path / "data")
        for name in ("test_auc", "test_acc", "test_auc_from2", "best_epoch", "num_parameters"):
            assert entry[name] == pytest.approx(summary[name], abs=1e-12), name
            assert entry["runs"][0][name] == pytest.approx(summary[name], abs=1e-12), name
        assert entry["seconds_per_epoch"] > 0
        assert "%.4f" % summary["test_auc"] in markdown and entry["run_dirs"][0] in markdown

    os.remove(str(out / (NAME + ".md")))
    reproduce.reproduce(argv + ["--render"], log=quiet)  # rewrites the .md from the .json, no training
    assert open(str(out / (NAME + ".md"))).read() == markdown

    # a later call for one model keeps the other model's records
    reproduce.reproduce(argv[:1] + ["--models", "dkt"] + argv[1:], log=quiet)
    again = json.load(open(str(out / (NAME + ".json"))))
    assert [e["model"] for e in again["models"]] == ["dkvmn", "dkt"]
    assert again["models"][0] == results["models"][0]
    assert again["models"][1]["run_dirs"] != results["models"][1]["run_dirs"]


def test_jobs_run_each_seed_in_its_own_process_and_make_one_record(tmp_path):
    out, runs, argv = tiny_data_set(tmp_path, 1, (40, 15, 15))
    argv += ["--models", "dkvmn", "--seeds", "0", "1", "--jobs", "2"]
    messages = []
    entries = load_script().reproduce(argv, log=messages.append)

    entry = json.load(open(str(out / (NAME + ".json"))))["models"][0]
    assert entry == entries["dkvmn"]
    assert entry["seeds"] == [0, 1] and [r["seed"] for r in entry["runs"]] == [0, 1]
    assert entry["command"].endswith("--jobs 2") and len(set(entry["run_dirs"])) == 2
    for run in entry["runs"]:
        summary = json.load(open(os.path.join(str(runs), run["run_dir"], "summary.json")))
        config = json.load(open(os.path.join(str(runs), run["run_dir"], "config.json")))["constants"]
        assert (config["seed"], config["threads"]) == (run["seed"], 1)
        assert run["test_auc"] == pytest.approx(summary["test_auc"], abs=1e-12)
    assert entry["test_auc"] == pytest.approx(np.mean([r["test_auc"] for r in entry["runs"]]), abs=1e-12)
    assert sum(m.startswith("started dkvmn") for m in messages) == 2


def test_a_failed_job_stops_the_script_with_its_log(tmp_path):
    argv = [NAME, "--dataset_dir", str(tmp_path / "missing"), "--runs_dir", str(tmp_path / "runs"),
            "--out", str(tmp_path / "results"), "--smoke", "--models", "dkt", "--seeds", "0", "1",
            "--jobs", "2"]
    reproduce = load_script()
    failed = r"the run of dkt, seed [01], fold 1 failed \(exit 2\)"  # whichever seed ends first
    with pytest.raises(reproduce.JobFailed, match=failed) as error:
        reproduce.reproduce(argv, log=quiet)
    assert "missing" in str(error.value) and error.value.returncode == 2
    assert not os.path.exists(str(tmp_path / "results" / (NAME + ".json")))

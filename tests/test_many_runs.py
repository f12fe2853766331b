"""experiments/ without Ray (so on both TensorFlow legs): settings and their hash, the run home's
folders, a run's program and its end, the tables from records; and that only scripts/ import Ray."""
import ast
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from experiments import runs, settings, tables
from processes import alive, still_running_after
from utils import run_files
from utils.config import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_settings_hash_follows_every_setting_but_not_paths_or_threads():
    row = settings.table_settings("assist2009_updated", "dkvmn")
    digest = settings.settings_hash(row)
    assert settings.settings_hash(dict(reversed(list(row.items())))) == digest
    assert settings.settings_hash(dict(row, dataset_dir="x", runs_dir="y", threads=7)) == digest
    for name, value in (("epochs", row["epochs"] + 1), ("learning_rate", 0.01), ("csv_file", "a.csv")):
        assert settings.settings_hash(dict(row, **{name: value})) != digest, name


def test_every_synthetic_5_version_has_version_0_s_row():
    rows = [settings.table_settings("naive_c5_q50_s4000_v%d" % v, "dkvmn") for v in range(20)]
    assert all(row == rows[0] for row in rows) and settings.table_settings("naive_c5_q50_s4000_v20", "dkt") \
        is None


@pytest.mark.parametrize("item, expected", [
    ("learning_rate=0.003", ("learning_rate", 0.003)), ("epochs=5", ("epochs", 5)),
    ("key_projection=True", ("key_projection", True)), ("optimizer=sgd", ("optimizer", "sgd")),
    ("csv_delimiter=", ("csv_delimiter", "")), ("csv_file=[1].csv", ("csv_file", "[1].csv")),
])
def test_set_values_are_typed_as_json_reads_them(item, expected):
    assert settings.parse_set(item) == expected


@pytest.mark.parametrize("item, message", [("epochs", "NAME=VALUE"), ("=3", "NAME=VALUE"),
                                           ("seed=3", "--seeds"), ("threads=2", "--cpus_per_run")])
def test_a_malformed_set_is_a_config_error(item, message):
    with pytest.raises(ConfigError, match=message):
        settings.parse_set(item)


def test_settings_reach_main_py_as_its_command_line_writes_them():
    argv = settings.settings_argv({"dropout": 0.2, "key_projection": False, "epochs": 3, "optimizer": "sgd",
                                    "learning_rate": 1e-05})
    assert argv == ["--dropout", "0.2", "--epochs", "3", "--key_projection", "false", "--learning_rate",
                    "1e-05", "--optimizer", "sgd"]


def test_a_missing_fold_is_found_before_anything_starts(tmp_path):
    for part in ("train1", "valid1", "test"):
        (tmp_path / ("STATICS_%s.csv" % part)).write_text("1\n1\n1\n")
    settings.check_folds("STATICS", str(tmp_path), [1])
    with pytest.raises(ConfigError, match=r"fold 2 of STATICS does not exist: .*STATICS_train2.csv is "
                                          r"missing \(folds found: 1\)"):
        settings.check_folds("STATICS", str(tmp_path), [1, 2])
    settings.check_folds("csv", str(tmp_path), [1, 2])  # a response log: main.py checks its own file
    with pytest.raises(ConfigError, match="does not exist"):
        settings.check_folds("STATICS", str(tmp_path / "nowhere"), [1])


def make_folder(home, name, epoch=None, finished=False):
    folder = home / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    if epoch is not None:
        (folder / "state.json").write_text(json.dumps({"epoch": epoch}))
    if finished:
        (folder / "summary.json").write_text("{}")
    return str(folder)


def test_the_run_home_gives_the_finished_folder_else_the_newest_resumable_one(tmp_path):
    home = tmp_path / "home"
    assert runs.finished_folder(str(home)) is None and runs.resumable_folder(str(home)) is None
    older = make_folder(home, "ds-dkvmn-20260101-000000", epoch=3)
    make_folder(home, "ds-dkvmn-20260101-000100", epoch=0)  # killed in its first epoch: nothing to resume
    (home / "main.log").write_text("")
    assert runs.resumable_folder(str(home)) == older and runs.finished_folder(str(home)) is None
    newer = make_folder(home, "ds-dkvmn-20260101-000200", epoch=1)
    assert runs.resumable_folder(str(home)) == newer
    done = make_folder(home, "ds-dkvmn-20260101-000300", epoch=2, finished=True)
    assert runs.finished_folder(str(home)) == done and runs.resumable_folder(str(home)) == newer


def test_a_row_being_written_is_not_read(tmp_path):
    (tmp_path / "epochs.csv").write_text("epoch,valid_auc,train_seconds,eval_seconds\n"
                                         "1,0.6,2,1\n2,0.7,4,1\n3,0.")
    rows = run_files.read_epoch_rows(str(tmp_path))
    assert [(r["epoch"], r["valid_auc"]) for r in rows] == [(1, 0.6), (2, 0.7)]
    assert runs.seconds_per_epoch(str(tmp_path)) == (4.0, 3.0)


def test_a_stopped_program_ends_with_its_whole_process_group(tmp_path):
    """start_program's child runs in its own group; stop_program ends the child and what it started."""
    script = tmp_path / "sleepy.py"
    script.write_text("import subprocess, sys, time\n"
                      "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                      "print(child.pid, flush=True)\ntime.sleep(60)\n")
    spec = {"repo": str(tmp_path), "workdir": str(tmp_path)}
    process = runs.start_program(["sleepy.py"], spec, str(tmp_path / "log"))
    deadline = time.time() + 30
    while time.time() < deadline and len(open(str(tmp_path / "log")).read().splitlines()) < 3:
        time.sleep(0.1)
    grandchild = int(open(str(tmp_path / "log")).read().splitlines()[-1])
    assert os.getpgid(grandchild) == process.pid != os.getpgid(0)
    runs.stop_program(process, grace_seconds=5)
    assert process.returncode is not None
    assert not still_running_after([grandchild], seconds=10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_a_run_dies_with_the_worker_that_started_it(tmp_path):
    """The Ray worker that runs main.py can be killed outright; main.py must not train on as an orphan."""
    worker = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from experiments import runs\n"
        "p = runs.start_program(['-c', 'import time; time.sleep(60)'],\n"
        "                            {'repo': '', 'workdir': %r}, %r)\n"
        "print(p.pid, flush=True); time.sleep(60)\n") % (REPO, str(tmp_path), str(tmp_path / "log"))],
        stdout=subprocess.PIPE, universal_newlines=True)
    child = int(worker.stdout.readline())
    assert alive(child)
    worker.kill()
    worker.wait()
    assert not still_running_after([child], seconds=10)


def record(model, seed, auc, digest="h1", fold=1, oracle=None):
    summary = {"test_auc": auc, "test_acc": auc - 0.1, "test_auc_from2": auc + 0.01, "test_loss": 0.5,
               "valid_auc": auc + 0.02, "best_epoch": 3 + seed, "epochs_run": 9, "stopped": "reached EPOCHS",
               "num_parameters": 100}
    if oracle:
        summary["test_oracle_auc"] = oracle
    return {"dataset": "assist2015", "model": model, "fold": fold, "seed": seed, "settings": {"epochs": 9},
            "settings_hash": digest, "key": runs.run_key(model, fold, seed, digest),
            "run_dir": "runs/r-%s-%d-%s" % (model, seed, digest), "summary": summary, "threads": 1,
            "seconds_per_epoch": 2.0 + seed, "wall_seconds": 20.0, "hardware": "cpu",
            "versions": {"python": "3.x", "tensorflow": "2.x"},
            "driver_command": "python scripts/reproduce.py",
            "finished_at": "2026-01-01 00:00:0%d" % seed}


def test_the_table_is_the_mean_and_std_of_runs_with_the_same_settings(tmp_path):
    made = [record("dkt", 0, 0.70), record("dkt", 1, 0.72), record("dkt", 2, 0.77),
            record("dkvmn", 0, 0.71), record("dkt", 0, 0.60, digest="h2")]
    made[-1]["settings"] = {"epochs": 9, "carry_state": True}  # a row trained with the state carried
    for run in made:
        runs.write_record(str(tmp_path), run, run["driver_command"])
    failed = [dict(record("dkvmn", 1, 0.0), exit_status=3, log="runs/x/main.log", error=None)]
    text = tables.render_tables(str(tmp_path), "assist2015", failed)
    table = json.load(open(str(tmp_path / "assist2015.json")))
    assert [(e["model"], e["settings_hash"], e["n_runs"]) for e in table["models"]] == [
        ("dkvmn", "h1", 1), ("dkt", "h1", 3), ("dkt", "h2", 1)]
    dkt = table["models"][1]
    aucs = [0.70, 0.72, 0.77]
    assert dkt["test_auc"] == pytest.approx(np.mean(aucs)) and dkt["test_auc_std"] == pytest.approx(
        np.std(aucs, ddof=1))
    assert dkt["paper_auc"] == settings.SETTINGS["assist2015"]["paper"]["dkt"] and dkt["seeds"] == [0, 1, 2]
    assert table["models"][0]["test_auc_std"] is None  # one run: no spread
    assert "| dkt (h1) | cut | %.4f ± %.4f |" % (np.mean(aucs), np.std(aucs, ddof=1)) in text
    assert "| dkvmn | cut | 0.7100 |" in text and "oracle" not in text
    assert "| dkt (h2) | carried | 0.6000 |" in text and table["models"][2]["state"] == "carried"
    assert [(f["model"], f["exit_status"]) for f in table["failed"]] == [("dkvmn", 3)]
    assert "- dkvmn, seed 1, fold 1 (settings h1): exit status 3; log runs/x/main.log" in text
    for run in made:
        assert run["run_dir"] in text


def test_a_table_of_failures_only_is_written(tmp_path):
    failed = [dict(record("dkt", 0, 0.0), exit_status=3, log="runs/x/main.log", error=None)]
    text = tables.render_tables(str(tmp_path / "new"), "assist2015", failed)
    assert json.load(open(str(tmp_path / "new" / "assist2015.json")))["models"] == []
    assert "- dkt, seed 0, fold 1 (settings h1): exit status 3" in text


def test_the_oracle_columns_appear_when_the_runs_know_the_oracle(tmp_path):
    for seed, (auc, oracle) in enumerate(((0.68, 0.75), (0.70, 0.76))):
        runs.write_record(str(tmp_path), record("dkvmn", seed, auc, oracle=oracle), "cmd")
    text = tables.render_tables(str(tmp_path), "assist2015")
    entry = json.load(open(str(tmp_path / "assist2015.json")))["models"][0]
    assert entry["auc_over_oracle"] == pytest.approx(np.mean([0.68 / 0.75, 0.70 / 0.76]))
    assert "oracle AUC | AUC / oracle" in text


def imports_of(path):
    tree = ast.parse(open(os.path.join(REPO, path)).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_scripts_import_ray():
    library = [os.path.join(folder, name) for folder in ("data", "models", "utils", "plots")
               for name in os.listdir(os.path.join(REPO, folder)) if name.endswith(".py")]
    programs = [name for name in os.listdir(REPO) if name.endswith(".py")]
    bad = [path for path in library + programs if any(n.split(".")[0] == "ray" for n in imports_of(path))]
    assert not bad, "Ray is for scripts/ only (an optional install): %s import it" % bad
    assert any(n.split(".")[0] == "ray" for n in imports_of(os.path.join("scripts", "tune.py")))


def module_level_imports(path):
    tree = ast.parse(open(os.path.join(REPO, path)).read())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_many_runs_layer_imports_neither_ray_on_import_nor_tensorflow():
    layer = [os.path.join("experiments", name) for name in os.listdir(os.path.join(REPO, "experiments"))
             if name.endswith(".py")]
    on_import = [path for path in layer if any(n.split(".")[0] == "ray" for n in module_level_imports(path))]
    assert not on_import, "Ray is imported by the driver's functions only: %s import it" % on_import
    tensorflow = [path for path in layer if any(n.split(".")[0] in ("tensorflow", "models")
                                                for n in imports_of(path))]
    assert not tensorflow, "the many-runs layer is TensorFlow-free: %s" % tensorflow

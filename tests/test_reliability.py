"""Nothing lost, nothing silent (issue 17): damaged run folders, failed writes, real kills, bad settings.

Every run here is a tiny synthetic one (tests/tiny_runs.py: 120 students, 12 exercises, one thread, no
dropout). The fault tests kill real processes with SIGKILL or make real writes fail (a folder where a file is
to be written): no library code knows about them.
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import main
from tiny_runs import TINY, quiet, tiny_config
from utils import run_files
from utils.errors import RunFolderError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Figures of a resumed run against an uninterrupted one: one thread, no dropout, the same batches and the
# restored optimizer slots make them equal up to float rounding.
SAME_RUN_TOLERANCE = 1e-6
FIGURES = ("valid_auc", "test_auc", "test_acc", "test_loss", "test_auc_from2")


def tiny_argv(runs_dir, **overrides):
    """main.py's command line for a tiny run (the TINY settings of tests/tiny_runs.py)."""
    settings = dict(TINY, runs_dir=str(runs_dir))
    settings.update(overrides)
    argv = []
    for name, value in sorted(settings.items()):
        argv += ["--" + name, str(value)]
    return argv


def only_run_dir(runs_dir):
    (name,) = os.listdir(str(runs_dir))
    return os.path.join(str(runs_dir), name)


def file_bytes(run_dir, *names):
    return dict((name, open(os.path.join(run_dir, name), "rb").read()) for name in names)


def one_error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def assert_same_end(resumed, uninterrupted):
    assert resumed["best_epoch"] == uninterrupted["best_epoch"]
    assert resumed["epochs_run"] == uninterrupted["epochs_run"]
    for name in FIGURES:
        assert resumed[name] == pytest.approx(uninterrupted[name], abs=SAME_RUN_TOLERANCE), name


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    """epochs -> summary of an uninterrupted tiny DKVMN run (what the killed runs must resume to)."""
    root = tmp_path_factory.mktemp("reference")
    summaries = {}

    def summary(epochs):
        if epochs not in summaries:
            _, summaries[epochs] = main.run(tiny_config(runs_dir=str(root / str(epochs)), epochs=epochs),
                                            log=quiet)
        return summaries[epochs]
    return summary


def unfinished_run(tmp_path):
    """A tiny run of 3 finished epochs without its summary.json: as if killed just before its end."""
    run_dir, _ = main.run(tiny_config(runs_dir=str(tmp_path / "runs"), epochs=3), log=quiet)
    os.remove(os.path.join(run_dir, run_files.SUMMARY))
    state = run_files.read_json(os.path.join(run_dir, run_files.STATE))
    assert state["epoch"] == 3
    return run_dir


# -- 1 and 9: a resume checks everything before it touches anything ----------------------------------------

def _remove_state(run_dir):
    os.remove(os.path.join(run_dir, "state.json"))


def _truncate_state(run_dir):
    path = os.path.join(run_dir, "state.json")
    text = open(path).read()
    open(path, "w").write(text[:len(text) // 2])


def _state_without_checkpoint(run_dir):
    path = os.path.join(run_dir, "state.json")
    state = run_files.read_json(path)
    state["last_checkpoint"] = None
    run_files.write_json(path, state)


def _remove_last_checkpoint_data(run_dir):
    state = run_files.read_json(os.path.join(run_dir, "state.json"))
    for path in glob.glob(os.path.join(run_dir, state["last_checkpoint"] + ".data-*")):
        os.remove(path)


def _truncate_best_checkpoint_data(run_dir):
    state = run_files.read_json(os.path.join(run_dir, "state.json"))
    (path,) = glob.glob(os.path.join(run_dir, state["best_checkpoint"] + ".data-*"))
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)


@pytest.mark.parametrize("damage, named", [
    (_remove_state, "state.json"),
    (_truncate_state, "state.json"),
    (_state_without_checkpoint, "state.json"),
    (_remove_last_checkpoint_data, "checkpoints"),
    (_truncate_best_checkpoint_data, "checkpoints"),
])
def test_a_damaged_run_folder_is_refused_before_its_logs_are_touched(tmp_path, capsys, damage, named):
    run_dir = unfinished_run(tmp_path)
    damage(run_dir)
    before = file_bytes(run_dir, "epochs.csv", "steps.csv")
    capsys.readouterr()
    assert main.main(["--resume", run_dir]) == 2
    line = one_error_line(capsys)
    assert named in line and "start a new run" in line
    assert "before its first epoch" not in line  # the old, false reason
    assert file_bytes(run_dir, "epochs.csv", "steps.csv") == before


def test_a_run_without_state_json_says_what_is_missing(tmp_path, capsys):
    run_dir = unfinished_run(tmp_path)
    _remove_state(run_dir)
    assert main.main(["--resume", run_dir]) == 2
    line = one_error_line(capsys)
    assert "has no state.json" in line and "3 finished epochs in epochs.csv" in line


# -- 9: failed writes end in one error line and leave the run resumable ------------------------------------

def test_an_unwritable_runs_dir_is_one_error_line(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where RUNS_DIR's parent should be")
    assert main.main(tiny_argv(not_a_folder / "runs")) == 2
    line = one_error_line(capsys)
    assert "cannot create a run folder in %s" % (not_a_folder / "runs") in line and "--runs_dir" in line


def _blocking_folder(relative_path):
    """A log callback that, once epoch 1 is committed, puts a folder where the run will write a file: a real
    write failure (IsADirectoryError, or TensorFlow's error for a checkpoint) at a chosen point."""
    seen = {}

    def log(*args):
        line = " ".join(str(a) for a in args)
        if line.startswith("run folder: ") and "run_dir" not in seen:
            seen["run_dir"] = line.split()[2]
        if line.startswith("epoch   1 "):
            os.makedirs(os.path.join(seen["run_dir"], relative_path))
    return log, seen


@pytest.mark.parametrize("blocked, named", [
    ("state.json.partial", "state.json"),
    (os.path.join("checkpoints", "last", "model-2.index"), os.path.join("checkpoints", "last")),
])
def test_a_failed_write_names_the_file_and_the_run_resumes(tmp_path, reference_runs, blocked, named):
    log, seen = _blocking_folder(blocked)
    with pytest.raises(RunFolderError) as error:
        main.run(tiny_config(runs_dir=str(tmp_path / "runs"), epochs=3), log=log)
    message = str(error.value)
    assert named in message and "--resume %s" % seen["run_dir"] in message and "after epoch 1" in message
    shutil.rmtree(os.path.join(seen["run_dir"], blocked))
    run_dir, resumed = main.run(dict(main.constants(), resume=seen["run_dir"]), log=quiet)
    assert list(pd.read_csv(os.path.join(run_dir, "epochs.csv"))["epoch"]) == [1, 2, 3]
    assert_same_end(resumed, reference_runs(3))


# -- 11 and 12: real kills --------------------------------------------------------------------------------

# Runs main.py and kills its own process with SIGKILL just before state.json commits an epoch that is a new
# best (epoch >= 2): the moment when the new best checkpoint is saved and the old state.json, naming the old
# best checkpoint, is still the commit point. The hook lives here, in the test, not in the library.
KILL_AT_NEW_BEST = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
import main
from utils import run_files
write_json = run_files.write_json
def write_json_or_die(path, obj):
    if os.path.basename(path) == run_files.STATE and obj["epoch"] >= 2 and obj["best_epoch"] == obj["epoch"]:
        os.kill(os.getpid(), signal.SIGKILL)
    write_json(path, obj)
run_files.write_json = write_json_or_die
sys.exit(main.main(sys.argv[2:]))
"""


def subprocess_env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)


def test_a_kill_between_the_new_best_checkpoint_and_state_json_keeps_the_named_one(tmp_path, reference_runs):
    runs = tmp_path / "runs"
    process = subprocess.run([sys.executable, "-c", KILL_AT_NEW_BEST, REPO] + tiny_argv(runs, epochs=4),
                             cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-2000:]
    run_dir = only_run_dir(runs)
    state = run_files.read_json(os.path.join(run_dir, "state.json"))
    for checkpoint in (state["best_checkpoint"], state["last_checkpoint"]):
        assert os.path.isfile(os.path.join(run_dir, checkpoint + ".index")), checkpoint
        assert glob.glob(os.path.join(run_dir, checkpoint + ".data-*")), checkpoint
    _, resumed = main.run(dict(main.constants(), resume=run_dir), log=quiet)
    assert_same_end(resumed, reference_runs(4))
    # once state.json is committed, only the checkpoints it names are kept
    state = run_files.read_json(os.path.join(run_dir, "state.json"))
    for kind in ("best", "last"):
        kept = set(name.split(".")[0] for name in os.listdir(os.path.join(run_dir, "checkpoints", kind))
                   if name.startswith("model-"))
        assert kept == {os.path.basename(state[kind + "_checkpoint"])}


# -- 3: settings are checked before the run folder exists --------------------------------------------------

@pytest.mark.parametrize("overrides, named", [
    (["--batch_size", "0"], "batch_size"),
    (["--seq_len", "0"], "seq_len"),
    (["--epochs", "0"], "epochs"),
    (["--memory_size", "0"], "memory_size"),
    (["--key_dim", "-3"], "key_dim"),
    (["--value_dim", "0"], "value_dim"),
    (["--final_dim", "0"], "final_dim"),
    (["--model", "dkt", "--hidden_size", "0"], "hidden_size"),
    (["--model", "dkt", "--dkt_embedding_size", "-1"], "dkt_embedding_size"),
    (["--threads", "-1"], "threads"),
    (["--learning_rate", "-1"], "learning_rate"),
    (["--learning_rate", "0"], "learning_rate"),
    (["--learning_rate", "0.001", "--min_learning_rate", "0.01"], "min_learning_rate"),
    (["--dropout", "1"], "dropout"),
    (["--dropout", "-0.1"], "dropout"),
    (["--momentum", "-0.5"], "momentum"),
    (["--max_grad_norm", "-1"], "max_grad_norm"),
    (["--init_std", "0"], "init_std"),
    (["--lr_decay", "0"], "lr_decay"),
    (["--lr_decay_epochs", "-1"], "lr_decay_epochs"),
    (["--early_stop_patience", "-1"], "early_stop_patience"),
    (["--seed", "-1"], "seed"),
])
def test_a_bad_setting_is_one_error_line_before_anything_is_written(tmp_path, capsys, overrides, named):
    runs = tmp_path / "runs"
    assert main.main(tiny_argv(runs) + overrides) == 2
    line = one_error_line(capsys)
    assert named in line
    assert not runs.exists()


# -- 6: --resume continues a run with its own constants ----------------------------------------------------

def test_overrides_with_resume_are_refused_not_ignored(tmp_path, capsys):
    run_dir = unfinished_run(tmp_path)
    before = file_bytes(run_dir, "epochs.csv", "steps.csv", "state.json", "config.json")
    capsys.readouterr()
    assert main.main(["--resume", run_dir, "--epochs", "10", "--learning_rate", "0.5"]) == 2
    line = one_error_line(capsys)
    assert "--epochs" in line and "--learning_rate" in line and "--resume" in line
    assert file_bytes(run_dir, "epochs.csv", "steps.csv", "state.json", "config.json") == before


# -- 7: a run folder is always inside RUNS_DIR -------------------------------------------------------------

def write_three_line(path, students, n_skills, seed):
    """A three-line file of `students` random students (4-9 answers each, both answers present)."""
    random = np.random.RandomState(seed)
    lines = []
    for _ in range(students):
        count = random.randint(4, 10)
        lines += [str(count), ",".join(str(s) for s in random.randint(1, n_skills + 1, count)),
                  ",".join(str(a) for a in random.randint(0, 2, count))]
    path.write_text("\n".join(lines) + "\n")


def test_a_dataset_name_cannot_put_the_run_folder_outside_runs_dir(tmp_path):
    escaped = tmp_path / "escaped"
    escaped.mkdir()
    for split, seed in (("train1", 0), ("valid1", 1), ("test", 2)):
        write_three_line(escaped / ("x_%s.csv" % split), 30, 6, seed)
    (tmp_path / "data").mkdir()
    runs = tmp_path / "runs"
    run_dir, _ = main.run(tiny_config(dataset="../escaped/x", dataset_dir=str(tmp_path / "data"),
                                      runs_dir=str(runs)), log=quiet)
    assert os.path.dirname(os.path.realpath(run_dir)) == os.path.realpath(str(runs))
    assert sorted(os.listdir(str(escaped))) == ["x_test.csv", "x_train1.csv", "x_valid1.csv"]
    for name in ("..", "../..", "/", ".", "a/../../b", "con:x"):
        folder = run_files.create_run_dir(str(runs), name, "dkvmn")
        assert os.path.dirname(os.path.realpath(folder)) == os.path.realpath(str(runs)), name


# -- 4: an undefined AUC stops the run before it starts; JSON never holds NaN -------------------------------

def test_a_split_with_one_class_of_answers_is_refused_before_the_run_folder(tmp_path, capsys):
    rows = ["student,skill,correct,order"] + [
        "s%d,k%d,1,%d" % (student, t % 3, t) for student in range(60) for t in range(5)]
    (tmp_path / "responses.csv").write_text("\n".join(rows) + "\n")
    runs = tmp_path / "runs"
    assert main.main(tiny_argv(runs, dataset="csv", dataset_dir=tmp_path)) == 2
    line = one_error_line(capsys)
    assert "valid split" in line and "only correct answers" in line and "AUC" in line
    assert not runs.exists()


def test_a_one_class_test_split_is_refused_unless_the_test_split_is_not_scored(tmp_path, capsys):
    for split, seed in (("train1", 0), ("valid1", 1)):
        write_three_line(tmp_path / ("x_%s.csv" % split), 30, 6, seed)
    (tmp_path / "x_test.csv").write_text("3\n1,2,3\n0,0,0\n2\n4,5\n0,0\n")
    runs = tmp_path / "runs"
    argv = tiny_argv(runs, dataset="x", dataset_dir=tmp_path)
    assert main.main(argv) == 2
    line = one_error_line(capsys)
    assert "test split" in line and "only wrong answers" in line and "--score_test false" in line
    assert not runs.exists()
    assert main.main(argv + ["--score_test", "false"]) == 0


def test_json_files_hold_null_where_a_figure_is_undefined(tmp_path):
    # seq_len 1: every answer is the first of its chunk, so the *_from2 AUCs have nothing to score
    run_dir, summary = main.run(tiny_config(runs_dir=str(tmp_path / "runs"), seq_len=1), log=quiet)
    text = open(os.path.join(run_dir, "summary.json")).read()
    assert "NaN" not in text and "Infinity" not in text
    assert run_files.read_json(os.path.join(run_dir, "summary.json"))["test_auc_from2"] is None
    path = str(tmp_path / "x.json")
    run_files.write_json(path, {"a": float("nan"), "b": [float("inf"), np.float32("-inf"), 1.5],
                                "c": {"d": np.nan}})
    assert run_files.read_json(path) == {"a": None, "b": [None, None, 1.5], "c": {"d": None}}


# -- 8: divergence is caught in the weights and the predictions, and names a checkpoint that exists -------

def diverging_argv(runs, **overrides):
    """One training step per epoch (batch 200 > 144 chunks), Adam without clipping: a learning rate of 1e30
    makes DKVMN's key products overflow to inf and its softmax NaN in that step, with a finite loss."""
    settings = dict(batch_size=200, max_grad_norm=0, epochs=3)
    settings.update(overrides)
    return tiny_argv(runs, **settings)


def test_nan_weights_after_the_last_step_of_an_epoch_stop_the_run_with_status_3(tmp_path, capsys):
    runs = tmp_path / "runs"
    # epoch 1 at 0.01, epoch 2 at 0.01 * 1e32
    assert main.main(diverging_argv(runs, learning_rate=0.01, lr_decay=1e32, lr_decay_epochs=1)) == 3
    line = one_error_line(capsys)
    assert "epoch 2" in line and "NaN or infinite" in line
    run_dir = only_run_dir(runs)
    named = os.path.join(run_dir, "checkpoints", "last", "model-1")
    assert named in line and os.path.isfile(named + ".index")
    assert run_files.read_json(os.path.join(run_dir, "state.json"))["epoch"] == 1


def test_divergence_in_the_first_epoch_says_no_checkpoint_was_kept(tmp_path, capsys):
    assert main.main(diverging_argv(tmp_path / "runs", learning_rate=1e30)) == 3
    line = one_error_line(capsys)
    assert "epoch 1" in line and "no checkpoint" in line and "epoch 0" not in line


# -- 2: predict.py --out never replaces an input, nor an existing file unless told -------------------------

def test_predict_out_never_replaces_its_input_nor_an_existing_file_unless_told(trained_runs, tmp_path,
                                                                             capsys):
    import predict
    from utils.errors import ConfigError
    run_dir, trained = trained_runs["dkvmn"]
    history = tmp_path / "h.csv"
    history.write_text("student,skill,correct,order\n" + "".join(
        "s1,%s,%d,%d\n" % (trained.skill_ids[t % 3], t % 2, t) for t in range(6)))
    original = history.read_bytes()
    assert predict.main([run_dir, "--input", str(history), "--out", str(history)]) == 2
    assert "--input" in one_error_line(capsys) and history.read_bytes() == original
    link = tmp_path / "link.csv"
    os.symlink(str(history), str(link))
    for out in (history, link):  # not even with --overwrite true
        with pytest.raises(ConfigError, match="input"):
            predict.predict(run_dir, ["--input", str(history), "--out", str(out), "--overwrite", "true"],
                            log=quiet, model=trained)
    assert history.read_bytes() == original

    other = tmp_path / "other.csv"
    other.write_text("someone's file\n")
    with pytest.raises(ConfigError, match="exists.*--overwrite true"):
        predict.predict(run_dir, ["--input", str(history), "--out", str(other)], log=quiet, model=trained)
    assert other.read_text() == "someone's file\n"
    predict.predict(run_dir, ["--input", str(history), "--out", str(other), "--overwrite", "true"],
                    log=quiet, model=trained)
    assert other.read_text().startswith("student,position,skill_id,answer,p,mastery_")
    assert not glob.glob(str(tmp_path / "*.partial"))

    config = os.path.join(run_dir, "config.json")
    before = open(config, "rb").read()
    with pytest.raises(ConfigError, match="run folder"):
        predict.predict(run_dir, ["--input", str(history), "--out", config, "--overwrite", "true"], log=quiet,
                        model=trained)
    assert open(config, "rb").read() == before


# -- 12: a real kill at a chosen point resumes to the same end -------------------------------------------

def finished_epochs(runs_dir):
    """Rows of epochs.csv in the one run folder under runs_dir (0 while there is none)."""
    paths = glob.glob(os.path.join(str(runs_dir), "*", "epochs.csv"))
    if not paths:
        return 0
    with open(paths[0]) as f:
        return max(0, sum(1 for line in f if line.endswith("\n")) - 1)


def test_main_killed_with_sigkill_after_two_epochs_resumes_to_the_same_summary(tmp_path, reference_runs):
    runs = tmp_path / "runs"
    with open(str(tmp_path / "log.txt"), "w") as log:
        argv = [sys.executable, os.path.join(REPO, "main.py")] + tiny_argv(runs, epochs=5)
        process = subprocess.Popen(argv, cwd=REPO, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 300
            while finished_epochs(runs) < 2 and process.poll() is None and time.time() < deadline:
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)  # wherever it is: saving epoch 2, or inside epoch 3
        finally:
            process.wait()
    assert process.returncode == -signal.SIGKILL, open(str(tmp_path / "log.txt")).read()[-2000:]
    run_dir = only_run_dir(runs)
    assert 2 <= finished_epochs(runs) < 5 and not os.path.exists(os.path.join(run_dir, "summary.json"))

    _, resumed = main.run(dict(main.constants(), resume=run_dir), log=quiet)
    assert_same_end(resumed, reference_runs(5))
    assert run_files.read_json(os.path.join(run_dir, "summary.json")) == resumed
    assert list(pd.read_csv(os.path.join(run_dir, "epochs.csv"))["epoch"]) == [1, 2, 3, 4, 5]


# -- more bad input: run folders edited, damaged or in use; a model too large to build ---------------------

def test_a_config_json_without_a_constant_of_this_main_py_is_refused(tmp_path, capsys):
    run_dir = unfinished_run(tmp_path)
    path = os.path.join(run_dir, "config.json")
    saved = run_files.read_json(path)
    del saved["constants"]["epochs"]  # as written by an older main.py
    run_files.write_json(path, saved)
    before = file_bytes(run_dir, "epochs.csv", "steps.csv", "state.json")
    capsys.readouterr()
    assert main.main(["--resume", run_dir]) == 2
    line = one_error_line(capsys)
    assert "config.json" in line and "epochs" in line and "start a new run" in line
    assert file_bytes(run_dir, "epochs.csv", "steps.csv", "state.json") == before


def test_a_state_json_cannot_name_a_checkpoint_outside_the_run_folder(tmp_path, capsys):
    run_dir = unfinished_run(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(os.path.join(run_dir, "checkpoints", "last"), str(elsewhere))
    path = os.path.join(run_dir, "state.json")
    state = run_files.read_json(path)
    state["last_checkpoint"] = os.path.relpath(str(elsewhere / "model-3"), run_dir)
    run_files.write_json(path, state)
    capsys.readouterr()
    assert main.main(["--resume", run_dir]) == 2
    assert "last_checkpoint" in one_error_line(capsys)
    kept = os.listdir(os.path.join(run_dir, "checkpoints", "last"))
    assert sorted(os.listdir(str(elsewhere))) == sorted(kept)


def test_a_run_folder_in_use_by_a_running_main_py_is_not_resumed_by_another(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = [sys.executable, os.path.join(REPO, "main.py")] + tiny_argv(runs, epochs=200)
    process = subprocess.Popen(argv, cwd=REPO, env=subprocess_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while finished_epochs(runs) < 1 and process.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        assert process.poll() is None
        run_dir = only_run_dir(runs)
        capsys.readouterr()
        assert main.main(["--resume", run_dir]) == 2
        line = one_error_line(capsys)
        assert "in use by another process" in line and run_dir in line
    finally:
        process.kill()
        process.wait()


def test_a_torn_log_tail_is_dropped_on_resume(tmp_path):
    # what a crash of the machine (not of the process) can leave at a file's end: NUL bytes, broken UTF-8
    run_dir = unfinished_run(tmp_path)
    steps_before = pd.read_csv(os.path.join(run_dir, "steps.csv"))
    for name in ("steps.csv", "epochs.csv"):
        with open(os.path.join(run_dir, name), "ab") as f:
            f.write(b"4,\xff\xfe\x00\x00\x00\x00")
    run_dir, _ = main.run(dict(main.constants(), resume=run_dir), log=quiet)
    assert list(pd.read_csv(os.path.join(run_dir, "epochs.csv"))["epoch"]) == [1, 2, 3]
    pd.testing.assert_frame_equal(pd.read_csv(os.path.join(run_dir, "steps.csv")), steps_before)


def test_a_model_too_large_to_build_is_one_error_line_and_leaves_no_run_folder(tmp_path, capsys):
    runs = tmp_path / "runs"
    # M^k would be 200,000 x 200,000 floats (160 GB): TensorFlow cannot even make its initial value
    assert main.main(tiny_argv(runs, memory_size=200000, key_dim=200000)) == 2
    line = one_error_line(capsys)
    assert "too large" in line and "floats" in line
    assert not runs.exists()


# -- a resume continues the run it started: an edited config.json is refused, naming what changed ----------

@pytest.mark.parametrize("edits, named", [
    ({"learning_rate": 0.5}, ["learning_rate 0.01 -> 0.5"]),
    ({"memory_size": 4, "key_dim": 7}, ["memory_size 3 -> 4", "key_dim 6 -> 7"]),
])
def test_a_resume_after_config_json_was_edited_is_refused_naming_the_change(tmp_path, capsys, edits, named):
    run_dir = unfinished_run(tmp_path)
    path = os.path.join(run_dir, "config.json")
    saved = run_files.read_json(path)
    saved["constants"].update(edits)
    run_files.write_json(path, saved)
    before = file_bytes(run_dir, "epochs.csv", "steps.csv", "state.json")
    capsys.readouterr()
    assert main.main(["--resume", run_dir]) == 2
    line = one_error_line(capsys)
    assert "config.json" in line and "damaged" not in line
    for change in named:
        assert change in line
    assert file_bytes(run_dir, "epochs.csv", "steps.csv", "state.json") == before


# -- a divergence that stays finite stops the run as a NaN does ----------------------------------------------

def test_a_sane_run_stays_far_below_the_divergence_limit(tmp_path):
    from utils.training import DIVERGED_LOSS
    run_dir, summary = main.run(tiny_config(runs_dir=str(tmp_path / "runs"), epochs=3), log=quiet)
    losses = run_files.read_epochs(run_dir)["train_loss"]
    assert summary["epochs_run"] == 3 and losses.max() < DIVERGED_LOSS / 5


def test_a_finite_divergence_stops_the_run_with_status_3_and_is_never_selected(tmp_path, capsys):
    runs = tmp_path / "runs"
    # epoch 1 at 0.01 (kept), epoch 2 at 0.01 * 1e8 = 1e6: the loss grows to ~1e6 and stays finite
    assert main.main(tiny_argv(runs, learning_rate=0.01, lr_decay=1e8, lr_decay_epochs=1, epochs=3)) == 3
    line = one_error_line(capsys)
    assert "epoch 2" in line and "mean training loss" in line and "ln 2" in line
    run_dir = only_run_dir(runs)
    state = run_files.read_json(os.path.join(run_dir, "state.json"))
    assert state["epoch"] == state["best_epoch"] == 1
    assert list(run_files.read_epochs(run_dir)["epoch"]) == [1]
    assert not os.path.exists(os.path.join(run_dir, "summary.json"))


def test_a_learning_rate_of_1e6_stops_the_run_in_its_first_epoch(tmp_path, capsys):
    assert main.main(tiny_argv(tmp_path / "runs", learning_rate=1e6, epochs=2)) == 3
    line = one_error_line(capsys)
    assert "epoch 1" in line and "mean training loss" in line and "no checkpoint" in line

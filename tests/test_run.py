"""The run of main.py end to end on a small synthetic data set: logs, selection, resume, divergence."""
import json
import math
import os
import re

import numpy as np
import pandas as pd
import pytest

import main
from utils import model_registry, run_files, stats
from utils.run_files import EPOCH_COLUMNS, STEP_COLUMNS
from data import load_from_config
from utils.errors import TrainingDiverged
from utils.training import Trainer

SMALL = {"synthetic_students": 240, "synthetic_exercises": 20, "synthetic_concepts": 3, "seq_len": 20,
         "memory_size": 3, "key_dim": 8, "value_dim": 8, "final_dim": 8, "hidden_size": 16,
         "batch_size": 16, "learning_rate": 0.01, "dropout": 0.0, "threads": 1, "early_stop_patience": 0}


def small_config(tmp_path, **overrides):
    config = main.constants()
    config.update(SMALL, runs_dir=str(tmp_path / "runs"))
    config.update(overrides)
    return config


def quiet(*args):
    pass


@pytest.mark.parametrize("model", model_registry.names())
def test_short_training_learns_and_writes_a_complete_run_folder(tmp_path, model):
    run_dir, summary = main.run(small_config(tmp_path, model=model, epochs=4), log=quiet)

    epochs = pd.read_csv(os.path.join(run_dir, "epochs.csv"))
    steps = pd.read_csv(os.path.join(run_dir, "steps.csv"))
    assert list(epochs.columns) == EPOCH_COLUMNS and list(steps.columns) == STEP_COLUMNS
    fixed = main.trainer_class(model).FIXED_EPOCHS  # BKT: one EM fit per setting, whatever EPOCHS is
    assert list(epochs["epoch"]) == list(range(1, min(4, fixed or 4) + 1))
    assert list(steps["step"]) == list(range(1, len(steps) + 1))
    if fixed:  # each epoch a setting fitted from the start, not more training: each fits, better than 0.5
        assert (epochs["train_loss"] < math.log(2)).all()
    else:
        assert epochs["train_loss"].iloc[-1] < epochs["train_loss"].iloc[0]
    assert epochs["valid_auc"].max() > 0.6

    best = int(epochs["valid_auc"].idxmax())
    assert summary["best_epoch"] == epochs["epoch"][best]
    assert summary["valid_auc"] == pytest.approx(epochs["valid_auc"][best])
    # the final test figure is the selected checkpoint's, measured again after restoring it
    assert summary["test_auc"] == pytest.approx(epochs["test_auc"][best], abs=1e-6)
    assert json.load(open(os.path.join(run_dir, "summary.json"))) == summary

    predictions = pd.read_csv(os.path.join(run_dir, "predictions.csv"))
    assert list(predictions.columns) == ["student", "position", "skill", "answer", "p"]
    dataset = load_from_config(small_config(tmp_path))
    assert len(predictions) == sum(len(s.skills) for s in dataset.test)
    assert predictions["p"].between(0, 1).all()
    assert not predictions.duplicated(["student", "position"]).any()
    # the test AUC's 95% interval, students resampled 1,000 times with the run's SEED, as from predictions.csv
    interval = stats.bootstrap_auc_ci(predictions["answer"].values, predictions["p"].values,
                                      predictions["student"].values, n_resamples=1000, seed=0)
    assert summary["test_auc_ci_low"] < summary["test_auc"] < summary["test_auc_ci_high"]
    assert summary["test_auc_ci_low"] == pytest.approx(interval["low"], abs=2e-3)
    assert summary["test_auc_ci_high"] == pytest.approx(interval["high"], abs=2e-3)
    assert summary["test_auc_ci_resamples"] == 1000

    skills = pd.read_csv(os.path.join(run_dir, "skills.csv"))
    assert len(skills) == dataset.n_skills and skills["true_concept"].notna().all()
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert config["constants"]["model"] == model and config["num_parameters"] == summary["num_parameters"]
    assert os.listdir(os.path.join(run_dir, "tensorboard"))
    weights_path = os.path.join(run_dir, "correlation_weights.csv")
    if model == "dkvmn":
        weights = pd.read_csv(weights_path).drop(columns="skill").values
        assert weights.shape == (dataset.n_skills, SMALL["memory_size"])
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-4)
    else:
        assert not os.path.exists(weights_path)


def test_a_killed_run_resumes_to_the_same_end(tmp_path, monkeypatch):
    config = small_config(tmp_path, epochs=3)
    _, uninterrupted = main.run(dict(config, runs_dir=str(tmp_path / "a")), log=quiet)

    real_step = Trainer._train_step
    calls = {"n": 0}

    def dies_in_epoch_3(self, batch, learning_rate):
        calls["n"] += 1
        if calls["n"] == 2 * steps_per_epoch + 3:
            raise KeyboardInterrupt
        return real_step(self, batch, learning_rate)

    steps_per_epoch = len(pd.read_csv(os.path.join(
        tmp_path / "a", os.listdir(str(tmp_path / "a"))[0], "steps.csv"))) // 3
    monkeypatch.setattr(Trainer, "_train_step", dies_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        main.run(dict(config, runs_dir=str(tmp_path / "b")), log=quiet)
    monkeypatch.setattr(Trainer, "_train_step", real_step)
    killed = os.path.join(str(tmp_path / "b"), os.listdir(str(tmp_path / "b"))[0])
    assert len(pd.read_csv(os.path.join(killed, "epochs.csv"))) == 2
    assert len(pd.read_csv(os.path.join(killed, "steps.csv"))) == 2 * steps_per_epoch + 2

    run_dir, resumed = main.run(dict(main.constants(), resume=killed), log=quiet)
    assert run_dir == killed
    epochs = pd.read_csv(os.path.join(killed, "epochs.csv"))
    steps = pd.read_csv(os.path.join(killed, "steps.csv"))
    assert list(epochs["epoch"]) == [1, 2, 3]
    assert list(steps["step"]) == list(range(1, 3 * steps_per_epoch + 1))
    # one thread, no dropout, same batches and restored Adam slots: the same run up to float noise
    assert resumed["best_epoch"] == uninterrupted["best_epoch"]
    assert resumed["test_auc"] == pytest.approx(uninterrupted["test_auc"], abs=1e-3)


def test_a_paused_run_resumes_to_the_same_end_and_the_pause_is_no_setting(tmp_path):
    """PAUSE_AFTER_EPOCH ends a sitting after that epoch with nothing of the end written (no summary, no
    test figure); --resume, which takes no other option, continues it to what one sitting would give."""
    config = small_config(tmp_path, epochs=3)
    _, uninterrupted = main.run(dict(config, runs_dir=str(tmp_path / "a")), log=quiet)
    lines = []
    paused_dir, summary = main.run(dict(config, runs_dir=str(tmp_path / "b"), pause_after_epoch=1),
                                   log=lines.append)
    assert summary is None and not run_files.is_finished(paused_dir)
    assert run_files.finished_epochs(paused_dir) == 1 and "paused after epoch 1" in lines[-1]
    assert not os.path.exists(os.path.join(paused_dir, "predictions.csv"))
    again_dir, summary = main.run(dict(main.constants(), resume=paused_dir, pause_after_epoch=1), log=quiet)
    assert summary is None and run_files.finished_epochs(paused_dir) == 1   # nothing to do up to epoch 1
    assert main.main(["--resume", paused_dir, "--pause_after_epoch", "2"]) == 0
    assert run_files.finished_epochs(paused_dir) == 2 and not run_files.is_finished(paused_dir)
    assert main.main(["--resume", paused_dir, "--seed", "3"]) == 2   # a resume takes no setting
    _, resumed = main.run(dict(main.constants(), resume=paused_dir), log=quiet)
    assert list(pd.read_csv(os.path.join(paused_dir, "epochs.csv"))["epoch"]) == [1, 2, 3]
    assert resumed["best_epoch"] == uninterrupted["best_epoch"]
    assert resumed["test_auc"] == pytest.approx(uninterrupted["test_auc"], abs=1e-3)
    # a pause at or past the run's own end changes nothing: the run finishes
    _, finished = main.run(dict(config, runs_dir=str(tmp_path / "c"), pause_after_epoch=3), log=quiet)
    assert finished["test_auc"] == pytest.approx(uninterrupted["test_auc"], abs=1e-3)


def test_a_run_made_before_the_newest_constants_resumes_with_its_old_behaviour(tmp_path, monkeypatch):
    """A config.json without BATCH_PARTS, DATA_CACHE, the EdNet options and the split options (added later)
    resumes with one loop per batch, no cache, and its students split by its SEED as they were (else the data
    fingerprint differs and the resume is refused), and says so; one without a constant that always existed
    is refused, not guessed."""
    real_step = Trainer._train_step
    built = []

    def dies_in_epoch_2(self, batch, learning_rate):
        if self.session.run(self.model.global_step) >= steps_per_epoch:
            raise KeyboardInterrupt
        return real_step(self, batch, learning_rate)

    steps_per_epoch = 1 + (int(round(SMALL["synthetic_students"] * 0.6)) - 1) // SMALL["batch_size"]
    monkeypatch.setattr(Trainer, "_train_step", dies_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        # as a run made before the split options split its students: by its SEED, into fractions
        main.run(small_config(tmp_path, epochs=2, seed=3, split_design="holdout", split_seed=3), log=quiet)
    killed = os.path.join(str(tmp_path / "runs"), os.listdir(str(tmp_path / "runs"))[0])
    config_path = os.path.join(killed, run_files.CONFIG)
    saved = run_files.read_json(config_path)
    newer = [name for name in saved["constants"] if name in main.older_run_values(saved["constants"])]
    assert sorted(newer) == sorted(main.older_run_values(saved["constants"]))
    for name in newer:
        del saved["constants"][name]
    run_files.write_json(config_path, saved)

    monkeypatch.setattr(Trainer, "_train_step", real_step)
    real_build = Trainer.__init__

    def recording_build(self, config, *args, **kwargs):
        built.append(dict(config))
        real_build(self, config, *args, **kwargs)

    monkeypatch.setattr(Trainer, "__init__", recording_build)
    lines = []
    run_dir, summary = main.run(dict(main.constants(), resume=killed), log=lines.append)
    assert run_dir == killed and summary["epochs_run"] == 2
    assert built[-1]["batch_parts"] == 1 and built[-1]["data_cache"] is False
    assert (built[-1]["split_design"], built[-1]["split_seed"]) == ("holdout", 3)
    recorded = run_files.read_json(config_path)
    assert recorded["older_run_values"]["split_seed"] == 3 and "split_seed" not in recorded["constants"]
    assert any("made before the constant(s)" in line and "split_seed=3" in line for line in lines)

    del saved["constants"]["seed"]
    os.remove(os.path.join(killed, run_files.SUMMARY))
    run_files.write_json(config_path, saved)
    with pytest.raises(run_files.RunFolderError, match="lacks the constant"):
        main.run(dict(main.constants(), resume=killed), log=quiet)


def test_a_finished_run_is_not_resumed_and_a_run_folder_never_reused(tmp_path):
    run_dir, _ = main.run(small_config(tmp_path, epochs=1), log=quiet)
    assert main.main(["--resume", run_dir]) == 2
    assert main.main(["--resume", str(tmp_path)]) == 2
    first = run_files.create_run_dir(str(tmp_path), "d", "m", now=pd.Timestamp("2026-01-01").to_pydatetime())
    second = run_files.create_run_dir(str(tmp_path), "d", "m", now=pd.Timestamp("2026-01-01").to_pydatetime())
    assert first != second and os.path.isdir(first) and os.path.isdir(second)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    real_step = Trainer._train_step
    calls = {"n": 0}

    def nan_in_epoch_2(self, batch, learning_rate):
        calls["n"] += 1
        loss = real_step(self, batch, learning_rate)
        return float("nan") if calls["n"] > steps_per_epoch else loss

    train_students = len(load_from_config(small_config(tmp_path)).train)
    steps_per_epoch = int(math.ceil(train_students / SMALL["batch_size"]))
    monkeypatch.setattr(Trainer, "_train_step", nan_in_epoch_2)
    with pytest.raises(TrainingDiverged) as error:
        main.run(small_config(tmp_path, epochs=3), log=quiet)
    assert "epoch 2" in str(error.value) and "epoch 1" in str(error.value)
    run_dir = os.path.join(str(tmp_path / "runs"), os.listdir(str(tmp_path / "runs"))[0])
    state = run_files.read_json(os.path.join(run_dir, "state.json"))
    assert state["epoch"] == 1 and os.path.exists(os.path.join(run_dir, state["last_checkpoint"] + ".index"))
    assert not os.path.exists(os.path.join(run_dir, "summary.json"))


def test_command_line_errors_are_short_and_exit_2(capsys):
    assert main.main(["--no_such_constant", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown option --no_such_constant") and "Traceback" not in err


@pytest.mark.parametrize("option, value, message", [
    ("--model", "lstm",
     "unknown model 'lstm': choose one of dkvmn, dkt, bkt, irt, pfa, best_lr (utils/model_registry.py"),
    ("--optimizer", "rmsprop", "unknown optimizer 'rmsprop'"),
    ("--loss_scale", "sum", "unknown loss_scale 'sum': use 'mean' or 'sequence_sum'"),
    ("--dropout", "1.5", "dropout must be in [0, 1)"),
])
def test_a_bad_model_setting_is_refused_before_any_file_is_written(tmp_path, capsys, option, value, message):
    runs = tmp_path / "runs"
    assert main.main([option, value, "--runs_dir", str(runs), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message) and "Traceback" not in err
    assert not runs.exists()


def test_a_run_without_score_test_has_no_test_figures(tmp_path):
    run_dir, summary = main.run(small_config(tmp_path, epochs=1, score_test=False), log=quiet)
    assert not [name for name in summary if name.startswith("test_")]
    assert not os.path.exists(os.path.join(run_dir, "predictions.csv"))


def test_a_run_explains_itself(tmp_path):
    """The oracle AUC printed is the test positions' one (what the test AUC is compared with), the epoch
    lines label their times, and the end of training says why it ended."""
    lines = []
    _, summary = main.run(small_config(tmp_path, epochs=2, synthetic_students=120), log=lines.append)
    oracle = [line for line in lines if "oracle AUC" in line and not line.startswith("selected")]
    assert len(oracle) == 1 and "test split" in oracle[0]
    assert "%.4f" % summary["test_oracle_auc"] in oracle[0]
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all(re.search(r"train \d+\.\ds, eval \d+\.\ds", line)
                                         for line in epoch_lines)
    assert "training ended after epoch 2: the epoch limit (EPOCHS = 2)" in lines
    final = [line for line in lines if line.startswith("selected epoch")]
    assert len(final) == 1 and "oracle AUC %.4f" % summary["test_oracle_auc"] in final[0]


def test_an_early_stop_says_so():
    from utils.training import why_training_ended
    config = {"epochs": 15, "early_stop_patience": 5}
    assert why_training_ended(config, {"epoch": 11, "best_epoch": 6}) == (
        "early stop: no better validation AUC for 5 epochs (the best was epoch 6)")
    assert why_training_ended(config, {"epoch": 15, "best_epoch": 14}) == "the epoch limit (EPOCHS = 15)"

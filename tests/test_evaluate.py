"""evaluate.py: the selected checkpoint scored again, on the run's data or another data set, by skill id."""
import json
import os

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score
import tensorflow.compat.v1 as tf

import evaluate
from data import DataError
from utils import model_registry
from utils.run_files import RunFolderError
from tiny_runs import quiet

# TensorFlow 1.14 on an AVX2-only AMD EPYC scores DKT's restored checkpoint up to ~5e-5 (loss) away from the
# scoring of the same checkpoint at the end of training (cause not found); elsewhere they agree to 1e-5.
REPRODUCED_TO = 1e-4 if tf.__version__.startswith("1.") else 1e-5


def read_summary(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("model", model_registry.names())
def test_own_test_split_reproduces_the_run(trained_runs, model):
    run_dir, trained = trained_runs[model]
    out_dir, metrics = evaluate.evaluate(run_dir, [], log=quiet, model=trained)
    summary = read_summary(run_dir)
    for name in ("loss", "acc", "auc", "auc_from2"):
        assert metrics[name] == pytest.approx(summary["test_" + name], abs=REPRODUCED_TO)
    assert os.path.dirname(out_dir) == os.path.join(run_dir, "evaluations")
    assert os.path.basename(out_dir).startswith("synthetic-test-")
    with open(os.path.join(out_dir, "metrics.json")) as f:
        assert json.load(f)["auc"] == pytest.approx(metrics["auc"])
    ours = pd.read_csv(os.path.join(out_dir, "predictions.csv")).sort_values(["student", "position"])
    theirs = pd.read_csv(os.path.join(run_dir, "predictions.csv")).sort_values(["student", "position"])
    assert list(ours.columns) == list(theirs.columns)
    assert (ours[["student", "position", "skill", "answer"]].values
            == theirs[["student", "position", "skill", "answer"]].values).all()
    np.testing.assert_allclose(ours["p"].values, theirs["p"].values, atol=2e-6)
    # a second evaluation never overwrites the first
    again, _ = evaluate.evaluate(run_dir, [], log=quiet, model=trained)
    assert again != out_dir and os.path.isfile(os.path.join(out_dir, "metrics.json"))


def test_other_split_and_seed(trained_runs):
    run_dir, trained = trained_runs["dkvmn"]
    _, valid = evaluate.evaluate(run_dir, ["--split", "valid"], log=quiet, model=trained)
    assert valid["split"] == "valid" and valid["students"] == 24 and 0 <= valid["auc"] <= 1
    _, other = evaluate.evaluate(run_dir, ["--split_seed", "5", "--synthetic_students", "60"], log=quiet,
                                 model=trained)
    assert other["students"] == 12 and not other["same_data_as_run"]
    assert other["data_options"]["split_seed"] == 5


def test_skills_are_mapped_by_id_and_unknown_ones_are_an_error_or_dropped(trained_runs):
    run_dir, trained = trained_runs["dkt"]
    # 15 exercises: ids 0..11 are the run's, 12..14 it never saw
    with pytest.raises(DataError) as error:
        evaluate.evaluate(run_dir, ["--synthetic_exercises", "15"], log=quiet)
    assert "12, 13, 14" in str(error.value) and "--drop_unknown_skills" in str(error.value)
    _, dropped = evaluate.evaluate(run_dir, ["--synthetic_exercises", "15", "--drop_unknown_skills", "true"],
                                   log=quiet, model=trained)
    assert dropped["dropped_unknown_skills"]["skills"] == ["12", "13", "14"]
    assert dropped["dropped_unknown_skills"]["interactions"] == 3 * 24
    assert dropped["interactions"] == 12 * 24
    # fewer skills than the run (n_skills differs): every id is known, mapped by id
    _, fewer = evaluate.evaluate(run_dir, ["--synthetic_exercises", "8"], log=quiet, model=trained)
    assert fewer["interactions"] == 8 * 24 and fewer["dropped_unknown_skills"]["interactions"] == 0


def test_bad_input_exits_2_with_one_line(trained_runs, tmp_path, capsys):
    run_dir, _ = trained_runs["dkvmn"]
    assert evaluate.main([str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert evaluate.main([run_dir, "--synthetic_exercises", "15"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1 and "never saw" in err
    assert evaluate.main([run_dir, "--split", "nope"]) == 2
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    with open(os.path.join(run_dir, "config.json")) as f:
        (unfinished / "config.json").write_text(f.read())
    with pytest.raises(RunFolderError, match="not finished"):
        evaluate.evaluate(str(unfinished), [], log=quiet)


def test_interval_calibration_and_breakdowns_are_written_and_printed(trained_runs):
    run_dir, trained = trained_runs["dkvmn"]
    lines = []
    out_dir, metrics = evaluate.evaluate(run_dir, [], log=lines.append, model=trained)
    with open(os.path.join(out_dir, "metrics.json")) as f:
        written = json.load(f)
    predictions = pd.read_csv(os.path.join(out_dir, "predictions.csv"))
    answers, p = predictions["answer"].values, predictions["p"].values
    # the interval is summary.json's: the same students resampled with the run's SEED
    summary = read_summary(run_dir)
    for name in ("auc_ci_low", "auc_ci_high", "auc_ci_resamples"):
        assert written[name] == pytest.approx(summary["test_" + name], abs=1e-4)
    assert written["auc_ci_low"] < written["auc"] < written["auc_ci_high"]
    assert written["brier"] == pytest.approx(brier_score_loss(answers, p), abs=1e-6)
    bins = written["reliability_bins"]
    assert len(bins) == 10 and sum(b["count"] for b in bins) == len(predictions)
    gaps = [b["count"] * abs(b["mean_p"] - b["frac_correct"]) for b in bins if b["count"]]
    assert written["ece"] == pytest.approx(sum(gaps) / len(predictions)) and written["ece"] > 0
    # 12 exercises per student: positions 1-10 and 11-12, nothing later
    by_position = {row["positions"]: row for row in written["auc_by_position"]}
    assert list(by_position) == ["1-10", "11-50", "51-200", ">200"]
    early = predictions["position"] < 10
    assert by_position["1-10"]["count"] == early.sum() == 10 * metrics["students"]
    # (predictions.csv rounds p to 6 decimals, which ties a few of the tiny model's close outputs)
    assert by_position["1-10"]["auc"] == pytest.approx(roc_auc_score(answers[early], p[early]), abs=1e-3)
    assert by_position["11-50"]["count"] == 2 * metrics["students"]
    assert by_position[">200"] == {"positions": ">200", "first": 201, "last": None, "count": 0, "auc": None}
    # one row per skill of the split, named by skills.csv's id, its AUC that of its answers
    by_skill = pd.read_csv(os.path.join(out_dir, "auc_by_skill.csv"), dtype={"skill_id": str})
    assert list(by_skill.columns) == ["skill", "skill_id", "count", "auc"]
    skills = pd.read_csv(os.path.join(run_dir, "skills.csv"), dtype={"skill_id": str})
    assert list(by_skill["skill_id"]) == list(skills["skill_id"][by_skill["skill"]])
    for row in by_skill.itertuples():
        mine = predictions["skill"].values == row.skill
        assert row.count == mine.sum()
        if len(set(answers[mine])) == 2:
            assert row.auc == pytest.approx(roc_auc_score(answers[mine], p[mine]), abs=1e-3)
        else:
            assert np.isnan(row.auc)
    assert by_skill["count"].sum() == len(predictions) and len(by_skill) == 12
    image = matplotlib.image.imread(os.path.join(out_dir, "8_calibration.png"))
    assert image.shape[0] > 400 and image.shape[1] > 300
    printed = "\n".join(lines)
    assert "95%% CI %.4f-%.4f" % (written["auc_ci_low"], written["auc_ci_high"]) in printed
    assert "ECE %.4f" % written["ece"] in printed
    assert "1-10: %.4f (%d)" % (by_position["1-10"]["auc"], by_position["1-10"]["count"]) in printed
    assert ">200: - (0)" in printed

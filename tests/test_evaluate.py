"""evaluate.py: the selected checkpoint scored again, on the run's data or another data set, by skill id."""
import json
import os

import numpy as np
import pandas as pd
import pytest

import evaluate
from data import DataError
from utils.run_files import RunFolderError
from tiny_runs import quiet


def read_summary(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("model", ["dkvmn", "dkt"])
def test_own_test_split_reproduces_the_run(trained_runs, model):
    run_dir, trained = trained_runs[model]
    out_dir, metrics = evaluate.evaluate(run_dir, [], log=quiet, model=trained)
    summary = read_summary(run_dir)
    for name in ("loss", "acc", "auc", "auc_from2"):
        assert metrics[name] == pytest.approx(summary["test_" + name], abs=1e-5)
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
    _, other = evaluate.evaluate(run_dir, ["--seed", "5", "--synthetic_students", "60"], log=quiet,
                                 model=trained)
    assert other["students"] == 12 and not other["same_data_as_run"]
    assert other["data_options"]["seed"] == 5


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

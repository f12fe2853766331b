"""predict.py: the run's own predictions again, plus the knowledge state after every step."""
import os

import numpy as np
import pandas as pd
import pytest

import predict
from data import DataError, load_from_config
from tiny_runs import TINY, quiet
from utils import model_registry


@pytest.mark.parametrize("model", model_registry.names())
def test_agrees_with_the_run_and_mastery_is_the_next_prediction(trained_runs, model, tmp_path):
    run_dir, trained = trained_runs[model]
    out, result = predict.predict(run_dir, ["--split", "test", "--out", str(tmp_path / "m.csv")], log=quiet,
                                  model=trained)
    written = pd.read_csv(out, dtype={"student": str, "skill_id": str})
    skill_ids = trained.skill_ids
    assert list(written.columns) == (["student", "position", "skill_id", "answer", "p"]
                                     + ["mastery_%s" % s for s in skill_ids])
    theirs = pd.read_csv(os.path.join(run_dir, "predictions.csv"), dtype={"student": str})
    both = written.merge(theirs, on=["student", "position"], suffixes=("", "_run"))
    assert len(both) == len(theirs) == len(written)
    assert (both["answer"] == both["answer_run"]).all()
    assert (both["skill_id"] == [skill_ids[s] for s in both["skill"]]).all()
    np.testing.assert_allclose(both["p"], both["p_run"], atol=2e-6)

    # mastery of q_{t+1} after step t == p at t + 1, inside a chunk (a chunk starts from the initial state)
    same_student = result["student"][1:] == result["student"][:-1]
    inside_chunk = result["position"][1:] % TINY["seq_len"] != 0
    pairs = np.flatnonzero(same_student & inside_chunk)
    assert len(pairs) > 100
    next_skill_mastery = result["mastery"][pairs, result["skill"][pairs + 1]]
    np.testing.assert_allclose(next_skill_mastery, result["p"][pairs + 1], rtol=1e-5, atol=1e-6)
    assert result["mastery"].shape == (len(result["p"]), trained.n_skills)
    assert ((result["mastery"] > 0) & (result["mastery"] < 1)).all()


def write_history(path, rows):
    pd.DataFrame(rows, columns=["student", "skill", "correct", "order"]).to_csv(path, index=False)


def test_input_csv_by_skill_id_students_and_unknown_skills(trained_runs, tmp_path):
    run_dir, trained = trained_runs["dkvmn"]
    dataset = load_from_config(trained.config)
    seq = dataset.test[0]
    history = tmp_path / "history.csv"
    # shuffled rows: the order column gives the time order
    rows = [(seq.student, dataset.skill_ids[s], int(a), t)
            for t, (s, a) in enumerate(zip(seq.skills, seq.answers))]
    write_history(str(history), rows[::-1] + [("other", dataset.skill_ids[0], 1, 0)])
    out, result = predict.predict(run_dir, ["--input", str(history), "--students", seq.student], log=quiet,
                                  model=trained)
    _, own = predict.predict(run_dir, ["--split", "test", "--students", seq.student,
                                       "--out", str(tmp_path / "own.csv")], log=quiet, model=trained)
    np.testing.assert_allclose(result["p"], own["p"], atol=1e-6)
    np.testing.assert_allclose(result["mastery"], own["mastery"], atol=1e-6)
    assert os.path.dirname(out) == os.path.join(run_dir, "predictions")

    with pytest.raises(DataError, match="student.*nobody.*e.g."):
        predict.predict(run_dir, ["--input", str(history), "--students", "nobody"], log=quiet,
                        model=trained)
    write_history(str(history), rows + [(seq.student, "999", 1, 99), (seq.student, "998", 0, 100)])
    with pytest.raises(DataError, match="never saw.*998, 999"):
        predict.predict(run_dir, ["--input", str(history)], log=quiet, model=trained)
    _, dropped = predict.predict(run_dir, ["--input", str(history), "--drop_unknown_skills", "true",
                                           "--out", str(tmp_path / "d.csv")], log=quiet, model=trained)
    np.testing.assert_allclose(dropped["p"], own["p"], atol=1e-6)


def test_command_line_errors_exit_2(trained_runs, tmp_path, capsys):
    run_dir, _ = trained_runs["dkt"]
    assert predict.main([run_dir]) == 2
    assert "--input" in capsys.readouterr().err
    assert predict.main([run_dir, "--input", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert predict.main([str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_unknown_skill_fallback_flags_the_training_rate_and_leaves_the_history_as_without_them(trained_runs,
                                                                                               tmp_path):
    run_dir, trained = trained_runs["dkt"]
    dataset = load_from_config(trained.config)
    seq = dataset.test[0]
    rate = np.concatenate([s.answers for s in dataset.train]).mean()
    known = [(seq.student, dataset.skill_ids[s], int(a), 2 * t + 1) for t, (s, a) in
             enumerate(zip(seq.skills[:5], seq.answers[:5]))]
    unknown = [(seq.student, "999", 1, 0), (seq.student, "new", 0, 6), ("newcomer", "999", 0, 0)]
    history = tmp_path / "history.csv"
    write_history(str(history), known + unknown)
    out, result = predict.predict(run_dir, ["--input", str(history), "--unknown_skill_fallback", "true",
                                            "--out", str(tmp_path / "f.csv")], log=quiet, model=trained)
    write_history(str(history), known)
    _, without = predict.predict(run_dir, ["--input", str(history), "--out", str(tmp_path / "k.csv")],
                                 log=quiet, model=trained)
    written = pd.read_csv(out, dtype={"student": str, "skill_id": str})
    assert list(written.columns)[-1] == "unknown_skill"
    mine, newcomer = (written[written["student"] == student] for student in (seq.student, "newcomer"))
    # in time order: 999 first, then the known answers, "new" between the 3rd and the 4th
    assert list(mine["skill_id"]) == ["999"] + [r[1] for r in known[:3]] + ["new"] + [r[1] for r in known[3:]]
    assert list(mine["unknown_skill"]) == [1, 0, 0, 0, 1, 0, 0] and list(mine["position"]) == list(range(7))
    assert list(newcomer["unknown_skill"]) == [1] and list(newcomer["skill_id"]) == ["999"]
    flagged = written["unknown_skill"] == 1
    np.testing.assert_allclose(written["p"][flagged], rate, atol=1e-6)
    np.testing.assert_allclose(mine["p"][mine["unknown_skill"] == 0], without["p"], atol=1e-6)  # left out
    mastery = result["mastery"][result["student"] == seq.student]
    np.testing.assert_allclose(np.stack(mastery[[1, 2, 3, 5, 6]]), without["mastery"], atol=1e-6)
    np.testing.assert_allclose(mastery[4], mastery[3])  # an unknown answer leaves the knowledge as it was
    new_student = result["mastery"][result["student"] == "newcomer"][0]
    np.testing.assert_allclose(mastery[0], new_student)  # before any known answer: a new student's
    assert not np.allclose(mastery[0], mastery[1])

"""scripts/compare.py on two tiny run folders this test writes (config.json + predictions.csv), and
utils.run_files.read_predictions that it reads them with."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from utils import run_files, stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPARE = os.path.join(ROOT, "scripts", "compare.py")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compare  # noqa: E402


def made_up_answers(n_students=60, per_student=15, seed=0, prefix="s"):
    """Answers of students of different ability (positions 0..per_student-1 each) and two models' P(correct):
    `good` knows the ability, `weak` knows it less well."""
    random = np.random.RandomState(seed)
    students = np.repeat(["%s%02d" % (prefix, i) for i in range(n_students)], per_student)
    positions = np.tile(np.arange(per_student), n_students)
    ability = np.repeat(random.normal(size=n_students), per_student)
    answers = (random.uniform(size=students.size) < 1 / (1 + np.exp(-2 * ability))).astype(int)
    sigmoid = lambda x: 1 / (1 + np.exp(-x))
    return {"student": students, "position": positions, "skill": random.randint(0, 5, size=students.size),
            "answer": answers, "good": sigmoid(2 * ability + 0.3 * random.normal(size=students.size)),
            "weak": sigmoid(0.5 * ability + 1.5 * random.normal(size=students.size))}


def write_run(folder, data, scores, model="dkvmn", order=None, dataset="tiny", fold=1, seed=0):
    """A run folder as far as compare.py reads it: p from data[scores], rows in `order` (default: as is)."""
    os.makedirs(folder)
    run_files.write_json(os.path.join(folder, "config.json"),
                         {"constants": {"model": model, "dataset": dataset, "fold": fold, "seed": seed}})
    order = np.arange(data["answer"].size) if order is None else order
    run_files.write_predictions(folder, {name: data[name if name != "p" else scores][order]
                                         for name in ("student", "position", "skill", "answer", "p")})
    return folder


def run_compare(*argv):
    return subprocess.run([sys.executable, COMPARE] + [str(a) for a in argv], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


def test_compare_pairs_rows_in_any_order_and_finds_the_better_model(tmp_path):
    data = made_up_answers()
    run_a = write_run(str(tmp_path / "run-good"), data, "good")
    shuffled = np.random.RandomState(1).permutation(data["answer"].size)
    run_b = write_run(str(tmp_path / "run-weak"), data, "weak", model="dkt", order=shuffled)
    out = tmp_path / "comparison.json"
    finished = run_compare(run_a, run_b, "--resamples", 300, "--seed", 2, "--json", out)
    assert finished.returncode == 0, finished.stderr
    result = json.loads(out.read_text())

    # The figures of the data as written (p rounded to 6 decimals), computed directly.
    p_good, p_weak = np.round(data["good"], 6), np.round(data["weak"], 6)
    expected = stats.paired_bootstrap_auc_difference(data["answer"], p_good, p_weak, data["student"],
                                                     n_resamples=300, seed=2)
    assert result["run_a"]["auc"] == pytest.approx(roc_auc_score(data["answer"], p_good))
    assert result["run_b"]["auc"] == pytest.approx(roc_auc_score(data["answer"], p_weak))
    assert result["difference"] == pytest.approx(expected["difference"]) and result["difference"] > 0
    boot = result["paired_bootstrap"]
    assert (boot["low"], boot["high"], boot["p_value"]) == (
        pytest.approx(expected["low"]), pytest.approx(expected["high"]), pytest.approx(expected["p_value"]))
    assert boot["p_value"] < 0.01 and result["delong"]["p_value"] < 0.01 and result["delong"]["z"] > 0
    assert result["n_answers"] == data["answer"].size and result["n_students"] == 60
    assert result["run_a"]["model"] == "dkvmn" and result["run_b"]["model"] == "dkt"
    assert result["run_b"]["path"] == run_b and result["run_a"]["fold"] == 1
    for figure in ("%.4f" % result["run_a"]["auc"], "%.4f" % result["run_b"]["auc"],
                   "%+.4f" % result["difference"], "DeLong: z = %.2f" % result["delong"]["z"]):
        assert figure in finished.stdout


def test_a_run_compared_with_itself_differs_by_zero_with_p_one(tmp_path, capsys):
    data = made_up_answers(n_students=20)
    run_a = write_run(str(tmp_path / "a"), data, "good")
    run_b = write_run(str(tmp_path / "b"), data, "good", order=np.arange(data["answer"].size)[::-1])
    out = str(tmp_path / "same.json")
    assert compare.main([run_a, run_b, "--resamples", "100", "--json", out]) == 0
    result = run_files.read_json(out)
    assert result["difference"] == 0 and result["paired_bootstrap"]["p_value"] == 1.0
    assert result["delong"]["p_value"] == 1.0 and "p = 1 " in capsys.readouterr().out


def test_runs_of_different_data_sets_are_refused_with_one_error_line(tmp_path):
    run_a = write_run(str(tmp_path / "a"), made_up_answers(), "good", dataset="assist2009_updated")
    other_students = made_up_answers(n_students=50, prefix="t")
    run_b = write_run(str(tmp_path / "b"), other_students, "good", dataset="STATICS")
    out = tmp_path / "never.json"
    finished = run_compare(run_a, run_b, "--json", out)
    assert finished.returncode == 2 and finished.stdout == ""
    assert finished.stderr.startswith("error: the runs did not score the same test answers: 900 of A's 900")
    assert len(finished.stderr.strip().splitlines()) == 1
    assert "assist2009_updated fold 1 seed 0 (%s)" % run_a in finished.stderr
    assert "STATICS fold 1 seed 0 (%s)" % run_b in finished.stderr
    assert not out.exists() and not os.path.exists(str(out) + ".partial")


def refusal(tmp_path, capsys, data_a, data_b):
    run_a = write_run(str(tmp_path / "a"), data_a, "good")
    run_b = write_run(str(tmp_path / "b"), data_b, "weak")
    assert compare.main([run_a, run_b, "--resamples", "10"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    return captured.err


def test_another_fold_with_overlapping_students_is_refused(tmp_path, capsys):
    data = made_up_answers()
    other_fold = {name: values[data["student"] != "s00"] for name, values in data.items()}
    error = refusal(tmp_path, capsys, data, other_fold)
    assert error.startswith("error: the runs did not score the same test answers: 15 of A's 900")
    assert "student 's00' position 0 only in A" in error


def test_the_same_positions_with_other_answers_are_refused(tmp_path, capsys):
    data = made_up_answers()
    flipped = dict(data, answer=data["answer"].copy())
    flipped["answer"][[3, 100]] = 1 - flipped["answer"][[3, 100]]
    error = refusal(tmp_path, capsys, data, flipped)
    assert error.startswith("error: ") and "different answers in 2 of 900 rows" in error


def test_a_run_without_predictions_is_refused(tmp_path, capsys):
    run_a = write_run(str(tmp_path / "a"), made_up_answers(), "good")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    assert compare.main([run_a, str(unfinished)]) == 2
    assert capsys.readouterr().err.startswith("error: %s has no predictions.csv" % unfinished)


# ---- run_files.read_predictions --------------------------------------------------------------------------

def test_read_predictions_gives_back_what_write_predictions_wrote(tmp_path):
    data = made_up_answers(n_students=4, per_student=3)
    written = {"student": data["student"], "position": data["position"], "skill": data["skill"],
               "answer": data["answer"], "p": data["good"]}
    run_files.write_predictions(str(tmp_path), written)
    read = run_files.read_predictions(str(tmp_path))
    assert sorted(read) == ["answer", "p", "position", "skill", "student"]
    assert read["student"].tolist() == data["student"].tolist()
    for name in ("position", "skill", "answer"):
        assert read[name].dtype.kind == "i" and np.array_equal(read[name], written[name])
    assert np.allclose(read["p"], written["p"], atol=5e-7, rtol=0)


@pytest.mark.parametrize("text, message", [
    ("student,position,answer,p\n", "expected the header student,position,skill,answer,p"),
    ("", "got an empty file"),
    ("student,position,skill,answer,p\ns1,0,3,1,0.5\ns1,1,3,1\n", "predictions.csv:3: expected the 5 fields"),
    ("student,position,skill,answer,p\ns1,0,3,1,high\n", "predictions.csv:2: p 'high' is not a number"),
    ("student,position,skill,answer,p\ns1,0.5,3,1,0.2\n", "position '0.5' is not an integer number"),
    ("student,position,skill,answer,p\ns1,0,3,1,0.2\ns1,1,3,2,0.2\n", ":3: expected an answer of 0 or 1"),
    ("student,position,skill,answer,p\ns1,0,3,1,nan\n", ":2: expected a probability p in [0, 1]"),
])
def test_read_predictions_names_what_is_wrong(tmp_path, text, message):
    (tmp_path / "predictions.csv").write_text(text)
    with pytest.raises(run_files.RunFolderError) as error:
        run_files.read_predictions(str(tmp_path))
    assert message in str(error.value)


def test_read_predictions_of_a_missing_folder(tmp_path):
    with pytest.raises(run_files.RunFolderError, match="is not a folder"):
        run_files.read_predictions(str(tmp_path / "nothing"))


def test_an_unwritable_json_path_is_one_error_line_and_prints_no_figures(tmp_path, capsys):
    data = made_up_answers(n_students=10)
    run_a = write_run(str(tmp_path / "a"), data, "good")
    run_b = write_run(str(tmp_path / "b"), data, "weak")
    out = tmp_path / "no-such-folder" / "comparison.json"
    assert compare.main([run_a, run_b, "--resamples", "10", "--json", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("error: cannot write --json %s" % out)
    assert "existing folder" in captured.err
    assert not out.parent.exists()


def test_a_malformed_config_is_one_error_line(tmp_path, capsys):
    data = made_up_answers(n_students=10)
    run_a = write_run(str(tmp_path / "a"), data, "good")
    run_b = write_run(str(tmp_path / "b"), data, "weak")
    (tmp_path / "b" / "config.json").write_text("{not json")
    assert compare.main([run_a, run_b, "--resamples", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: %s is not valid JSON" % os.path.join(run_b, "config.json"))
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_json_never_replaces_a_runs_own_file_nor_an_existing_file_unless_told(tmp_path, capsys):
    data = made_up_answers(n_students=10)
    run_a = write_run(str(tmp_path / "a"), data, "good")
    run_b = write_run(str(tmp_path / "b"), data, "weak")
    run_files.write_json(os.path.join(run_b, "summary.json"), {"test_auc": 0.7})
    own_files = [os.path.join(run_a, "predictions.csv"), os.path.join(run_b, "summary.json"),
                 os.path.join(run_a, "config.json")]
    link = tmp_path / "link.csv"
    os.symlink(own_files[0], str(link))
    before = dict((path, open(path, "rb").read()) for path in own_files)
    for out in own_files + [str(link)]:
        for overwrite in ([], ["--overwrite"]):   # not even with --overwrite
            assert compare.main([run_a, run_b, "--resamples", "10", "--json", out] + overwrite) == 2
            captured = capsys.readouterr()
            assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
            assert captured.err.startswith("error: --json %s is a file of the run folder" % out)
    assert dict((path, open(path, "rb").read()) for path in own_files) == before

    other = tmp_path / "figures.json"
    other.write_text("someone's file\n")
    assert compare.main([run_a, run_b, "--resamples", "10", "--json", str(other)]) == 2
    assert "exists: pass --overwrite to replace it" in capsys.readouterr().err
    assert other.read_text() == "someone's file\n"
    assert compare.main([run_a, run_b, "--resamples", "10", "--json", str(other), "--overwrite"]) == 0
    assert json.loads(other.read_text())["n_answers"] == data["answer"].size
    fresh = tmp_path / "a" / "comparison.json"   # a new file, even in a run folder, replaces nothing
    assert compare.main([run_a, run_b, "--resamples", "10", "--json", str(fresh)]) == 0
    assert json.loads(fresh.read_text())["n_answers"] == data["answer"].size

"""Who is test, validation and training student, for every source that splits by student: decided by the
data and SPLIT_SEED (data/sequences.py), never by SEED; the two designs over the folds; a bad split is one
`error:` line."""
import os

import numpy as np
import pytest

import data
import main
from test_data_ednet import make_ednet

ASSISTMENTS_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "assistments")


def write_log(folder, n_students=23):
    """A response log with the CSV defaults of main.py: n_students students, 2 to 6 answers each."""
    rng = np.random.RandomState(0)
    lines = ["student,skill,correct,order"]
    for student in range(n_students):
        lines += ["learner%d,k%d,%d,%d" % (student, rng.randint(4), rng.randint(2), step)
                  for step in range(rng.randint(2, 7))]
    folder.mkdir(exist_ok=True)
    (folder / "responses.csv").write_text("\n".join(lines) + "\n")
    return str(folder)


@pytest.fixture
def sources(tmp_path):
    """source name -> DATASET_DIR of a tiny data set it reads."""
    make_ednet(tmp_path / "ednet", n_users=12)
    return {"synthetic": "unused", "csv": write_log(tmp_path / "csv"), "assistments": ASSISTMENTS_DIR,
            "ednet": str(tmp_path / "ednet")}


def _config(dataset, dataset_dir, **overrides):
    config = dict(main.constants(), dataset=dataset, dataset_dir=dataset_dir, data_cache=False,
                  synthetic_students=40, synthetic_exercises=5)
    config.update(overrides)
    return config


def _students(dataset):
    return [[seq.student for seq in part] for part in (dataset.train, dataset.valid, dataset.test)]


@pytest.mark.parametrize("design", ["cross_validation", "fixed_test"])
def test_the_model_seed_changes_no_split_of_any_source(sources, design):
    for name, folder in sources.items():
        for fold in (1, 3):
            first = data.load_from_config(_config(name, folder, split_design=design, fold=fold, seed=0))
            other = data.load_from_config(_config(name, folder, split_design=design, fold=fold, seed=7))
            assert _students(first) == _students(other), (name, fold)
            assert first.fingerprint == other.fingerprint
            moved = data.load_from_config(_config(name, folder, split_design=design, fold=fold, split_seed=7))
            assert _students(moved) != _students(first), (name, fold)  # the split seed does decide


def test_cross_validation_tests_every_student_once_and_never_validates_a_test_student(sources):
    for name, folder in sources.items():
        tested, everyone = [], None
        for fold in range(1, 6):
            train, valid, test = _students(data.load_from_config(_config(name, folder, fold=fold)))
            everyone = everyone or sorted(train + valid + test)
            assert sorted(train + valid + test) == everyone
            assert not set(valid) & set(test) and not set(train) & set(test) and valid and train
            tested += test
        assert sorted(tested) == everyone, name


def test_fixed_test_keeps_the_same_test_students_over_the_folds(sources):
    for name, folder in sources.items():
        splits = [_students(data.load_from_config(_config(name, folder, split_design="fixed_test", folds=3,
                                                          fold=fold))) for fold in (1, 2, 3)]
        assert all(test == splits[0][2] for _, _, test in splits) and splits[0][2], name
        validated = sorted(student for _, valid, _ in splits for student in valid)
        assert validated == sorted(splits[0][0] + splits[0][1])  # every other student validates once
        assert all(not set(valid) & set(test) for _, valid, test in splits)


def test_the_default_run_keeps_the_split_it_had_when_seed_made_it():
    """main.py's defaults (cross-validation, 5 folds, fold 1, split seed 0) test and validate the students
    that SEED 0 tested and validated before split designs: the default figures stay comparable."""
    sizes = dict(synthetic_students=4000, synthetic_exercises=50)
    new = data.load_from_config(_config("synthetic", "unused", **sizes))
    old = data.load_from_config(_config("synthetic", "unused", split_design="holdout", **sizes))
    assert _students(new) == _students(old)


@pytest.mark.parametrize("argv, words", [
    (["--folds", "30"], "error: only 23 students: cross-validation with 30 folds needs at least 30 (one per "
                        "fold); use more students or fewer folds"),
    (["--split_design", "fixed_test", "--folds", "20"],
     "error: only 23 students: a fixed test split of 5 and 20 validation folds need at least 25"),
    (["--fold", "6"], "error: fold must be in 1..5 (folds), got 6"),
    (["--split_design", "k_fold"],
     "error: split_design must be one of cross_validation, fixed_test, holdout"),
])
def test_a_split_that_cannot_be_made_is_one_error_line_and_no_run_folder(tmp_path, capsys, argv, words):
    folder = write_log(tmp_path / "log")
    status = main.main(["--dataset", "csv", "--dataset_dir", folder, "--runs_dir", str(tmp_path / "runs"),
                        "--data_cache", "false"] + argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith(words)
    assert not (tmp_path / "runs").exists()

"""The raw ASSISTments CSV source (data/assistments.py), on tests/fixtures/assistments.

The fixture (30 rows, latin-1, a leading unnamed index column, float skill ids) holds: 3 rows without a
skill, 3 repeated (order_id, skill_id) copies, 2 multi-skill attempts (1005: 2 skills, 3002: 3 skills),
skill 12 without a name, "Probabilité" (é in latin-1), and one name ("Absolute Value") on ids 85 and 86.
"""
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from data import DataError
from tiny_runs import load_data

FIXTURE_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "assistments")
FIXTURE = os.path.join(FIXTURE_DIR, "skill_builder_data.csv")


def _load(dataset_dir=FIXTURE_DIR, **options):
    return load_data("assistments", dataset_dir, **options)


def _by_student(dataset):
    return dict((seq.student, seq) for part in (dataset.train, dataset.valid, dataset.test) for seq in part)


def _write(tmp_path, text, name="skill_builder_data.csv", encoding="latin-1"):
    (tmp_path / name).write_bytes(text.encode(encoding))
    return str(tmp_path)


def test_report_counts_and_encoding():
    dataset = _load()
    stats = dataset.stats
    assert stats["rows"] == 30 and stats["no_skill_rows"] == 3 and stats["duplicate_rows"] == 3
    assert stats["multi_skill_attempts"] == 2 and stats["multi_skill_rows"] == 5
    assert stats["multi_skill_dropped_rows"] == 3
    assert stats["students"] == 10 and stats["interactions"] == 21 and stats["encoding"] == "ISO-8859-1"
    text = "\n".join(dataset.report)
    for expected in ("ISO-8859-1", "rows read: 30", "3 rows without a skill_id", "3 repeated (order_id, "
                     "skill_id)", "2 multi-skill attempts (5 rows)", "students: 10, interactions: 21"):
        assert expected in text
    assert (len(dataset.train), len(dataset.valid), len(dataset.test)) == (6, 2, 2)


def test_skill_ids_names_and_sequences_in_order_id_order():
    dataset = _load()
    assert dataset.skill_ids == ["10", "12", "85", "86", "311"]  # "311.0" read as 311, numeric order
    assert dataset.skill_names == ["Addition", "12", "Absolute Value", "Absolute Value", u"Probabilit\xe9"]
    assert dataset.true_concepts is None and dataset.n_skills == 5
    students = _by_student(dataset)
    np.testing.assert_array_equal(students["101"].skills, [0, 4, 0, 0])  # orders 1001, 1002, 1003, 1005
    np.testing.assert_array_equal(students["101"].answers, [0, 1, 1, 1])
    np.testing.assert_array_equal(students["103"].skills, [4, 1, 0])  # 3002 keeps its first row, skill 12
    assert students["101"].skills.dtype == np.int32 and students["101"].answers.dtype == np.int32


def test_default_multi_skill_leaves_one_step_per_attempt():
    table = pd.read_csv(FIXTURE, encoding="latin-1").dropna(subset=["skill_id"])
    attempts_per_user = table.groupby("user_id")["order_id"].nunique()
    students = _by_student(_load())
    for user, attempts in attempts_per_user.items():
        assert len(students[str(user)].skills) == attempts


@pytest.mark.parametrize("multi_skill, interactions, user_103", [
    ("first", 21, [4, 1, 0]), ("drop", 19, [4, 0]), ("expand", 24, [4, 1, 0, 4, 0])])
def test_multi_skill_options(multi_skill, interactions, user_103):
    dataset = _load(multi_skill=multi_skill)
    assert dataset.stats["interactions"] == interactions
    np.testing.assert_array_equal(_by_student(dataset)["103"].skills, user_103)
    assert "multi_skill=%r" % multi_skill in "\n".join(dataset.report)
    if multi_skill == "expand":
        assert "LEAKY" in "\n".join(dataset.report)


def test_skill_name_key_merges_ids_of_one_name_and_falls_back_to_the_id():
    dataset = _load(skill_key="skill_name")
    assert dataset.skill_ids == ["12", "Absolute Value", "Addition", u"Probabilit\xe9"]
    np.testing.assert_array_equal(_by_student(dataset)["106"].skills, [1, 1])


def test_split_seed_changes_the_split_and_reproduces_it():
    first, again, other = _load(split_seed=0), _load(split_seed=0), _load(split_seed=1)
    assert [s.student for s in first.test] == [s.student for s in again.test]
    assert [s.student for s in first.test] != [s.student for s in other.test]
    assert first.fingerprint == again.fingerprint != other.fingerprint


def test_utf8_copy_and_other_file_names(tmp_path):
    text = open(FIXTURE, "rb").read().decode("latin-1")
    dataset_dir = _write(tmp_path, text, name="skill_builder_data_corrected.csv", encoding="utf-8")
    dataset = _load(dataset_dir)
    assert dataset.stats["encoding"] == "UTF-8" and u"Probabilit\xe9" in dataset.skill_names
    assert "skill_builder_data_corrected.csv" in dataset.report[0]


def test_file_without_index_column_parses(tmp_path):
    dataset_dir = _write(tmp_path, "order_id,user_id,skill_id,skill_name,correct\n"
                                   "2,7,5,Five,1\n1,7,5,Five,0\n3,8,6,,1\n4,9,5,Five,1\n5,10,6,,0\n")
    dataset = _load(dataset_dir, split_design="holdout")  # 4 students: too few for 5 folds
    np.testing.assert_array_equal(_by_student(dataset)["7"].answers, [0, 1])
    assert dataset.stats["students"] == 4


def test_missing_file_names_paths_and_source(tmp_path):
    with pytest.raises(DataError) as error:
        _load(str(tmp_path))
    message = str(error.value)
    assert os.path.join(str(tmp_path), "skill_builder_data.csv") in message
    assert "skill_builder_data_corrected.csv" in message and "ASSISTments" in message
    assert "2009-2010" in message


def test_missing_columns_are_listed_with_those_found(tmp_path):
    dataset_dir = _write(tmp_path, "order_id,user_id,skill,correct\n1,2,3,1\n")
    with pytest.raises(DataError) as error:
        _load(dataset_dir)
    message = str(error.value)
    assert "missing column(s) skill_id, skill_name" in message
    assert "columns found: order_id, user_id, skill, correct" in message


def test_bad_correct_value_names_the_row(tmp_path):
    dataset_dir = _write(tmp_path, "order_id,user_id,skill_id,skill_name,correct\n1,2,3,a,1\n2,2,3,a,0.5\n")
    with pytest.raises(DataError, match="data row 2 .*correct.*0 or 1"):
        _load(dataset_dir)


def test_no_rows_left_says_so(tmp_path):
    dataset_dir = _write(tmp_path, "order_id,user_id,skill_id,skill_name,correct\n1,2,,,1\n2,3,,,0\n")
    with pytest.raises(DataError, match="no rows left"):
        _load(dataset_dir)


def test_empty_file_says_so(tmp_path):
    with pytest.raises(DataError, match="empty"):
        _load(_write(tmp_path, ""))


def test_bad_options_raise(tmp_path):
    with pytest.raises(DataError, match="multi_skill"):
        _load(multi_skill="all")
    with pytest.raises(DataError, match="skill_key"):
        _load(skill_key="id")
    with pytest.raises(DataError, match="unknown data option"):
        _load(multi_skills="first")


def test_options_of_other_sources_are_ignored():
    dataset = _load(synthetic_students=10)
    assert dataset.stats["students"] == 10


def test_the_fixture_directory_can_be_copied(tmp_path):
    shutil.copy(FIXTURE, str(tmp_path / "skill_builder_data_collapsed.csv"))
    assert _load(str(tmp_path)).stats["interactions"] == 21

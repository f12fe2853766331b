"""Three-line files (data/three_line.py), on tests/fixtures/three_line and files made in tmp_path.

The fixture "toy" has CRLF line ends, trailing commas, blank lines and 0-based ids (id 0 is used), and a
toy_sname_sid naming ids 0, 2 and 4.
"""
import os

import numpy as np
import pytest

from data import DataError
from tiny_runs import load_data

FIXTURE_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "three_line")


def _write_split_files(tmp_path, name="d", train="2\n1,2\n1,0\n", valid="1\n3\n1\n", test="1\n2\n0\n",
                       fold=1):
    for label, text in (("train%d" % fold, train), ("valid%d" % fold, valid), ("test", test)):
        (tmp_path / ("%s_%s.csv" % (name, label))).write_bytes(text.encode("ascii"))
    return str(tmp_path)


def test_fixture_with_crlf_trailing_commas_blank_lines_and_0_based_ids():
    dataset = load_data("toy", FIXTURE_DIR)
    assert dataset.n_skills == 5 and dataset.skill_ids == ["0", "1", "2", "3", "4"]
    assert [seq.student for seq in dataset.train] == ["train1-1", "train1-2", "train1-3"]
    np.testing.assert_array_equal(dataset.train[0].skills, [0, 2, 1])
    np.testing.assert_array_equal(dataset.train[2].skills, [1, 1, 0, 2])
    np.testing.assert_array_equal(dataset.train[2].answers, [1, 1, 0, 0])
    np.testing.assert_array_equal(dataset.valid[1].skills, [0, 3])
    np.testing.assert_array_equal(dataset.test[0].answers, [1, 1, 1, 0, 1])
    assert dataset.skill_names == ["Zero", "1", "Two", "3", "Four"]
    assert dataset.stats["train_interactions"] == 9 and dataset.stats["id_base"] == 0
    assert dataset.true_concepts is None
    text = "\n".join(dataset.report)
    assert "0-based" in text and "train: 3 students, 9 interactions" in text
    assert "test : 1 students, 5 interactions" in text


def test_1_based_ids_map_to_the_same_indices_in_every_split(tmp_path):
    dataset_dir = _write_split_files(tmp_path, train="2\n1,2\n1,0\n", valid="1\n3\n1\n", test="1\n2\n0\n")
    dataset = load_data("d", dataset_dir)
    assert dataset.n_skills == 3 and dataset.skill_ids == ["1", "2", "3"]  # largest id is in valid
    np.testing.assert_array_equal(dataset.train[0].skills, [0, 1])
    np.testing.assert_array_equal(dataset.valid[0].skills, [2])
    np.testing.assert_array_equal(dataset.test[0].skills, [1])
    assert "1-based" in "\n".join(dataset.report)


def test_a_zero_in_the_test_file_makes_every_split_0_based(tmp_path):
    dataset = load_data("d", _write_split_files(tmp_path, test="1\n0\n1\n"))
    np.testing.assert_array_equal(dataset.train[0].skills, [1, 2])
    assert dataset.n_skills == 4


def test_fold_selects_files(tmp_path):
    dataset_dir = _write_split_files(tmp_path, train="1\n5\n1\n", fold=2)
    assert load_data("d", dataset_dir, fold=2).n_skills == 5
    with pytest.raises(DataError, match="d_train1.csv"):
        load_data("d", dataset_dir, fold=1)


def test_true_concepts_from_cluster_info(tmp_path):
    dataset_dir = _write_split_files(tmp_path, name="naive_v3", train="2\n1,2\n1,0\n")
    (tmp_path / "cluster_info_3").write_text(u"[4, 0, 2, 1]\n0\t[2]\n")
    dataset = load_data("naive_v3", dataset_dir)
    np.testing.assert_array_equal(dataset.true_concepts, [4, 0, 2])  # ids 1..3 -> questions 1..3
    assert "true concepts: 4 concepts" in "\n".join(dataset.report)
    (tmp_path / "cluster_info_3").write_text(u"[4, 0]\n")
    with pytest.raises(DataError, match="cluster_info_3:1: gives the concept of 2 questions"):
        load_data("naive_v3", dataset_dir)
    (tmp_path / "cluster_info_3").write_text(u"concepts\n")
    with pytest.raises(DataError, match="cluster_info_3:1: expected a python list"):
        load_data("naive_v3", dataset_dir)


def test_missing_cluster_info_leaves_concepts_unknown(tmp_path):
    assert load_data("x_v0", _write_split_files(tmp_path, name="x_v0")).true_concepts is None


def test_missing_file_names_path_layout_and_source(tmp_path):
    with pytest.raises(DataError) as error:
        load_data("assist2009_updated", str(tmp_path))
    message = str(error.value)
    assert os.path.join(str(tmp_path), "assist2009_updated_train1.csv") in message
    assert "jennyzhang0215/DKVMN" in message and "_valid1.csv" in message and "_test.csv" in message


@pytest.mark.parametrize("train, expected", [
    ("3\n1,2\n1,0\n", r"d_train1.csv:2: count says 3 \(line 1\) but there are 2 ids"),
    ("2\n1,2\n1\n", r"d_train1.csv:3: count says 2 \(line 1\) but there are 1 answers"),
    ("2\n1,2\n1,2\n", r"d_train1.csv:3:2: answer must be 0 or 1, got 2"),
    ("2\n1,x\n1,0\n", r"d_train1.csv:2:2: skill id is not an integer: 'x'"),
    ("2\n1,,2\n1,0\n", r"d_train1.csv:2:2: skill id is not an integer: ''"),
    ("2\n\n1,2\n", r"d_train1.csv:1: incomplete student record"),
    ("two\n1,2\n1,0\n", r"d_train1.csv:1:1: count is not an integer: .two."),
    ("1,2\n1,2\n1,0\n", r"d_train1.csv:1: expected the number of interactions"),
    ("2\n1,-2\n1,0\n", r"d_train1.csv:2:2: negative skill id"),
    ("\n\n", r"d_train1.csv: no students"),
    ("3\n1,2,99999999999\n1,0,1\n", r"d_train1.csv:2:3: skill id 99999999999 is above 1000000, the largest "),
    ("1\n99999999999999999999999\n1\n", r"d_train1.csv:2:1: skill id 99999999999999999999999 is above "),
    ("99999999999999999999999\n1\n1\n", r"d_train1.csv:2: count says 99999999999999999999999 \(line 1\)"),
])
def test_malformed_files_give_file_line_and_what_is_wrong(tmp_path, train, expected):
    with pytest.raises(DataError, match=expected):
        load_data("d", _write_split_files(tmp_path, train=train))


def test_bad_skill_name_file_gives_line(tmp_path):
    dataset_dir = _write_split_files(tmp_path)
    (tmp_path / "d_sname_sid").write_bytes(b"Fine\t1\nno tab here\n")
    with pytest.raises(DataError, match=r"d_sname_sid:2"):
        load_data("d", dataset_dir)


def test_fingerprint_follows_file_content(tmp_path):
    dataset_dir = _write_split_files(tmp_path)
    before = load_data("d", dataset_dir).fingerprint
    _write_split_files(tmp_path, test="1\n2\n1\n")
    assert load_data("d", dataset_dir).fingerprint != before


def test_the_id_bound_holds_in_every_split_file(tmp_path):
    with pytest.raises(DataError, match=r"d_test.csv:2:1: skill id 1000001 is above 1000000"):
        load_data("d", _write_split_files(tmp_path, test="1\n1000001\n1\n"))
    dataset = load_data("d", _write_split_files(tmp_path, test="1\n1000\n1\n"))
    assert dataset.n_skills == 1000

"""The fast path of data/response_log.py against its row-wise reference: the same rows, report, stats, splits,
skill indices, fingerprint and errors, on logs generated here with every option (issue 19)."""
import warnings

import numpy as np
import pytest

from data import SPLIT_OPTIONS, DataError, StudentSplit, coded_columns, response_log
from tiny_runs import load_data

CSV_OPTIONS = ("csv_file", "csv_student_column", "csv_skill_column", "csv_correct_column", "csv_order_column",
               "csv_delimiter", "csv_skill_separator", "multi_skill", "min_interactions")
# natural order: numbers by value ("2" < "10" < "1e2"), then text; " 7 " is student "7" once stripped
STUDENTS = ["10", "2", "s1", "s10", "S2", " 7 ", "7", "1e2", "u-3", "zoé"]
SKILLS = ["12", "5", "45", "a", "B", " 3", "3.0"]
WEIGHTS = 1.0 / np.arange(1, len(STUDENTS) + 1) ** 1.5  # some students answer much less than others


def _log(rng, n_rows, separator=",", skill_separator="", order="numbers", encoding="utf-8"):
    """Text of a generated log: ties in the order column, padded cells, multi-skill cells, empty cells."""
    lines = ["student%sskill%scorrect%sorder" % (separator, separator, separator)]
    for row in range(n_rows):
        student = STUDENTS[rng.choice(len(STUDENTS), p=WEIGHTS / WEIGHTS.sum())]
        n_skills = rng.choice([0, 1, 1, 1, 2, 3]) if skill_separator else 1
        cell = skill_separator.join(SKILLS[rng.randint(len(SKILLS))] for _ in range(n_skills))
        if skill_separator and rng.rand() < 0.1:
            cell += skill_separator  # an empty part
        if order == "numbers":
            when = str(rng.randint(20))  # many ties: file order breaks them
        elif order == "rising":  # a platform's log: the file in time order already, with ties
            when = str(row // 3)
        elif order == "per student":  # each student's rows in time order, students interleaved, ties
            same = [line for line in lines[1:] if line.split(separator)[0].strip() == student.strip()]
            when = str(len(same) // 2)
        elif order == "decimals":
            when = "%.1f" % (rng.randint(40) / 2.0)
        else:
            when = "2024-03-%02d%s" % (1 + rng.randint(3), rng.choice(["", "T09:15", " 23:30:00.5+02:00",
                                                                       "T22:00Z"]))
        lines.append(separator.join([student, cell, rng.choice(["0", "1", "1.0"]), when]))
    return ("\n".join(lines) + "\n").encode(encoding)


def _options(**overrides):
    options = dict(csv_file="log.csv", csv_student_column="student", csv_skill_column="skill",
                   csv_correct_column="correct", csv_order_column="order", csv_delimiter="",
                   csv_skill_separator="", multi_skill="first", min_interactions=1, split_seed=3,
                   split_design="holdout", folds=1, fold=1, valid_fold=0, valid_fraction=0.2,
                   test_fraction=0.2)
    options.update(overrides)
    return options


def _direct(load, dataset_dir, options):
    """A loader of data/response_log.py called directly (as load_dataset calls it) with `options`."""
    options = dict(options)
    split = StudentSplit(*(options.pop(name) for name in SPLIT_OPTIONS))
    return load(dataset_dir, split, **options)


def _assert_same_dataset(fast, reference):
    assert fast.report == reference.report
    assert fast.stats == reference.stats
    assert fast.fingerprint == reference.fingerprint
    assert (fast.n_skills, fast.skill_ids, fast.skill_names) == (reference.n_skills, reference.skill_ids,
                                                                  reference.skill_names)
    for split in ("train", "valid", "test"):
        ours, theirs = getattr(fast, split), getattr(reference, split)
        assert [seq.student for seq in ours] == [seq.student for seq in theirs]
        for mine, expected in zip(ours, theirs):
            assert mine.skills.dtype == np.int32 and mine.answers.dtype == np.int32
            np.testing.assert_array_equal(mine.skills, expected.skills)
            np.testing.assert_array_equal(mine.answers, expected.answers)


def _both(tmp_path, **overrides):
    options = _options(**overrides)
    fast = load_data("csv", str(tmp_path), **options)
    reference = _direct(response_log.load_response_log_reference, str(tmp_path), options)
    _assert_same_dataset(fast, reference)
    return fast


# With pyarrow installed, "pyarrow is not installed" can only come from a test that forced the pandas reader:
# such a warning escaping a test would tell whoever runs the tests something false about their install.
if coded_columns.pyarrow_csv() is not None:
    pytestmark = pytest.mark.filterwarnings("error:pyarrow is not installed")

NOT_INSTALLED = "pyarrow is not installed"


@pytest.fixture(params=["installed", "pandas"])
def reader(request, monkeypatch):
    """Both readers of data/coded_columns.py: the one installed (pyarrow, or pandas on the Python 3.7 leg,
    which has no pyarrow) and pandas.

    The forced pandas reader says that pyarrow is not installed (once: each test starts afresh): the warning
    is caught and checked here, and every other warning is passed on."""
    if request.param == "pandas":
        monkeypatch.setattr(coded_columns, "pyarrow_csv", lambda: None)
        monkeypatch.setattr(response_log, "pyarrow_csv", lambda: None)
        monkeypatch.setattr(response_log, "_READER_SAID", [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield request.param
    said = [warning for warning in caught if NOT_INSTALLED in str(warning.message)]
    assert len(said) <= 1 and all(warning.category is UserWarning for warning in said)
    if request.param == "installed" and coded_columns.pyarrow_csv() is not None:
        assert not said
    for warning in caught:
        if warning not in said:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


@pytest.mark.parametrize("multi_skill", ["first", "drop", "expand"])
@pytest.mark.parametrize("min_interactions", [1, 12])
def test_multi_skill_cells_ties_and_min_interactions(tmp_path, reader, multi_skill, min_interactions):
    rng = np.random.RandomState(len(multi_skill) + min_interactions)
    (tmp_path / "log.csv").write_bytes(_log(rng, 400, skill_separator="_"))
    dataset = _both(tmp_path, csv_skill_separator="_", multi_skill=multi_skill,
                    min_interactions=min_interactions)
    assert dataset.stats["multi_skill_attempts"] > 0 and dataset.stats["no_skill_rows"] > 0
    assert (dataset.stats["short_students"] > 0) == (min_interactions > 1)


@pytest.mark.parametrize("order", ["date-times", "decimals", "rising", "per student", "file order"])
def test_date_times_decimals_and_file_order(tmp_path, reader, order):
    rng = np.random.RandomState(7)
    (tmp_path / "log.tsv").write_bytes(_log(rng, 300, separator="\t", order=order))
    _both(tmp_path, csv_file="log.tsv", csv_order_column="" if order == "file order" else "order")


def test_latin1_quoted_cells_with_line_breaks_and_a_byte_order_mark(tmp_path, reader):
    rng = np.random.RandomState(11)
    text = _log(rng, 200, encoding="latin-1") + b'"zo\xe9\nx",a,1,3\n"q""uote",b,0,2\n\n'
    (tmp_path / "log.csv").write_bytes(text)
    assert coded_columns.scan_file(str(tmp_path / "log.csv")).encoding == "ISO-8859-1"
    _both(tmp_path)
    (tmp_path / "log.csv").write_bytes(b"\xef\xbb\xbf" + _log(rng, 50))
    _both(tmp_path)


@pytest.mark.parametrize("text", [
    "student,skill,correct,order\ns1,a,1,0x10\ns1,b,0,2\n",      # pyarrow would read 0x10 as 16
    "student,skill,correct,order\ns1,a,1,10\ns1,b,0,0x2\n",
    "student,skill,correct,order\ns1,a,1, 3\ns1,b,0,+2 \ns2,c,1,9007199254740993\ns2,d,0,9007199254740992\n",
    "student,skill,correct,order\nNA,a,1,1\nnull,b,0,2\n\"s,1\",c,1,3\n",  # not missing values; quotes
    "student,skill,correct,order\ns1,a,1,1,x\ns1,b,0,2,y\n",     # more fields than the header (pandas)
])
def test_cells_the_readers_could_read_otherwise(tmp_path, reader, text):
    (tmp_path / "log.csv").write_text(text)
    options = _options(test_fraction=0.0, valid_fraction=0.0)
    outcomes = []
    for load in (response_log.load_response_log_reference, response_log.load_response_log):
        try:
            dataset = _direct(load, str(tmp_path), options)
            sequences = [(seq.student, seq.skills.tolist(), seq.answers.tolist()) for seq in dataset.train]
            outcomes.append(sequences + dataset.report)
        except DataError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]


def test_read_response_log_returns_the_reference_table(tmp_path, reader):
    rng = np.random.RandomState(5)
    path = tmp_path / "log.csv"
    path.write_bytes(_log(rng, 300, skill_separator=";"))
    args = (str(path), "student", "skill", "correct", "order", None, ";", "expand")
    table, report = response_log.read_response_log(*args)
    expected, expected_report = response_log.read_response_log_reference(*args)
    assert report == expected_report
    assert list(table.columns) == list(expected.columns)
    for column in table.columns:
        assert table[column].tolist() == expected[column].tolist()
    assert table["correct"].dtype == expected["correct"].dtype


@pytest.mark.parametrize("text", [
    "student,skill,correct,order\ns1,a,1,1\ns1,b,2,2\n",                  # correct not 0/1
    "student,skill,correct,order\ns1,a,1,1\n ,b,0,2\n",                   # empty student
    "student,skill,correct,order\ns1,a,1,2024-03-01\ns1,b,0,02/03/2024\n",  # a date in another format
    "student,skill,correct,order\ns1,a,1,1\ns1,b,0,x\n",                  # not a number
    "student,skill,correct,order\ns1,a,1,1\ns1,b,0,-inf\n",               # not a finite number
    "student,skill,correct,order\ns1,a,1,1\ns1,b,0,\n",                   # empty order value
    "student,skill,correct,order\ns1,,1,1\n",                             # nothing left
    "student,skill,correct\ns1,a,1\n",                                    # missing column
    "",                                                                   # empty file
    "student,skill,correct,order\ns1,a,1,1\ns2,b\n",                      # a short row (pandas: "nan")
])
def test_bad_input_gives_the_reference_error(tmp_path, reader, text):
    (tmp_path / "log.csv").write_text(text)
    options = _options(test_fraction=0.0, valid_fraction=0.0)
    with pytest.raises(DataError) as expected:
        _direct(response_log.load_response_log_reference, str(tmp_path), options)
    with pytest.raises(DataError) as error:
        load_data("csv", str(tmp_path), **options)
    assert str(error.value) == str(expected.value)


def test_the_pandas_reader_says_once_that_pyarrow_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(coded_columns, "pyarrow_csv", lambda: None)
    monkeypatch.setattr(response_log, "pyarrow_csv", lambda: None)
    monkeypatch.setattr(response_log, "_READER_SAID", [])
    (tmp_path / "log.csv").write_bytes(_log(np.random.RandomState(1), 50))
    with pytest.warns(UserWarning, match=NOT_INSTALLED):
        load_data("csv", str(tmp_path), **_options())
    assert response_log._READER_SAID == [True]


def test_equal_skill_numbers_keep_the_references_order_when_short_students_go(tmp_path):
    # "3" and "3.0" sort equal: the reference orders them by first appearance before short students are
    # dropped (student a, dropped, has "3.0" first)
    (tmp_path / "log.csv").write_text("student,skill,correct,order\na,3.0,1,1\nb,3,0,1\nb,3.0,1,2\nb,x,1,3\n")
    options = _options(min_interactions=2, valid_fraction=0.0, test_fraction=0.0)
    fast = load_data("csv", str(tmp_path), **options)
    assert fast.skill_ids == ["3.0", "3", "x"]
    _assert_same_dataset(fast, _direct(response_log.load_response_log_reference, str(tmp_path), options))

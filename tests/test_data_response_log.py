"""Any response log (data/response_log.py, DATASET="csv") and the ASSISTments options of issue 9
(skill_key="problem_id", main_problems_only, min_interactions), on small files written in tmp_path."""
import numpy as np
import pandas as pd
import pytest

from data import DataError, read_response_log
from tiny_runs import load_data

CSV_TEXT = ("user,item,right,seq,extra\n"
            "s2,7,1,3,x\n"
            "s1,12,0,2,x\n"
            "s1,7,1,1,x\n"
            "s2,12,0,1,x\n"
            "s1,12,1,2,x\n"  # same order as line 3: file order breaks the tie
            "s10,3,1,5,x\n"
            "s3,7,0,1,x\n"
            "s4,3,1,1,x\n"
            "s4,7,1,2,x\n")
COLUMNS = dict(csv_student_column="user", csv_skill_column="item", csv_correct_column="right",
               csv_order_column="seq")


def _write(tmp_path, text, name="log.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _read(path, order_column="seq", student_column="user", skill_column="item", correct_column="right",
          **options):
    """read_response_log with main.py's CSV defaults for the options a test does not set."""
    settings = dict(delimiter=None, skill_separator="", multi_skill="first")
    settings.update(options)
    return read_response_log(path, student_column, skill_column, correct_column, order_column, **settings)


def _load(tmp_path, file_name="log.csv", **options):
    settings = dict(COLUMNS, csv_file=file_name, split_design="holdout", valid_fraction=0.2,
                    test_fraction=0.2)
    settings.update(options)
    return load_data("csv", str(tmp_path), **settings)


def _by_student(dataset):
    return dict((seq.student, seq) for part in (dataset.train, dataset.valid, dataset.test) for seq in part)


def _pairs(table, student):
    rows = table[table["student"] == student]
    return list(zip(rows["skill_id"], rows["correct"]))


def test_column_mapping_order_ties_and_student_order(tmp_path):
    table, report = _read(_write(tmp_path, CSV_TEXT))
    assert list(table.columns) == ["student", "skill_id", "correct"]
    assert list(pd.unique(table["student"])) == ["s1", "s10", "s2", "s3", "s4"]
    assert _pairs(table, "s1") == [("7", 1), ("12", 0), ("12", 1)]  # tie at seq 2: file order
    assert _pairs(table, "s2") == [("12", 0), ("7", 1)]
    assert table["correct"].dtype.kind == "i" and all(isinstance(s, str) for s in table["skill_id"])
    assert "rows read: 9" in "\n".join(report) and "read as numbers" in "\n".join(report)


def test_dataset_indexes_skills_in_sorted_order_and_splits_by_student(tmp_path):
    _write(tmp_path, CSV_TEXT)
    dataset = _load(tmp_path)
    assert dataset.name == "csv" and dataset.skill_ids == ["3", "7", "12"] and dataset.n_skills == 3
    assert dataset.skill_names == dataset.skill_ids and dataset.true_concepts is None
    students = _by_student(dataset)
    np.testing.assert_array_equal(students["s1"].skills, [1, 2, 2])
    np.testing.assert_array_equal(students["s1"].answers, [1, 0, 1])
    assert (len(dataset.train), len(dataset.valid), len(dataset.test)) == (3, 1, 1)
    assert dataset.stats["interactions"] == 9 and "students: 5, interactions: 9" in "\n".join(dataset.report)
    again = _load(tmp_path)
    assert [s.student for s in again.test] == [s.student for s in dataset.test]


def test_tsv_with_timestamps_in_mixed_formats_and_zones(tmp_path):
    text = ("learner\tkc\toutcome\ttime\n"
            "ann\tfractions\t1\t2024-03-01T09:15:00Z\n"
            "ann\tdecimals\t0\t2024-03-01 09:10:00\n"
            "\n"
            "bob\tfractions\t0\t2024-03-02T10:00:00+00:00\n"
            "bob\tdecimals\t1\t2024-03-02T11:30:00+02:00\n")  # 09:30 UTC: before 10:00 UTC
    path = _write(tmp_path, text, name="log.tsv")
    table, report = _read(path, "time", "learner", "kc", "outcome")
    assert _pairs(table, "ann") == [("decimals", 0), ("fractions", 1)]
    assert _pairs(table, "bob") == [("decimals", 1), ("fractions", 0)]
    assert "tab-separated" in report[1] and "date-times" in "\n".join(report)
    dataset = load_data("csv", str(tmp_path), csv_file="log.tsv", csv_student_column="learner",
                           csv_skill_column="kc", csv_correct_column="outcome", csv_order_column="time",
                           split_design="holdout", valid_fraction=0.0, test_fraction=0.5)
    assert dataset.skill_ids == ["decimals", "fractions"]


@pytest.mark.parametrize("second, expected", [
    ("02/03/2024", "log.csv:3 (column seq): cannot parse order value '02/03/2024' as an ISO 8601 date-time "
                   "like the column's first value '2024-03-01'"),
    ("13/03/2024 10:00", "log.csv:3 (column seq): cannot parse order value '13/03/2024 10:00'"),
    ("2024-02-30", "log.csv:3 (column seq): order value '2024-02-30' is not a valid date-time"),
    ("2024-03-01T25:00", "log.csv:3 (column seq): order value '2024-03-01T25:00' is not a valid date-time"),
    ("March 2, 2024", "log.csv:3 (column seq): cannot parse order value 'March 2, 2024'"),
])
def test_an_order_column_keeps_the_format_of_its_first_value(tmp_path, second, expected):
    path = _write(tmp_path, 'user,item,right,seq\ns1,a,1,2024-03-01\ns1,b,0,"%s"\n' % second)
    with pytest.raises(DataError) as error:
        _read(path)
    assert str(error.value).startswith(path[:-len("log.csv")] + expected), str(error.value)


def test_day_month_dates_are_refused_as_ambiguous_from_the_first_value(tmp_path):
    # read row by row, 02/03 was 3 February and 13/03 13 March in the same column
    path = _write(tmp_path, "user,item,right,seq\ns1,a,1,02/03/2024\ns1,b,0,13/03/2024\n")
    with pytest.raises(DataError) as error:
        _read(path)
    message = str(error.value)
    assert "log.csv:2 (column seq)" in message and "ambiguous" in message and "ISO 8601" in message


def test_iso_date_times_with_and_without_time_fraction_and_zone_are_one_format(tmp_path):
    path = _write(tmp_path, "user,item,right,seq\n"
                            "s1,d,1,2024-03-02\n"                  # midnight
                            "s1,c,0,2024-03-01T23:30:00.250-01:00\n"  # 00:30:00.25 UTC on the 2nd
                            "s1,b,1,2024-03-01 23:59:59.5\n"
                            "s1,a,0,2024-03-01T22:00Z\n"
                            "s1,e,1,2024-3-2 00:30:00.3+0000\n")
    table, report = _read(path)
    assert [skill for skill, _ in _pairs(table, "s1")] == ["a", "b", "d", "c", "e"]
    assert "date-times (UTC)" in "\n".join(report)


def test_explicit_delimiter_and_latin1(tmp_path):
    path = _write(tmp_path, u"user;item;right;seq\nZo\xe9;a;1;1\nZo\xe9;b;0;2\n", name="log.dat",
                  encoding="latin-1")
    table, report = _read(path, delimiter=";")
    assert list(table["student"]) == [u"Zo\xe9", u"Zo\xe9"] and "ISO-8859-1" in report[1]
    tab = _write(tmp_path, "user\titem\tright\tseq\nu\ta\t1\t1\n", name="log2.csv")
    assert len(_read(tab, delimiter="tab")[0]) == 1


@pytest.mark.parametrize("multi_skill, s1_pairs", [
    ("first", [("12", 1), ("5", 0)]),
    ("drop", [("5", 0)]),
    ("expand", [("12", 1), ("45", 1), ("5", 0)])])
def test_multi_skill_cells_with_a_separator(tmp_path, multi_skill, s1_pairs):
    path = _write(tmp_path, "user,item,right,seq\ns1,12_45,1,1\ns1,5,0,2\ns2,45_45,1,1\ns2,,1,2\n")
    table, report = _read(path, skill_separator="_", multi_skill=multi_skill)
    assert _pairs(table, "s1") == s1_pairs
    assert _pairs(table, "s2") == [("45", 1)]  # "45_45" is one skill; the empty cell is dropped
    text = "\n".join(report)
    assert "1 rows without a skill dropped" in text and "multi_skill=%r" % multi_skill in text
    assert ("LEAKY" in text) == (multi_skill == "expand")


def test_no_order_column_keeps_file_order(tmp_path):
    path = _write(tmp_path, CSV_TEXT)
    table, report = _read(path, "")
    assert _pairs(table, "s1") == [("12", 0), ("7", 1), ("12", 1)] and "file order" in "\n".join(report)


def test_without_separator_a_cell_is_one_skill(tmp_path):
    table, _ = _read(_write(tmp_path, "user,item,right,seq\ns1,12_45,1,1\n"))
    assert _pairs(table, "s1") == [("12_45", 1)]


def test_min_interactions_drops_short_students(tmp_path):
    _write(tmp_path, CSV_TEXT)
    dataset = _load(tmp_path, min_interactions=2, valid_fraction=0.3, test_fraction=0.3)
    assert sorted(_by_student(dataset)) == ["s1", "s2", "s4"]
    assert dataset.skill_ids == ["3", "7", "12"]  # s4 still answers skill 3
    assert "2 students with fewer than 2 interactions dropped" in "\n".join(dataset.report)
    with pytest.raises(DataError, match="min_interactions"):
        _load(tmp_path, min_interactions=0)
    with pytest.raises(DataError, match="no student has 9 interactions"):
        _load(tmp_path, min_interactions=9)


def test_missing_column_lists_the_columns_found(tmp_path):
    _write(tmp_path, CSV_TEXT)
    with pytest.raises(DataError) as error:
        _load(tmp_path, csv_skill_column="skill")
    message = str(error.value)
    assert "missing column(s) skill" in message and "columns found: user, item, right, seq, extra" in message
    assert "CSV_SKILL_COLUMN" in message


def test_wrong_separator_hints_at_csv_delimiter(tmp_path):
    path = _write(tmp_path, "user\titem\tright\tseq\nu\ta\t1\t1\n", name="log.csv")
    with pytest.raises(DataError, match="CSV_DELIMITER"):
        _read(path)


def test_correct_other_than_0_1_names_its_line(tmp_path):
    path = _write(tmp_path, "user,item,right,seq\ns1,a,1,1\n\ns1,a,2,2\n")
    with pytest.raises(DataError) as error:
        _read(path)
    assert "%s:4 (column right)" % path in str(error.value) and "'2'" in str(error.value)


def test_quoted_line_break_keeps_line_numbers_right(tmp_path):
    path = _write(tmp_path, 'user,item,right,seq\n"s\n1",a,1,1\ns1,a,yes,2\n')
    with pytest.raises(DataError, match=":4 \\(column right\\)"):
        _read(path)


def test_unparsable_order_says_so_with_its_line(tmp_path):
    path = _write(tmp_path, "user,item,right,seq\ns1,a,1,2024-01-01 10:00\ns1,a,0,yesterday\n")
    with pytest.raises(DataError) as error:
        _read(path)
    assert "%s:3 (column seq)" % path in str(error.value) and "cannot parse" in str(error.value)
    numbers = _write(tmp_path, "user,item,right,seq\ns1,a,1,1\ns1,a,0,2x\n", name="n.csv")
    with pytest.raises(DataError, match="n.csv:3 .*not a number"):
        _read(numbers)
    empty = _write(tmp_path, "user,item,right,seq\ns1,a,1,\n", name="e.csv")
    with pytest.raises(DataError, match="e.csv:2 .*empty order"):
        _read(empty)


def test_missing_and_empty_file(tmp_path):
    with pytest.raises(DataError, match="response log not found"):
        _load(tmp_path)
    _write(tmp_path, "")
    with pytest.raises(DataError, match="empty"):
        _load(tmp_path)


def test_fingerprint_follows_bytes_and_every_option(tmp_path):
    _write(tmp_path, CSV_TEXT)
    base = _load(tmp_path).fingerprint
    assert _load(tmp_path).fingerprint == base
    for option, value in (("split_seed", 1), ("min_interactions", 2), ("multi_skill", "drop"),
                          ("csv_skill_separator", "_"), ("csv_delimiter", ",")):
        assert _load(tmp_path, **{option: value}).fingerprint != base, option
    _write(tmp_path, CSV_TEXT + "s5,3,1,1,x\n")
    assert _load(tmp_path).fingerprint != base


# --- ASSISTments options -------------------------------------------------------------------------------

ASSIST_HEADER = "order_id,user_id,problem_id,original,correct,skill_id,skill_name\n"
ASSIST_ROWS = ("1,1,100,1,1,10,Add\n"
               "2,1,101,0,0,10,Add\n"      # scaffolding of problem 100
               "3,1,102,1,1,11,Sub\n"
               "3,1,102,1,1,10,Add\n"      # one attempt, two skills, one problem
               "4,2,100,1,0,10,Add\n"
               "5,2,103,1,1,11,Sub\n"
               "6,3,101,0,1,10,Add\n"
               "7,4,102,1,0,11,Sub\n"
               "8,5,100,1,1,10,Add\n")


def _assist(tmp_path, rows=ASSIST_ROWS, **options):
    (tmp_path / "skill_builder_data.csv").write_bytes((ASSIST_HEADER + rows).encode("latin-1"))
    settings = dict(split_design="holdout", valid_fraction=0.2, test_fraction=0.2)
    settings.update(options)
    return load_data("assistments", str(tmp_path), **settings)


def test_assistments_problem_id_key(tmp_path):
    dataset = _assist(tmp_path, skill_key="problem_id", multi_skill="drop")
    assert dataset.skill_ids == ["100", "101", "102", "103"] and dataset.skill_names == dataset.skill_ids
    np.testing.assert_array_equal(_by_student(dataset)["1"].skills, [0, 1, 2])  # attempt 3 = one problem
    assert dataset.stats["multi_skill_attempts"] == 0 and "keyed by problem_id" in "\n".join(dataset.report)
    assert _assist(tmp_path).skill_ids == ["10", "11"]


def test_assistments_problem_id_column_is_required_only_for_that_key(tmp_path):
    (tmp_path / "skill_builder_data.csv").write_bytes(b"order_id,user_id,correct,skill_id,skill_name\n"
                                                      b"1,1,1,10,Add\n2,2,0,10,Add\n3,3,1,10,Add\n")
    assert load_data("assistments", str(tmp_path), split_design="holdout").stats["students"] == 3
    with pytest.raises(DataError, match="missing column\\(s\\) problem_id; columns found: order_id"):
        load_data("assistments", str(tmp_path), skill_key="problem_id")
    with pytest.raises(DataError, match="missing column\\(s\\) original"):
        load_data("assistments", str(tmp_path), main_problems_only=True)


def test_assistments_main_problems_only(tmp_path):
    everything = _assist(tmp_path)
    main_only = _assist(tmp_path, main_problems_only=True)
    assert everything.stats["students"] == 5 and main_only.stats["students"] == 4  # user 3: scaffolding only
    np.testing.assert_array_equal(_by_student(main_only)["1"].answers, [1, 1])
    assert main_only.stats["scaffolding_rows"] == 2
    assert "2 rows with original != 1 (scaffolding) dropped" in "\n".join(main_only.report)
    assert main_only.fingerprint != everything.fingerprint


def test_assistments_min_interactions(tmp_path):
    dataset = _assist(tmp_path, min_interactions=2, valid_fraction=0.0, test_fraction=0.5)
    assert sorted(_by_student(dataset)) == ["1", "2"]
    assert dataset.stats["short_students"] == 3
    assert dataset.fingerprint != _assist(tmp_path, valid_fraction=0.0, test_fraction=0.5).fingerprint
    with pytest.raises(DataError, match="min_interactions"):
        _assist(tmp_path, min_interactions=1.5)


def test_assistments_holdout_keeps_the_fingerprint_of_runs_made_before_split_designs(tmp_path):
    from data.dataset import fingerprint
    dataset = _assist(tmp_path)
    raw = (tmp_path / "skill_builder_data.csv").read_bytes()
    assert dataset.fingerprint == fingerprint([raw], {"seed": 0, "valid_fraction": 0.2, "test_fraction": 0.2,
                                                      "skill_key": "skill_id", "multi_skill": "first"})


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize("where", ["first", "second"])
def test_an_infinite_order_value_is_refused_with_its_line(tmp_path, value, where):
    values = (value, "2") if where == "first" else ("1", value)
    path = _write(tmp_path, "user,item,right,seq\ns1,a,1,%s\ns1,b,0,%s\n" % values)
    line = 2 if where == "first" else 3
    for read in (lambda: _read(path), lambda: _load(tmp_path, test_fraction=0.0, valid_fraction=0.0)):
        with pytest.raises(DataError) as error:
            read()
        message = str(error.value)
        assert message.startswith("%s:%d (column seq): " % (path, line)) and repr(value) in message, message
        # (pandas 1.2, on the Python 3.7 leg, reads 1e999 as no number at all: refused as such)
        assert "not a finite number" in message or value == "1e999", message


@pytest.mark.parametrize("column", ["order_id", "user_id"])
def test_assistments_refuses_an_infinite_number(tmp_path, column):
    rows = ASSIST_ROWS.replace("4,2,100,1,0,10,Add", "inf,2,100,1,0,10,Add" if column == "order_id"
                               else "4,inf,100,1,0,10,Add")
    with pytest.raises(DataError, match="data row 5 .*column %s: 'inf' is not a finite number" % column):
        _assist(tmp_path, rows=rows)

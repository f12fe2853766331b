"""Any response log: a CSV or TSV with one row per answer, columns named by options. No TensorFlow.

File: DATASET_DIR/CSV_FILE. Separator: `delimiter` ("," or "\\t"; "tab" and "\\t" written as two
characters work too); None or "" = from the extension (.tsv, .tab and .txt are tab-separated, anything
else comma-separated). Encoding: UTF-8 when the bytes are valid UTF-8, else ISO-8859-1.
Columns (by name, given by options; other columns are ignored):
  student_column  who answered (any text)
  skill_column    the skill (or item) id, any text; with skill_separator (e.g. "_") a cell such as "12_45"
                  tags the answer with several skills, handled by multi_skill as for ASSISTments:
                  "first" (the cell's first skill), "drop" (drop the answer) or "expand" (one step
                  per skill, LEAKY: the 2nd sees the answer of the 1st). An empty cell drops the row.
  correct_column  0 or 1 (1.0 / 0.0 too)
  item_column     the item (question) answered, any text, beside its skill; None or "" = none. Read by the
                  models that use items (IRT, Best-LR); every row needs one (an empty cell is an error).
  order_column    when the answer was given: finite numbers (order ids, seconds) when the first value is
                  a number, else ISO 8601 date-times, year first ("2024-03-01T09:15:00", "2024-03-01 09:15",
                  "2024-03-01", with or without a time zone; all are compared in UTC); every value must
                  have the first value's format (a day/month date such as 02/03/2024 is refused: read row
                  by row it is a guess). Ties keep file order. None or "" = no order column: the file
                  order is the time order.
Bad input raises DataError with file:line: a missing column (lists the columns found), a correct value
that is not 0/1, an order value that does not parse or is not in the column's format, an empty item cell.

read_response_log(...) -> (DataFrame[student, skill_id, correct], report lines): the rows grouped by
student (students in natural order: numbers by value, then text) and in time order inside a student;
predict.py reads a history file with it. load_response_log(...) -> Dataset: skill ids indexed in natural
order (names = ids), item ids (with an item column) likewise, students with fewer than min_interactions
interactions dropped, split by student.

Two paths give the same rows, report, errors and fingerprint, bit for bit:
- the fast one (`read_response_log`, `load_response_log`): the file is read once as integer codes into
  each column's distinct texts (data/coded_columns.py: pyarrow when installed, else pandas, which warns once),
  every text step (strip, split a cell, parse a number or date, natural order) runs once per distinct text,
  and the rows are sorted by one stable numpy lexsort; ~1-2 million rows/s on 2 cores, ~50 bytes per answer.
- the reference (`read_response_log_reference`, `load_response_log_reference`): the row-wise definition
  (~100k rows/s, ~450 bytes per answer), kept readable; tests/test_data_response_log_fast.py compares the
  two on generated logs with every option.
"""
import collections
import csv
import io
import os
import warnings

import numpy as np
import pandas as pd

from data.coded_columns import (CodedColumn, pandas_encoding, pyarrow_csv, read_coded_columns, scan_file,
                                stable_group_order)
from data.dataset import DataError, check_text_encoding, finish_fingerprint, fingerprint
from data.interactions import (MULTI_SKILL_CHOICES, check_choice, check_min_interactions, detect_encoding,
                               drop_short_students, handle_multi_skill, index_keys, multi_skill_note,
                               natural_key, note, sequences_from_rows, split_into_dataset)
from data.progress import no_progress, progress
from data.sequences import split_fingerprint_options

OPTIONS = ("csv_file", "csv_student_column", "csv_skill_column", "csv_correct_column", "csv_order_column",
           "csv_delimiter", "csv_skill_separator", "multi_skill", "min_interactions", "csv_item_column")
TAB_EXTENSIONS = (".tsv", ".tab", ".txt")


def read_response_log(path, student_column, skill_column, correct_column, order_column, delimiter,
                      skill_separator, multi_skill):
    """(DataFrame with columns student (str), skill_id (str), correct (int 0/1), report lines).

    Rows are grouped by student and in time order inside each student; see the module docstring.
    """
    rows = _read(path, student_column, skill_column, correct_column, order_column, delimiter, skill_separator,
                 multi_skill)
    table = pd.DataFrame({"student": np.array(rows.student_texts, dtype=object)[rows.students],
                          "skill_id": np.array(rows.skill_texts, dtype=object)[rows.skills],
                          "correct": rows.correct.astype(np.int64)})
    return table, rows.report


def load_response_log(dataset_dir, split, csv_file, csv_student_column, csv_skill_column, csv_correct_column,
                      csv_order_column, csv_delimiter, csv_skill_separator, multi_skill, min_interactions,
                      csv_item_column=""):
    """Read DATASET_DIR/csv_file and split it by student into a Dataset (see module docstring)."""
    min_interactions = check_min_interactions(min_interactions)
    path = os.path.join(dataset_dir, csv_file)
    # A large log takes a minute: a bar of its stages (on a terminal only) says which one runs, for how long.
    with progress(None, "reading %s" % csv_file, total=len(LOAD_STAGES), unit="stage") as bar:
        rows = _read(path, csv_student_column, csv_skill_column, csv_correct_column, csv_order_column,
                     csv_delimiter, csv_skill_separator, multi_skill, bar, item_column=csv_item_column)
        bar.set_postfix_str(LOAD_STAGES[-1])
        report, stats = rows.report, rows.stats
        students, skills, correct, items = _drop_short_students(rows, min_interactions, report, stats)
        if len(students) == 0:
            raise DataError(_too_few_interactions(path, min_interactions))
        index_of_skill, skill_ids = _skill_index(skills, rows.skills, rows.skill_texts)
        item_index, item_ids = (None, None) if items is None else _skill_index(items, rows.items,
                                                                               rows.item_texts)
        # int32 flat arrays: every Sequence is a view into them, no copy per student
        sequences = sequences_from_rows(students, index_of_skill[skills], correct.astype(np.int32),
                                        student_names=rows.student_texts,
                                        item_index=None if items is None else item_index[items])
        options = _fingerprint_options(split, csv_file, csv_student_column, csv_skill_column,
                                       csv_correct_column, csv_order_column, csv_delimiter,
                                       csv_skill_separator, multi_skill, min_interactions, csv_item_column)
        dataset = split_into_dataset("csv", sequences, skill_ids, list(skill_ids),
                                     "column %s" % csv_skill_column, split, report, stats,
                                     finish_fingerprint(rows.scan.digest.copy(), options), item_ids=item_ids,
                                     item_label="column %s" % csv_item_column)
        bar.update(1)
    return dataset


def _skill_index(skills, all_skills, skill_texts):
    """(index of each skill code (-1 where absent), skill ids in index order) of the skills in `skills`:
    natural order of the texts, ties ("3" and "3.0") in order of first appearance in `all_skills` (the rows
    before short students are dropped), as the reference's index_keys orders them."""
    present = np.flatnonzero(np.bincount(skills, minlength=len(skill_texts))).tolist()
    keys = dict((code, natural_key(skill_texts[code])) for code in present)
    tied = collections.Counter(keys.values())
    first_row = dict((code, int(np.argmax(all_skills == code))) for code in present if tied[keys[code]] > 1)
    ordered = sorted(present, key=lambda code: (keys[code], first_row.get(code, 0)))
    index_of_skill = np.full(len(skill_texts), -1, dtype=np.int32)
    index_of_skill[ordered] = np.arange(len(ordered), dtype=np.int32)
    return index_of_skill, [skill_texts[code] for code in ordered]


def _fingerprint_options(split, csv_file, csv_student_column, csv_skill_column, csv_correct_column,
                         csv_order_column, csv_delimiter, csv_skill_separator, multi_skill, min_interactions,
                         csv_item_column=""):
    """The options that enter the data fingerprint (with the file's bytes); runs record it. The item column
    enters only when one is named, so that a run made without one keeps its fingerprint."""
    item = {"csv_item_column": csv_item_column} if csv_item_column else {}
    return dict(split_fingerprint_options(split), **item, **{
            "csv_file": csv_file, "csv_student_column": csv_student_column,
            "csv_skill_column": csv_skill_column, "csv_correct_column": csv_correct_column,
            "csv_order_column": csv_order_column, "csv_delimiter": csv_delimiter,
            "csv_skill_separator": csv_skill_separator, "multi_skill": multi_skill,
            "min_interactions": min_interactions})


def _too_few_interactions(path, min_interactions):
    return "%s: no student has %d interactions or more (min_interactions)" % (path, min_interactions)


def _nothing_left(path, multi_skill):
    return ("%s: no rows left after dropping rows without a skill and (multi_skill=%r) multi-skill answers"
            % (path, multi_skill))


def _check_file(path):
    if not os.path.isfile(path):
        raise DataError("response log not found: %s\n  set DATASET_DIR and CSV_FILE to your CSV/TSV file "
                        "(one row per answer)" % path)
    with open(path, "rb") as handle:
        check_text_encoding(path, handle.read(64))


def _first_lines(path, separator, encoding, student_column, skill_column, correct_column, order_column, rows,
                 item_column=""):
    """The report's first lines (what was read, how)."""
    return ["data: csv, %s" % path,
            "  %s-separated, %s; columns: student=%s, skill=%s, correct=%s, order=%s%s"
            % ("tab" if separator == "\t" else repr(separator), encoding, student_column, skill_column,
               correct_column, order_column or "(file order)",
               ", item=%s" % item_column if item_column else ""),
            "  rows read: %s" % "{:,}".format(rows)]


# -- the fast path: the distinct texts of each column are handled once, the rows are integer codes -----------

# What _read returns: rows grouped by student (students in natural order), in time order inside a student.
#   students int32 [n]: index into student_texts (natural order, only students with rows); skills int32 [n]:
#   index into skill_texts (first-seen order, not yet the skill index); correct int8 [n] 0/1;
#   report, stats: as the reference's; scan: data.coded_columns.FileScan (the file's digest).
#   items int32 [n]: index into item_texts (first-seen order), or None (no item column), as skills.
_Rows = collections.namedtuple("_Rows", ["students", "student_texts", "skills", "skill_texts", "correct",
                                         "report", "stats", "scan", "items", "item_texts"])


def _read(path, student_column, skill_column, correct_column, order_column, delimiter, skill_separator,
          multi_skill, bar=None, item_column=""):
    """_Rows of the log: the same rows, report and errors as _read_reference, from integer codes. `bar` (a
    data.progress bar of LOAD_STAGES), when given, names each stage as it starts and counts it when done."""
    bar = bar or no_progress()
    check_choice("multi_skill", multi_skill, MULTI_SKILL_CHOICES)
    _check_file(path)
    bar.set_postfix_str(LOAD_STAGES[0])
    scan = scan_file(path)
    bar.update(1)
    bar.set_postfix_str(LOAD_STAGES[1])
    separator = resolve_delimiter(path, delimiter)
    mapping = _mapping(student_column, skill_column, correct_column, order_column, item_column)
    _check_header(path, _header(path, scan.encoding, separator, mapping), separator, mapping)
    try:
        columns, reader = read_coded_columns(path, scan, separator, [student_column, skill_column,
                                                                     correct_column] + (
            [item_column] if item_column else []), order_column or None)
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError("%s: cannot parse the file: %s" % (path, str(error).strip()))
    _say_reader_once(reader)
    bar.update(1)
    bar.set_postfix_str(LOAD_STAGES[2])
    log = _Lines(path, scan.encoding, separator)
    n_rows = len(columns[student_column].codes)
    report = _first_lines(path, separator, scan.encoding, student_column, skill_column, correct_column,
                          order_column, n_rows, item_column)
    stats = {"rows": n_rows, "encoding": scan.encoding}
    item_cells = None
    if item_column:
        item_cells = _stripped(columns[item_column])
        if "" in item_cells.texts:
            _items(_row_texts(item_cells), log, item_column)  # raises, naming the first empty row
    students = _stripped(columns[student_column])
    if "" in students.texts:
        _students(_row_texts(students), log, student_column)  # raises, naming the first empty row
    correct = _coded_answers(_stripped(columns[correct_column]), log, correct_column)
    if order_column:
        order, order_kind = _coded_order(columns[order_column], log, order_column)
        report.append("  order column %s read as %s" % (order_column, order_kind))
    else:
        order = None
        report.append("  no order column: file order is the time order")
    kept_rows, skills, skill_texts = _skill_steps(_stripped(columns[skill_column]), skill_separator,
                                                  multi_skill, report, stats)
    del columns  # the raw codes: half of the peak memory on a large log
    n_kept = n_rows if kept_rows is None else len(kept_rows)
    if n_kept == 0:
        raise DataError(_nothing_left(path, multi_skill))

    def kept(values):
        return values if kept_rows is None else values[kept_rows]
    kept_students = kept(students.codes)
    student_rank, student_texts = _natural_ranks(students, kept_students)
    rank = student_rank[kept_students]
    del students, kept_students
    by_time = _time_order(rank, len(student_texts), None if order is None else kept(order))
    del order
    report.append("  %s students, %s interactions" % ("{:,}".format(len(student_texts)),
                                                      "{:,}".format(n_kept)))
    bar.update(1)
    items, item_texts = (None, None) if item_cells is None else (
        kept(item_cells.codes).astype(np.int32)[by_time], item_cells.texts)
    return _Rows(rank[by_time], student_texts, skills[by_time], skill_texts,
                 kept(correct)[by_time], report, stats, scan, items, item_texts)


def _time_order(rank, n_students, order):
    """The permutation that groups the rows by student rank and puts each student's rows in time order,
    ties in row order: np.lexsort((order, rank)), as the reference sorts (the rows are in file order and,
    for an expanded cell, in the cell's order).

    Faster: one counting sort by student (O(n)) does it when each student's rows are in time order in the
    file already (a platform's log, students interleaved); only otherwise are the rows sorted by time first.
    """
    by_student = stable_group_order(rank, n_students)
    if order is None:
        return by_student
    in_order = order[by_student]
    first_of_student = np.zeros(len(rank), dtype=bool)
    first_of_student[np.cumsum(np.bincount(rank, minlength=n_students))[:-1]] = True
    if not ((in_order[1:] < in_order[:-1]) & ~first_of_student[1:]).any():  # no student goes back in time
        return by_student
    del in_order, by_student
    by_order = np.argsort(order, kind="stable")
    return by_order[stable_group_order(rank[by_order], n_students)]


# What a load of a large log does, in order (the bar's stages): the file's bytes hashed and scanned once; the
# columns parsed as integer codes (pyarrow or pandas: most of the time); cells checked, skills split, rows
# ordered by student and time; short students dropped, skills indexed, students split.
LOAD_STAGES = ("scanning the bytes", "parsing the columns", "ordering the rows", "splitting the students")

_READER_SAID = []


def _say_reader_once(reader):
    """One warning per process when the fast CSV reader (pyarrow) is missing: the load is ~5-10x slower."""
    if reader == "pandas" and pyarrow_csv() is None and not _READER_SAID:
        _READER_SAID.append(True)
        warnings.warn("pyarrow is not installed (requirements.txt has it; the Python 3.7 leg does not): "
                      "reading CSV files with pandas, ~5-10x slower on large logs", stacklevel=3)


def _stripped(column):
    """CodedColumn with every text stripped (texts equal after stripping share a code)."""
    if not column.texts:
        return column
    stripped = [text.strip() for text in column.texts]
    if len(set(stripped)) == len(stripped):  # nothing merges: the codes stay
        return CodedColumn(column.codes, stripped)
    codes, texts = pd.factorize(pd.Series(stripped, dtype=object))
    return CodedColumn(codes.astype(np.int32)[column.codes], [str(text) for text in texts])


def _row_texts(column):
    """The text of every row (object array): only to word an error as the reference does."""
    return np.array(column.texts, dtype=object)[column.codes]


def _coded_answers(column, log, name):
    """int8 [n] 0/1 answers; DataError as _answers for a value that is not 0 or 1."""
    numbers = pd.to_numeric(pd.Series(column.texts, dtype=object), errors="coerce").values
    if (~np.isin(numbers, (0, 1))).any():
        _answers(_row_texts(column), log, name)  # raises, naming the first bad row
    return numbers.astype(np.int8)[column.codes]


def _coded_order(column, log, name):
    """(sortable array [n], kind) as _order, from plain integers or from the distinct texts."""
    if isinstance(column, np.ndarray):  # every cell a plain integer: what the reference reads as numbers
        return column.astype(np.float64), "numbers"
    column = _stripped(column)
    texts = np.array(column.texts, dtype=object)
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").values.astype(np.float64)
    first_is_number = len(column.codes) > 0 and not np.isnan(numbers[column.codes[0]])
    if (texts == "").any() or np.isinf(numbers).any() or (first_is_number and np.isnan(numbers).any()):
        _order(_row_texts(column), log, name)  # raises, naming the first bad row
    if first_is_number:
        return numbers[column.codes], "numbers"
    try:
        micros = _iso_microseconds(texts, _NoLines(), name)
    except _Unlocated:
        _order(_row_texts(column), log, name)  # raises, naming the first bad row
    return micros[column.codes], "date-times (UTC)"


class _Unlocated(Exception):
    """An error found among the distinct texts: the caller finds its row and raises the DataError."""


class _NoLines(object):
    def where(self, row, column):
        raise _Unlocated()


def _skill_steps(cells, skill_separator, multi_skill, report, stats):
    """(kept rows int64 [m] or None for every row once, skill code of each kept row int32 [m], skill texts)
    after the steps of _skill_rows and handle_multi_skill (collapse_same_key: "45_45" is one skill).

    Computed per distinct cell, with its number of rows. A kept row appears once per skill it keeps
    (multi_skill "expand"), in file order.
    """
    parts = [_cell_skills(cell, skill_separator) for cell in cells.texts]
    rows_of_cell = np.bincount(cells.codes, minlength=len(parts)).astype(np.int64)
    skills_of_cell = np.array([len(skills) for skills in parts], dtype=np.int64)
    note(report, stats, "no_skill_rows", int(rows_of_cell[skills_of_cell == 0].sum()),
         "rows without a skill dropped")
    multi = skills_of_cell > 1
    n_multi_rows = int((rows_of_cell * skills_of_cell)[multi].sum())
    dropped = {"first": int((rows_of_cell * np.maximum(skills_of_cell - 1, 0)).sum()), "drop": n_multi_rows,
               "expand": 0}
    multi_skill_note(report, stats, multi_skill, "skill entries", int(rows_of_cell[multi].sum()),
                     n_multi_rows, dropped[multi_skill])
    kept = [skills[:1] if multi_skill == "first" else (skills if multi_skill == "expand" or len(skills) == 1
                                                       else []) for skills in parts]
    code_of = {}  # skill text -> code, in first-seen order
    for skills in kept:
        for skill in skills:
            code_of.setdefault(skill, len(code_of))
    skill_texts = sorted(code_of, key=code_of.__getitem__)
    kept_per_cell = np.array([len(skills) for skills in kept], dtype=np.int64)
    first_codes = np.array([code_of[skills[0]] if skills else -1 for skills in kept], dtype=np.int32)
    if (kept_per_cell[rows_of_cell > 0] == 1).all():  # every row kept once, with one skill
        return None, first_codes[cells.codes], skill_texts
    count = kept_per_cell[cells.codes]
    if (kept_per_cell <= 1).all():  # one skill per row at most: no expansion
        kept_rows = np.flatnonzero(count)
        return kept_rows, first_codes[cells.codes[kept_rows]], skill_texts
    kept_rows = np.repeat(np.arange(len(count)), count)
    flat = np.array([code_of[skill] for skills in kept for skill in skills], dtype=np.int32)
    cell_start = np.cumsum(kept_per_cell) - kept_per_cell
    row_start = np.cumsum(count) - count
    within = np.arange(len(kept_rows)) - np.repeat(row_start, count)  # position among the row's kept skills
    return kept_rows, flat[cell_start[cells.codes[kept_rows]] + within], skill_texts


def _cell_skills(cell, skill_separator):
    """The distinct skills of one stripped cell, in cell order (_skill_rows, then equal keys collapsed)."""
    if skill_separator:
        skills = [part.strip() for part in cell.split(skill_separator) if part.strip()]
    else:
        skills = [cell] if cell else []
    return sorted(set(skills), key=skills.index) if len(skills) > 1 else skills


def _natural_ranks(students, kept_codes):
    """(rank of each student code in natural order of the students in kept_codes (-1 for the others),
    those students' texts in that order)."""
    present = np.flatnonzero(np.bincount(kept_codes, minlength=len(students.texts)))
    # ties ("7" and "7.0") by text: the reference's order of them is a set's, i.e. arbitrary
    texts = students.texts
    ordered = sorted(present.tolist(), key=lambda code: (natural_key(texts[code]), texts[code]))
    rank = np.full(len(students.texts), -1, dtype=np.int32)
    rank[ordered] = np.arange(len(ordered), dtype=np.int32)
    return rank, [students.texts[code] for code in ordered]


def _drop_short_students(rows, min_interactions, report, stats):
    """(students, skills, correct, items or None) of the rows without the students with fewer than
    min_interactions rows; the report and stats as data.interactions.drop_short_students."""
    stats["short_students"] = 0
    if min_interactions <= 1:
        return rows.students, rows.skills, rows.correct, rows.items
    sizes = np.bincount(rows.students, minlength=len(rows.student_texts))
    short_student = (sizes > 0) & (sizes < min_interactions)
    short = short_student[rows.students]
    note(report, stats, "short_students", int(short_student.sum()),
         "students with fewer than %d interactions dropped (%s interactions; min_interactions=%d)"
         % (min_interactions, "{:,}".format(int(short.sum())), min_interactions))
    return (rows.students[~short], rows.skills[~short], rows.correct[~short],
            None if rows.items is None else rows.items[~short])


# -- the reference: the row-wise path, readable and slow (~100k rows/s); the tests compare the fast path -----
# with it on generated logs with every option. Nothing else calls it.

def read_response_log_reference(path, student_column, skill_column, correct_column, order_column, delimiter,
                                skill_separator, multi_skill):
    """read_response_log, row by row (the reference of the fast path)."""
    table, report, _, _ = _read_reference(path, student_column, skill_column, correct_column, order_column,
                                          delimiter, skill_separator, multi_skill)
    return table, report


def load_response_log_reference(dataset_dir, split, csv_file, csv_student_column, csv_skill_column,
                                csv_correct_column, csv_order_column, csv_delimiter, csv_skill_separator,
                                multi_skill, min_interactions, csv_item_column=""):
    """load_response_log, row by row (the reference of the fast path)."""
    min_interactions = check_min_interactions(min_interactions)
    path = os.path.join(dataset_dir, csv_file)
    table, report, stats, raw_bytes = _read_reference(path, csv_student_column, csv_skill_column,
                                                      csv_correct_column, csv_order_column, csv_delimiter,
                                                      csv_skill_separator, multi_skill, csv_item_column)
    students, student_names = pd.factorize(table["student"].values)  # already in natural order
    codes = pd.DataFrame({"student": students, "correct": table["correct"].values})
    codes["key"], key_texts = pd.factorize(table["skill_id"].values)
    if csv_item_column:
        codes["item"], item_texts = pd.factorize(table["item_id"].values)
    codes = drop_short_students(codes, min_interactions, report, stats, "student")
    if len(codes) == 0:
        raise DataError(_too_few_interactions(path, min_interactions))
    ordered, index_of_key = index_keys(codes["key"].values, list(key_texts))
    skill_ids = [str(key_texts[code]) for code in ordered]
    item_ids, item_index = None, None
    if csv_item_column:
        ordered_items, index_of_item = index_keys(codes["item"].values, list(item_texts))
        item_ids = [str(item_texts[code]) for code in ordered_items]
        item_index = index_of_item[codes["item"].values]
    sequences = sequences_from_rows(codes["student"].values, index_of_key[codes["key"].values],
                                    codes["correct"].values, student_names=list(student_names),
                                    item_index=item_index)
    options = _fingerprint_options(split, csv_file, csv_student_column, csv_skill_column, csv_correct_column,
                                   csv_order_column, csv_delimiter, csv_skill_separator, multi_skill,
                                   min_interactions, csv_item_column)
    return split_into_dataset("csv", sequences, skill_ids, list(skill_ids), "column %s" % csv_skill_column,
                              split, report, stats, fingerprint([raw_bytes], options), item_ids=item_ids,
                              item_label="column %s" % csv_item_column)


def resolve_delimiter(path, delimiter):
    """The field separator: `delimiter` ("tab" / "\\t" -> tab), or from the extension when None or ""."""
    if delimiter in (None, ""):
        return "\t" if os.path.splitext(path)[1].lower() in TAB_EXTENSIONS else ","
    if delimiter.lower() in ("tab", "\\t"):
        return "\t"
    return delimiter


def _read_reference(path, student_column, skill_column, correct_column, order_column, delimiter,
                    skill_separator, multi_skill, item_column=""):
    """(table, report, stats, raw bytes) of read_response_log_reference."""
    check_choice("multi_skill", multi_skill, MULTI_SKILL_CHOICES)
    _check_file(path)
    with open(path, "rb") as handle:
        raw_bytes = handle.read()
    encoding, _ = detect_encoding(raw_bytes)
    separator = resolve_delimiter(path, delimiter)
    mapping = _mapping(student_column, skill_column, correct_column, order_column, item_column)
    table = _read_columns(path, raw_bytes, encoding, separator, mapping)
    log = _Lines(path, encoding, separator)
    report = _first_lines(path, separator, encoding, student_column, skill_column, correct_column,
                          order_column, len(table), item_column)
    stats = {"rows": len(table), "encoding": encoding}
    columns = dict(mapping)
    rows = pd.DataFrame({
        "student": _students(table["student"].values, log, columns["student"]),
        "correct": _answers(table["correct"].values, log, columns["correct"]),
        "row": np.arange(len(table))})
    if item_column:
        rows["item"] = _items(table["item"].values, log, columns["item"])
    if order_column:
        order, order_kind = _order(table["order"].values, log, columns["order"])
        report.append("  order column %s read as %s" % (order_column, order_kind))
    else:
        order = np.arange(len(table))
        report.append("  no order column: file order is the time order")
    rows["order"] = order
    rows = _skill_rows(rows, table["skill"].values, skill_separator, report, stats)
    rows = handle_multi_skill(rows, multi_skill, report, stats, "row", unit="skill entries",
                              collapse_same_key=True)  # "45_45" is one skill
    if len(rows) == 0:
        raise DataError(_nothing_left(path, multi_skill))
    student_texts = sorted(set(rows["student"].values), key=natural_key)
    rank = dict((text, number) for number, text in enumerate(student_texts))
    student_rank = np.array([rank[text] for text in rows["student"].values], dtype=np.int64)
    sort = np.lexsort((rows["position"].values, rows["row"].values, rows["order"].values, student_rank))
    rows = rows.iloc[sort]
    result = pd.DataFrame({"student": rows["student"].values, "skill_id": rows["skill_id"].values,
                           "correct": rows["correct"].values.astype(np.int64)})
    if item_column:
        result["item_id"] = rows["item"].values
    report.append("  %s students, %s interactions" % ("{:,}".format(len(student_texts)),
                                                      "{:,}".format(len(result))))
    return result, report, stats, raw_bytes


def _header(path, encoding, separator, mapping):
    """The column names of the file's header line; DataError for an empty file."""
    try:
        header = pd.read_csv(path, nrows=0, sep=separator, encoding=pandas_encoding(encoding), dtype=str,
                             keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError("%s: the file is empty (expected a header line naming the columns %s)"
                        % (path, ", ".join(column for _, column in mapping)))
    return [str(column) for column in header.columns]


def _check_header(path, found, separator, mapping):
    """DataError listing the columns found when a column of `mapping` is missing."""
    missing = [column for _, column in mapping if column not in found]
    if missing:
        hint = " (the header is one column: is the separator %r right? set CSV_DELIMITER)" % separator \
            if len(found) == 1 else ""
        raise DataError("%s: missing column(s) %s; columns found: %s%s\n  name the columns with "
                        "CSV_STUDENT_COLUMN, CSV_SKILL_COLUMN, CSV_CORRECT_COLUMN, CSV_ORDER_COLUMN, "
                        "CSV_ITEM_COLUMN (or "
                        "--csv_student_column NAME ... on the command line)"
                        % (path, ", ".join(missing), ", ".join(found) or "(none)", hint))


def _read_columns(path, raw_bytes, encoding, separator, mapping):
    """DataFrame with columns student/skill/correct/order as text; DataError listing the columns found."""
    _check_header(path, _header(path, encoding, separator, mapping), separator, mapping)
    read = dict(sep=separator, encoding=pandas_encoding(encoding), dtype=str, keep_default_na=False)
    try:
        table = pd.read_csv(io.BytesIO(raw_bytes), usecols=sorted(set(c for _, c in mapping)), **read)
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError("%s: cannot parse the file: %s" % (path, str(error).strip()))
    return pd.DataFrame(dict((role, np.array([str(value).strip() for value in table[column]], dtype=object))
                             for role, column in mapping))


class _Lines(object):
    """File line number of a data row (found only when an error needs it, by reading the file again as a
    stream: blank lines and quoted line breaks are skipped as pandas skips them)."""

    def __init__(self, path, encoding, separator):
        self.path, self.encoding, self.separator = path, encoding, separator

    def where(self, row, column):
        return "%s:%s (column %s)" % (self.path, self._line(row), column)

    def _line(self, row):
        with io.open(self.path, encoding=pandas_encoding(self.encoding), newline="") as handle:
            reader = csv.reader(handle, delimiter=self.separator)
            record = -1  # the header is record -1
            start_line = 1
            for fields in reader:
                if any(field.strip() for field in fields) or len(fields) > 1:
                    if record == row:
                        return start_line
                    record += 1
                start_line = reader.line_num + 1
        return "?"


def _mapping(student_column, skill_column, correct_column, order_column, item_column):
    """[(role, column name)] of the columns read; DataError when the item column is one of the others."""
    mapping = [("student", student_column), ("skill", skill_column), ("correct", correct_column)] + (
        [("order", order_column)] if order_column else [])
    if item_column:
        taken = dict((column, role) for role, column in mapping)
        if item_column in taken:
            raise DataError("CSV_ITEM_COLUMN names the column %s, which is already the %s column: name the "
                            "column of the item (question) ids, or leave CSV_ITEM_COLUMN empty for none"
                            % (item_column, taken[item_column]))
        mapping.append(("item", item_column))
    return mapping


def _items(values, log, column):
    empty = values == ""
    if empty.any():
        raise DataError("%s: empty item id (%d rows): give every answer its item, or leave CSV_ITEM_COLUMN "
                        "empty to read no items" % (log.where(int(np.argmax(empty)), column),
                                                    int(empty.sum())))
    return values


def _students(values, log, column):
    empty = values == ""
    if empty.any():
        raise DataError("%s: empty student" % log.where(int(np.argmax(empty)), column))
    return values


def _answers(values, log, column):
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").values
    bad = ~np.isin(numbers, (0, 1))
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError("%s: correct must be 0 or 1, got %r (%d bad rows)"
                        % (log.where(row, column), values[row], int(bad.sum())))
    return numbers.astype(np.int64)


def _order(values, log, column):
    """(sortable int64/float64 array, "numbers" | "date-times (UTC)"); DataError naming a bad line.

    The column's format is the first value's: numbers, or ISO 8601 date-times; every value must have it.
    """
    empty = values == ""
    if empty.any():
        raise DataError("%s: empty order value (CSV_ORDER_COLUMN needs a number or a date-time in every "
                        "row)" % log.where(int(np.argmax(empty)), column))
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").values.astype(np.float64)
    infinite = np.isinf(numbers)
    if infinite.any():  # "inf", "-Infinity", "1e999": no place in time, and every sort would put it last
        row = int(np.argmax(infinite))
        raise DataError("%s: order value %r is not a finite number: write the time order as finite numbers "
                        "or ISO 8601 date-times" % (log.where(row, column), values[row]))
    if len(values) and not np.isnan(numbers[0]):
        bad = np.isnan(numbers)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError("%s: order value %r is not a number (the column's first value %r is a number, "
                            "so every value must be)" % (log.where(row, column), values[row], values[0]))
        return numbers.astype(np.float64), "numbers"
    return _iso_microseconds(values, log, column), "date-times (UTC)"


# An ISO 8601 date-time, year first (never ambiguous): 2024-03-01, 2024-03-01T09:15, 2024-03-01 09:15:00.25,
# with an optional zone Z, +01:00 or +0100. Groups: year, month, day, hour, minute, second, fraction, zone.
ISO_DATE_TIME = (r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
                 r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$")


def _iso_microseconds(values, log, column):
    """Microseconds since 1970-01-01 UTC (int64) of ISO 8601 date-times, parsed the same way by every pandas.

    Each value is read in this one format (never guessed row by row, where 02/03 and 13/03 would be read
    month-first and day-first in the same column); DataError with file:line for a value in another format
    or an impossible date or time.
    """
    parts = pd.Series(values).str.extract(ISO_DATE_TIME)
    unmatched = parts[0].isnull().values
    if unmatched.any():
        row = int(np.argmax(unmatched))
        if row == 0:
            raise DataError("%s: cannot parse order value %r as a number or an ISO 8601 date-time (e.g. "
                            "2024-03-01T09:15:00, 2024-03-01 09:15+01:00); dates such as 02/03/2024 are "
                            "ambiguous (day or month first): write the column in ISO 8601 or as numbers"
                            % (log.where(row, column), values[row]))
        raise DataError("%s: cannot parse order value %r as an ISO 8601 date-time like the column's first "
                        "value %r: write every value of the column in one format (e.g. 2024-03-01T09:15:00)"
                        % (log.where(row, column), values[row], values[0]))
    year, month, day, hour, minute, second = (
        pd.to_numeric(parts[index].fillna("0")).values.astype(np.int64) for index in range(6))
    fraction = parts[6].fillna("").str.slice(0, 6).str.pad(6, side="right", fillchar="0")
    micros = pd.to_numeric(fraction.where(fraction != "", "0")).values.astype(np.int64)
    zone = parts[7].fillna("Z").str.replace(":", "", regex=False)
    signs = np.where(zone.str.startswith("-").values, -1, 1)
    zone_minutes = np.where(zone.values == "Z", 0, signs * (
        pd.to_numeric(zone.str.slice(1, 3).where(zone != "Z", "0")).values.astype(np.int64) * 60
        + pd.to_numeric(zone.str.slice(3, 5).where(zone.str.len() == 5, "0")).values.astype(np.int64)))
    first_of_month = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    month_days = ((first_of_month + 1).astype("datetime64[D]")
                  - first_of_month.astype("datetime64[D]")).astype(np.int64)
    valid = ((month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days) & (hour <= 23) & (minute <= 59)
             & (second <= 59))
    if not valid.all():
        row = int(np.argmax(~valid))
        raise DataError("%s: order value %r is not a valid date-time (month 1-12, a day of that month, time "
                        "up to 23:59:59)" % (log.where(row, column), values[row]))
    days = first_of_month.astype("datetime64[D]").astype(np.int64) + day - 1
    seconds = days * 86400 + hour * 3600 + (minute - zone_minutes) * 60 + second
    return seconds * 1000000 + micros


def _skill_rows(rows, skills, skill_separator, report, stats):
    """One row per skill of each cell (with `position` in the cell); rows with an empty cell dropped."""
    if skill_separator:
        cells = [[part.strip() for part in cell.split(skill_separator) if part.strip()] for cell in skills]
    else:
        cells = [[cell] if cell else [] for cell in skills]
    counts = np.array([len(cell) for cell in cells], dtype=np.int64)
    note(report, stats, "no_skill_rows", int((counts == 0).sum()), "rows without a skill dropped")
    expanded = rows.iloc[np.repeat(np.arange(len(rows)), counts)].reset_index(drop=True)
    expanded["skill_id"] = [skill for cell in cells for skill in cell]
    expanded["position"] = np.concatenate([np.arange(count) for count in counts]) if len(counts) else []
    expanded["key"] = pd.factorize(expanded["skill_id"].values)[0]
    return expanded

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
  order_column    when the answer was given: numbers (order ids, seconds) when the first value is a
                  number, else ISO 8601 date-times, year first ("2024-03-01T09:15:00", "2024-03-01 09:15",
                  "2024-03-01", with or without a time zone; all are compared in UTC); every value must
                  have the first value's format (a day/month date such as 02/03/2024 is refused: read row
                  by row it is a guess). Ties keep file order. None or "" = no order column: the file
                  order is the time order.
Bad input raises DataError with file:line: a missing column (lists the columns found), a correct value
that is not 0/1, an order value that does not parse or is not in the column's format.

read_response_log(...) -> (DataFrame[student, skill_id, correct], report lines): the rows grouped by
student (students in natural order: numbers by value, then text) and in time order inside a student;
predict.py reads a history file with it. load_response_log(...) -> Dataset: skill ids indexed in natural
order (names = ids), students with fewer than min_interactions interactions dropped, split by student.
"""
import csv
import io
import os

import numpy as np
import pandas as pd

from data.dataset import DataError, fingerprint
from data.interactions import (MULTI_SKILL_CHOICES, check_choice, check_min_interactions, detect_encoding,
                               drop_short_students, handle_multi_skill, index_keys, natural_key, note,
                               sequences_from_rows, split_into_dataset)

OPTIONS = ("csv_file", "csv_student_column", "csv_skill_column", "csv_correct_column", "csv_order_column",
           "csv_delimiter", "csv_skill_separator", "multi_skill", "min_interactions")
TAB_EXTENSIONS = (".tsv", ".tab", ".txt")


def read_response_log(path, student_column, skill_column, correct_column, order_column, delimiter,
                      skill_separator, multi_skill):
    """(DataFrame with columns student (str), skill_id (str), correct (int 0/1), report lines).

    Rows are grouped by student and in time order inside each student; see the module docstring.
    """
    table, report, _, _ = _read(path, student_column, skill_column, correct_column, order_column, delimiter,
                                skill_separator, multi_skill)
    return table, report


def load_response_log(dataset_dir, seed, valid_fraction, test_fraction, csv_file, csv_student_column,
                      csv_skill_column, csv_correct_column, csv_order_column, csv_delimiter,
                      csv_skill_separator, multi_skill, min_interactions):
    """Read DATASET_DIR/csv_file and split it by student into a Dataset (see module docstring)."""
    min_interactions = check_min_interactions(min_interactions)
    path = os.path.join(dataset_dir, csv_file)
    table, report, stats, raw_bytes = _read(path, csv_student_column, csv_skill_column, csv_correct_column,
                                            csv_order_column, csv_delimiter, csv_skill_separator, multi_skill)
    students, student_names = pd.factorize(table["student"].values)  # already in natural order
    codes = pd.DataFrame({"student": students, "correct": table["correct"].values})
    codes["key"], key_texts = pd.factorize(table["skill_id"].values)
    codes = drop_short_students(codes, min_interactions, report, stats, "student")
    if len(codes) == 0:
        raise DataError("%s: no student has %d interactions or more (min_interactions)"
                        % (path, min_interactions))
    ordered, index_of_key = index_keys(codes["key"].values, list(key_texts))
    skill_ids = [str(key_texts[code]) for code in ordered]
    sequences = sequences_from_rows(codes["student"].values, index_of_key[codes["key"].values],
                                    codes["correct"].values, student_names=list(student_names))
    options = {"seed": seed, "valid_fraction": valid_fraction, "test_fraction": test_fraction,
               "csv_file": csv_file, "csv_student_column": csv_student_column,
               "csv_skill_column": csv_skill_column, "csv_correct_column": csv_correct_column,
               "csv_order_column": csv_order_column, "csv_delimiter": csv_delimiter,
               "csv_skill_separator": csv_skill_separator, "multi_skill": multi_skill,
               "min_interactions": min_interactions}
    return split_into_dataset("csv", sequences, skill_ids, list(skill_ids), "column %s" % csv_skill_column,
                              seed, valid_fraction, test_fraction, report, stats,
                              fingerprint([raw_bytes], options))


def resolve_delimiter(path, delimiter):
    """The field separator: `delimiter` ("tab" / "\\t" -> tab), or from the extension when None or ""."""
    if delimiter in (None, ""):
        return "\t" if os.path.splitext(path)[1].lower() in TAB_EXTENSIONS else ","
    if delimiter.lower() in ("tab", "\\t"):
        return "\t"
    return delimiter


def _read(path, student_column, skill_column, correct_column, order_column, delimiter, skill_separator,
          multi_skill):
    """(table, report, stats, raw bytes) of read_response_log."""
    check_choice("multi_skill", multi_skill, MULTI_SKILL_CHOICES)
    if not os.path.isfile(path):
        raise DataError("response log not found: %s\n  set DATASET_DIR and CSV_FILE to your CSV/TSV file "
                        "(one row per answer)" % path)
    with open(path, "rb") as handle:
        raw_bytes = handle.read()
    encoding, _ = detect_encoding(raw_bytes)
    separator = resolve_delimiter(path, delimiter)
    mapping = [("student", student_column), ("skill", skill_column), ("correct", correct_column)] + (
        [("order", order_column)] if order_column else [])
    table = _read_columns(path, raw_bytes, encoding, separator, mapping)
    log = _Lines(path, raw_bytes, encoding, separator)
    report = ["data: csv, %s" % path,
              "  %s-separated, %s; columns: student=%s, skill=%s, correct=%s, order=%s"
              % ("tab" if separator == "\t" else repr(separator), encoding, student_column, skill_column,
                 correct_column, order_column or "(file order)"),
              "  rows read: %s" % "{:,}".format(len(table))]
    stats = {"rows": len(table), "encoding": encoding}
    columns = dict(mapping)
    rows = pd.DataFrame({
        "student": _students(table["student"].values, log, columns["student"]),
        "correct": _answers(table["correct"].values, log, columns["correct"]),
        "row": np.arange(len(table))})
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
        raise DataError("%s: no rows left after dropping rows without a skill and (multi_skill=%r) "
                        "multi-skill answers" % (path, multi_skill))
    student_texts = sorted(set(rows["student"].values), key=natural_key)
    rank = dict((text, number) for number, text in enumerate(student_texts))
    student_rank = np.array([rank[text] for text in rows["student"].values], dtype=np.int64)
    sort = np.lexsort((rows["position"].values, rows["row"].values, rows["order"].values, student_rank))
    rows = rows.iloc[sort]
    result = pd.DataFrame({"student": rows["student"].values, "skill_id": rows["skill_id"].values,
                           "correct": rows["correct"].values.astype(np.int64)})
    report.append("  %s students, %s interactions" % ("{:,}".format(len(student_texts)),
                                                      "{:,}".format(len(result))))
    return result, report, stats, raw_bytes


def _read_columns(path, raw_bytes, encoding, separator, mapping):
    """DataFrame with columns student/skill/correct/order as text; DataError listing the columns found."""
    pandas_encoding = "utf-8-sig" if encoding == "UTF-8" else "latin-1"
    read = dict(sep=separator, encoding=pandas_encoding, dtype=str, keep_default_na=False)
    try:
        header = pd.read_csv(io.BytesIO(raw_bytes), nrows=0, **read)
    except pd.errors.EmptyDataError:
        raise DataError("%s: the file is empty (expected a header line naming the columns %s)"
                        % (path, ", ".join(column for _, column in mapping)))
    found = [str(column) for column in header.columns]
    missing = [column for _, column in mapping if column not in found]
    if missing:
        hint = " (the header is one column: is the separator %r right? set CSV_DELIMITER)" % separator \
            if len(found) == 1 else ""
        raise DataError("%s: missing column(s) %s; columns found: %s%s\n  name the columns with "
                        "CSV_STUDENT_COLUMN, CSV_SKILL_COLUMN, CSV_CORRECT_COLUMN, CSV_ORDER_COLUMN (or "
                        "--csv_student_column NAME ... on the command line)"
                        % (path, ", ".join(missing), ", ".join(found) or "(none)", hint))
    try:
        table = pd.read_csv(io.BytesIO(raw_bytes), usecols=sorted(set(c for _, c in mapping)), **read)
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError("%s: cannot parse the file: %s" % (path, str(error).strip()))
    return pd.DataFrame(dict((role, np.array([str(value).strip() for value in table[column]], dtype=object))
                             for role, column in mapping))


class _Lines(object):
    """File line number of a data row (found only when an error needs it: blank lines and quoted line
    breaks are skipped as pandas skips them)."""

    def __init__(self, path, raw_bytes, encoding, separator):
        self.path, self.raw_bytes, self.encoding, self.separator = path, raw_bytes, encoding, separator

    def where(self, row, column):
        return "%s:%s (column %s)" % (self.path, self._line(row), column)

    def _line(self, row):
        text = self.raw_bytes.decode("utf-8-sig" if self.encoding == "UTF-8" else "latin-1")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.separator)
        record = -1  # the header is record -1
        start_line = 1
        for fields in reader:
            if any(field.strip() for field in fields) or len(fields) > 1:
                if record == row:
                    return start_line
                record += 1
            start_line = reader.line_num + 1
        return "?"


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
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").values
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

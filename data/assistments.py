"""The raw ASSISTments 2009-2010 skill builder CSV (one row per answer), split by student.

File: DATASET_DIR/skill_builder_data.csv (also accepted: skill_builder_data_corrected.csv,
skill_builder_data_collapsed.csv, skill_builder_data_corrected_collapsed.csv), from the ASSISTments
site (sites.google.com/site/assistmentsdata, "2009-2010 ASSISTment Data", skill builder data).
Columns used: order_id (chronological order), user_id, skill_id, skill_name, correct (0/1); the others
(and a leading unnamed index column, present in some copies) are ignored.
Encoding: UTF-8 when the bytes are valid UTF-8 (some copies are re-saved so), else ISO-8859-1 (the
original); the report says which.

Steps, in this order (the report counts each):
1. rows without a skill_id are dropped. Skill ids read as floats ("311.0") are taken as "311".
2. repeated (order_id, skill_id) rows are dropped: the original file repeats records (same attempt, same
   skill, same answer, differing only in `opportunity`); they are copies, not attempts.
3. multi-skill attempts (one order_id tagged with several skills, one row per skill, same answer) are
   handled by the option `multi_skill`:
     "first" (default): keep the first skill row of the attempt (file order), one step per attempt;
     "drop":            drop the whole attempt;
     "expand":          keep one step per skill, consecutively. LEAKY: the 2nd row of an attempt sees the
                        answer of the 1st, which inflates AUC; only for comparing with papers that did it.
   "first" and "drop" never let a row of an attempt see that attempt's answer.
4. each user's rows are ordered by order_id (ties keep file order); students are split (seeded) by
   valid_fraction / test_fraction.

Option `skill_key`: "skill_id" (default) or "skill_name" (one skill per name: merges the two ids of
"Absolute Value"; rows with an empty name use their id). Skills are indexed in increasing id (or name)
order. Dataset.skill_names falls back to the id where the name is empty (11 ids in the original).
"""
import io
import os
import re

import numpy as np
import pandas as pd

from data.dataset import DataError, Dataset, fingerprint, make_sequence, split_stats, split_summary_lines
from data.sequences import split_by_student

FILE_NAMES = ("skill_builder_data.csv", "skill_builder_data_corrected.csv",
              "skill_builder_data_collapsed.csv", "skill_builder_data_corrected_collapsed.csv")
REQUIRED_COLUMNS = ("order_id", "user_id", "skill_id", "skill_name", "correct")
MULTI_SKILL_CHOICES = ("first", "drop", "expand")
SKILL_KEY_CHOICES = ("skill_id", "skill_name")
OPTIONS = {"skill_key": "skill_id", "multi_skill": "first"}


def load_assistments(dataset_dir, seed=0, valid_fraction=0.2, test_fraction=0.2, skill_key="skill_id",
                     multi_skill="first"):
    """Read, clean and split the raw CSV (see module docstring)."""
    _check_choice("skill_key", skill_key, SKILL_KEY_CHOICES)
    _check_choice("multi_skill", multi_skill, MULTI_SKILL_CHOICES)
    path = find_file(dataset_dir)
    raw_bytes = _read_bytes(path)
    encoding, encoding_why = detect_encoding(raw_bytes)
    table = read_table(path, raw_bytes, encoding)
    report = ["data: assistments, %s" % path,
              "  encoding: %s (%s)" % (encoding, encoding_why),
              "  rows read: %s" % "{:,}".format(len(table))]
    stats = {"rows": len(table), "encoding": encoding}
    codes, key_texts, name_texts = clean(table, path, skill_key, multi_skill, report, stats)
    skill_ids, skill_names, skill_index = index_skills(codes, key_texts, name_texts)
    sequences = build_sequences(codes, skill_index)
    splits = list(zip(("train", "valid", "test"),
                      split_by_student(sequences, seed, valid_fraction, test_fraction)))
    report += ["  students: %s, interactions: %s, skills: %d (keyed by %s)"
               % ("{:,}".format(len(sequences)), "{:,}".format(len(codes)), len(skill_ids), skill_key),
               "  split by student (seed %d, valid %s, test %s):" % (seed, valid_fraction, test_fraction)]
    report += split_summary_lines(splits)
    stats.update(split_stats(splits))
    stats.update({"students": len(sequences), "interactions": len(codes), "n_skills": len(skill_ids)})
    options = {"seed": seed, "valid_fraction": valid_fraction, "test_fraction": test_fraction,
               "skill_key": skill_key, "multi_skill": multi_skill}
    return Dataset("assistments", len(skill_ids), skill_ids, skill_names, None, splits[0][1], splits[1][1],
                   splits[2][1], report, fingerprint([raw_bytes], options), stats)


def _check_choice(option, value, choices):
    if value not in choices:
        raise DataError("option %s=%r is not one of %s" % (option, value, ", ".join(map(repr, choices))))


def find_file(dataset_dir):
    """Path of the first accepted file name in dataset_dir; DataError saying where to get it otherwise."""
    candidates = [os.path.join(dataset_dir, file_name) for file_name in FILE_NAMES]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise DataError(
        "ASSISTments file not found: looked for %s\n  expected the raw ASSISTments 2009-2010 skill builder "
        "CSV (one row per answer, columns order_id, user_id, skill_id, skill_name, correct, ...) in "
        "DATASET_DIR=%s; download 'skill_builder_data.csv' (2009-2010 ASSISTment Data) from the ASSISTments "
        "site (sites.google.com/site/assistmentsdata) and put it there."
        % (" or ".join(candidates), dataset_dir))


def _read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def detect_encoding(raw_bytes):
    """("UTF-8" | "ISO-8859-1", why): UTF-8 when the bytes decode as UTF-8, else latin-1 (never fails)."""
    try:
        raw_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        return "ISO-8859-1", "not valid UTF-8: byte 0x%02x at offset %d" % (
            raw_bytes[error.start], error.start)
    return "UTF-8", "the bytes are valid UTF-8"


def read_table(path, raw_bytes, encoding):
    """The needed columns as a DataFrame; DataError listing missing columns (and those found)."""
    pandas_encoding = "utf-8-sig" if encoding == "UTF-8" else "latin-1"
    try:
        header = pd.read_csv(io.BytesIO(raw_bytes), nrows=0, encoding=pandas_encoding)
    except pd.errors.EmptyDataError:
        raise DataError("%s: the file is empty (expected a CSV header with %s)" % (
            path, ", ".join(REQUIRED_COLUMNS)))
    found = [str(column) for column in header.columns]
    missing = [column for column in REQUIRED_COLUMNS if column not in found]
    if missing:
        raise DataError("%s: missing column(s) %s; columns found: %s" % (
            path, ", ".join(missing), ", ".join(found) or "(none)"))
    try:
        return pd.read_csv(io.BytesIO(raw_bytes), usecols=list(REQUIRED_COLUMNS), encoding=pandas_encoding,
                           dtype={"skill_id": object, "skill_name": object}, low_memory=False)
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError("%s: cannot parse the CSV: %s" % (path, str(error).strip()))


def clean(table, path, skill_key, multi_skill, report, stats):
    """Steps 1-3 of the module docstring on integer-coded columns.

    Returns (rows kept as a DataFrame of ints ordered by (user_id, order_id), skill key texts): column
    `skill` codes the normalised skill_id, `key` codes the skill key (an index into the key texts), `name`
    codes the stripped skill_name (-1 when empty).
    """
    codes = _numeric_columns(table, path)
    codes["skill"], skill_texts = _text_codes(table["skill_id"], _normalise_skill_id)
    codes["name"], name_texts = _text_codes(table["skill_name"], lambda text: text.strip())
    codes["row"] = np.arange(len(table))  # data row, for a stable order
    codes = pd.DataFrame(codes)
    has_skill = codes["skill"].values >= 0
    codes = codes[has_skill]
    _note(report, stats, "no_skill_rows", int((~has_skill).sum()), "rows without a skill_id dropped")
    copies = codes.duplicated(subset=["order_id", "skill"]).values
    codes = codes[~copies]
    _note(report, stats, "duplicate_rows", int(copies.sum()),
          "repeated (order_id, skill_id) rows dropped (copies of one record)")
    codes["key"], key_texts = _skill_keys(codes, skill_key, skill_texts, name_texts)
    codes = _handle_multi_skill(codes, multi_skill, report, stats)
    if len(codes) == 0:
        raise DataError("%s: no rows left after dropping rows without a skill, copies and (multi_skill=%r) "
                        "multi-skill attempts" % (path, multi_skill))
    order = np.lexsort((codes["row"].values, codes["order_id"].values, codes["user_id"].values))
    return codes.iloc[order], key_texts, name_texts


def _note(report, stats, key, count, text):
    stats[key] = count
    report.append("  %s %s" % ("{:,}".format(count), text))


def _numeric_columns(table, path):
    """{column: int64 array} of order_id / user_id / correct; DataError naming the first bad row."""
    columns = {}
    for column in ("order_id", "user_id", "correct"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna().values
        if column == "correct":
            bad = bad | ~np.isin(values.values, (0, 1))
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError("%s: data row %d (of %d bad): column %s: %r is not %s" % (
                path, row + 1, int(bad.sum()), column, table[column].iloc[row],
                "0 or 1" if column == "correct" else "a number"))
        columns[column] = values.values.astype(np.int64)
    return columns


def _text_codes(column, normalise):
    """(code of each row, texts): equal normalised texts share a code; missing or empty text -> -1.

    Normalising the few distinct values instead of every row keeps this fast on 500k rows.
    """
    raw_codes, uniques = pd.factorize(column)
    normalised = [normalise(str(value)) for value in uniques]
    texts = sorted(set(text for text in normalised if text))
    code_of_text = dict((text, code) for code, text in enumerate(texts))
    unique_to_code = np.array([code_of_text.get(text, -1) for text in normalised] + [-1], dtype=np.int64)
    return unique_to_code[raw_codes], texts  # raw code -1 (missing) picks the trailing -1


def _normalise_skill_id(text):
    text = text.strip()
    return re.sub(r"\.0+$", "", text)  # read as float: "311.0" is skill 311


def _skill_keys(codes, skill_key, skill_texts, name_texts):
    """(key code of each row, key texts): the skill_id, or the skill_name (the id where it is empty)."""
    skill_codes = codes["skill"].values
    if skill_key == "skill_id":
        return skill_codes, skill_texts
    pairs, pair_uniques = pd.factorize(skill_codes * (len(name_texts) + 1) + codes["name"].values + 1)
    pair_texts = []
    for pair in pair_uniques:
        skill_code, name_code = divmod(int(pair), len(name_texts) + 1)
        pair_texts.append(name_texts[name_code - 1] if name_code else skill_texts[skill_code])
    key_texts = sorted(set(pair_texts))
    code_of_text = dict((text, code) for code, text in enumerate(key_texts))
    return np.array([code_of_text[text] for text in pair_texts], dtype=np.int64)[pairs], key_texts


def _handle_multi_skill(codes, multi_skill, report, stats):
    """Apply the multi_skill option to attempts (order_ids) with several skill rows."""
    if multi_skill == "expand":  # skill_name key: two ids of one name give one step, not two
        codes = codes[~codes.duplicated(subset=["order_id", "key"]).values]
    rows_per_attempt = codes.groupby("order_id")["order_id"].transform("size").values
    in_multi = rows_per_attempt > 1
    n_attempts = len(np.unique(codes["order_id"].values[in_multi]))
    stats["multi_skill_attempts"] = n_attempts
    stats["multi_skill_rows"] = int(in_multi.sum())
    if multi_skill == "first":
        keep = ~codes.duplicated(subset=["order_id"]).values
        text = "kept the first skill row of each, dropped %s rows" % "{:,}".format(int((~keep).sum()))
    elif multi_skill == "drop":
        keep = ~in_multi
        text = "dropped them (%s rows)" % "{:,}".format(int(in_multi.sum()))
    else:
        keep = np.ones(len(codes), dtype=bool)
        text = "kept one step per skill (LEAKY: later rows see the attempt's answer)"
    stats["multi_skill_dropped_rows"] = int((~keep).sum())
    report.append("  %s multi-skill attempts (%s rows), multi_skill=%r: %s" % (
        "{:,}".format(n_attempts), "{:,}".format(int(in_multi.sum())), multi_skill, text))
    return codes[keep]


def index_skills(codes, key_texts, name_texts):
    """(skill ids as text, skill names, skill index of each row), indices in increasing id/name order.

    Only keys still present after cleaning get an index. The name of a skill is the first non-empty
    skill_name of its rows (file order), else its id.
    """
    present = np.unique(codes["key"].values)
    ordered = sorted(present.tolist(), key=lambda code: _natural_key(key_texts[code]))
    index_of_key = np.full(len(key_texts), -1, dtype=np.int32)
    index_of_key[ordered] = np.arange(len(ordered))
    skill_index = index_of_key[codes["key"].values]
    skill_ids = [key_texts[code] for code in ordered]
    return skill_ids, _first_names(codes, skill_index, skill_ids, name_texts), skill_index


def _first_names(codes, skill_index, skill_ids, name_texts):
    named = codes["name"].values >= 0
    in_file_order = np.argsort(codes["row"].values[named], kind="mergesort")
    indices = skill_index[named][in_file_order]
    names = codes["name"].values[named][in_file_order]
    _, first = np.unique(indices, return_index=True)
    name_of_index = dict(zip(indices[first].tolist(), names[first].tolist()))
    return [name_texts[name_of_index[i]] if i in name_of_index else skill_ids[i]
            for i in range(len(skill_ids))]


def _natural_key(text):
    """Numbers first, by value; other text after, alphabetically."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def build_sequences(codes, skill_index):
    """One Sequence per user (rows already ordered by user_id, order_id), in increasing user_id order."""
    users = codes["user_id"].values
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(users)]
    answers = codes["correct"].values
    return [make_sequence(str(users[start]), skill_index[start:end], answers[start:end])
            for start, end in zip(starts, ends)]

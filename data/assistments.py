"""The raw ASSISTments 2009-2010 skill builder CSV (one row per answer), split by student.

File: DATASET_DIR/skill_builder_data.csv (also accepted: skill_builder_data_corrected.csv,
skill_builder_data_collapsed.csv, skill_builder_data_corrected_collapsed.csv), from the ASSISTments
site (sites.google.com/site/assistmentsdata, "2009-2010 ASSISTment Data", skill builder data).
Columns used: order_id (chronological order), user_id, skill_id, skill_name, correct (0/1), and
problem_id (with skill_key="problem_id") and original (with main_problems_only=True); the others (and a
leading unnamed index column, present in some copies) are ignored.
Encoding: UTF-8 when the bytes are valid UTF-8 (some copies are re-saved so), else ISO-8859-1 (the
original); the report says which.

Steps, in this order (the report counts each):
0. with main_problems_only=True (False keeps all), rows with original != 1 are dropped: original
   is 1 for a main problem and 0 for a scaffolding question (a hint step shown after a wrong answer).
1. rows without a skill_id are dropped. Skill ids read as floats ("311.0") are taken as "311".
2. repeated (order_id, skill_id) rows are dropped: the original file repeats records (same attempt, same
   skill, same answer, differing only in `opportunity`); they are copies, not attempts.
3. multi-skill attempts (one order_id tagged with several skills, one row per skill, same answer) are
   handled by the option `multi_skill`:
     "first":           keep the first skill row of the attempt (file order), one step per attempt;
     "drop":            drop the whole attempt;
     "expand":          keep one step per skill, consecutively. LEAKY: the 2nd row of an attempt sees the
                        answer of the 1st, which inflates AUC; only for comparing with papers that did it.
   "first" and "drop" never let a row of an attempt see that attempt's answer.
4. with min_interactions > 1 (1 keeps all), students with fewer interactions (after step 3) are
   dropped.
5. each user's rows are ordered by order_id (ties keep file order); students are split as the split
   options say (data/sequences.py).

Option `skill_key`: "skill_id", "skill_name" (one skill per name: merges the two ids of
"Absolute Value"; rows with an empty name use their id) or "problem_id" (one "skill" per problem, i.e.
item-level; an attempt is one problem, so multi-skill attempts are one step whatever multi_skill says;
rows without a skill_id are still dropped in step 1, so every key sees the same attempts). Skills are
indexed in increasing id (or name) order. Dataset.skill_names falls back to the id where the name is
empty (11 ids in the original); with "problem_id" the names are the problem ids.
Items: with skill_key "skill_id" or "skill_name", the problem_id of each answer is its item (Dataset.item_ids,
Sequence.items), read beside the skill by the models that use items (IRT, Best-LR), when the file has a
problem_id column and every kept row has one (the report says so, or why not); with "problem_id" the
problem is the skill and there is no separate item.
The options' values come from main.py's constants; main_problems_only and min_interactions enter the data
fingerprint only when they drop rows (so older runs keep theirs).
"""
import io
import os
import re

import numpy as np
import pandas as pd

from data.dataset import DataError, check_text_encoding, fingerprint
from data.interactions import (MULTI_SKILL_CHOICES, check_choice, check_min_interactions, detect_encoding,
                               drop_short_students, handle_multi_skill, index_keys, note,
                               sequences_from_rows, split_into_dataset)
from data.sequences import split_fingerprint_options

FILE_NAMES = ("skill_builder_data.csv", "skill_builder_data_corrected.csv",
              "skill_builder_data_collapsed.csv", "skill_builder_data_corrected_collapsed.csv")
REQUIRED_COLUMNS = ("order_id", "user_id", "skill_id", "skill_name", "correct")
SKILL_KEY_CHOICES = ("skill_id", "skill_name", "problem_id")
OPTIONS = ("skill_key", "multi_skill", "main_problems_only", "min_interactions")


def load_assistments(dataset_dir, split, skill_key, multi_skill, main_problems_only, min_interactions):
    """Read, clean and split the raw CSV (see module docstring)."""
    check_choice("skill_key", skill_key, SKILL_KEY_CHOICES)
    check_choice("multi_skill", multi_skill, MULTI_SKILL_CHOICES)
    check_choice("main_problems_only", main_problems_only, (False, True))
    min_interactions = check_min_interactions(min_interactions)
    path = find_file(dataset_dir)
    raw_bytes = _read_bytes(path)
    check_text_encoding(path, raw_bytes[:64])
    encoding, encoding_why = detect_encoding(raw_bytes)
    columns = list(REQUIRED_COLUMNS) + (["problem_id"] if skill_key == "problem_id" else []) + (
        ["original"] if main_problems_only else [])
    table = read_table(path, raw_bytes, encoding, columns,
                       optional=("problem_id",) if skill_key != "problem_id" else ())
    report = ["data: assistments, %s" % path,
              "  encoding: %s (%s)" % (encoding, encoding_why),
              "  rows read: %s" % "{:,}".format(len(table))]
    stats = {"rows": len(table), "encoding": encoding}
    codes, key_texts, name_texts = clean(table, path, skill_key, multi_skill, report, stats,
                                         main_problems_only, min_interactions)
    skill_ids, skill_names, skill_index = index_skills(codes, key_texts, name_texts,
                                                       use_names=skill_key != "problem_id")
    # with skill_key "problem_id" the problem is the skill: no separate item
    item_ids, item_index = index_items(codes, None if skill_key == "problem_id" else problem_texts(table),
                                       report)
    sequences = build_sequences(codes, skill_index, item_index)
    options = dict(split_fingerprint_options(split), skill_key=skill_key, multi_skill=multi_skill)
    # The two filters enter the fingerprint only when they are on, so that a run without them keeps the
    # fingerprint it had before they existed (and can still be resumed).
    if main_problems_only:
        options["main_problems_only"] = True
    if min_interactions > 1:
        options["min_interactions"] = min_interactions
    return split_into_dataset("assistments", sequences, skill_ids, skill_names, skill_key, split, report,
                              stats, fingerprint([raw_bytes], options), item_ids=item_ids,
                              item_label="problem_id")


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


def read_table(path, raw_bytes, encoding, columns=REQUIRED_COLUMNS, optional=()):
    """The needed columns, and those of `optional` that the header has, as a DataFrame; DataError listing
    missing columns (and those found)."""
    pandas_encoding = "utf-8-sig" if encoding == "UTF-8" else "latin-1"
    try:
        header = pd.read_csv(io.BytesIO(raw_bytes), nrows=0, encoding=pandas_encoding)
    except pd.errors.EmptyDataError:
        raise DataError("%s: the file is empty (expected a CSV header with %s)" % (
            path, ", ".join(columns)))
    found = [str(column) for column in header.columns]
    missing = [column for column in columns if column not in found]
    if missing:
        raise DataError("%s: missing column(s) %s; columns found: %s" % (
            path, ", ".join(missing), ", ".join(found) or "(none)"))
    columns = list(columns) + [column for column in optional if column in found and column not in columns]
    try:
        return pd.read_csv(io.BytesIO(raw_bytes), usecols=columns, encoding=pandas_encoding,
                           dtype={"skill_id": object, "skill_name": object, "problem_id": object},
                           low_memory=False)
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError("%s: cannot parse the CSV: %s" % (path, str(error).strip()))


def clean(table, path, skill_key, multi_skill, report, stats, main_problems_only=False, min_interactions=1):
    """Steps 0-4 of the module docstring on integer-coded columns.

    Returns (rows kept as a DataFrame of ints ordered by (user_id, order_id), skill key texts): column
    `skill` codes the normalised skill_id, `key` codes the skill key (an index into the key texts), `name`
    codes the stripped skill_name (-1 when empty).
    """
    codes = _numeric_columns(table, path)
    codes["skill"], skill_texts = _text_codes(table["skill_id"], _normalise_skill_id)
    codes["name"], name_texts = _text_codes(table["skill_name"], lambda text: text.strip())
    if "problem_id" in table.columns:
        codes["problem"], _ = _text_codes(table["problem_id"], _normalise_skill_id)
    codes["row"] = np.arange(len(table))  # data row, for a stable order
    codes = pd.DataFrame(codes)
    if main_problems_only:
        original = pd.to_numeric(table["original"], errors="coerce").values
        main_rows = original == 1
        codes = codes[main_rows]
        note(report, stats, "scaffolding_rows", int((~main_rows).sum()),
             "rows with original != 1 (scaffolding) dropped (main_problems_only)")
    has_skill = codes["skill"].values >= 0
    codes = codes[has_skill]
    note(report, stats, "no_skill_rows", int((~has_skill).sum()), "rows without a skill_id dropped")
    copies = codes.duplicated(subset=["order_id", "skill"]).values
    codes = codes[~copies]
    note(report, stats, "duplicate_rows", int(copies.sum()),
         "repeated (order_id, skill_id) rows dropped (copies of one record)")
    if skill_key == "problem_id":
        has_problem = codes["problem"].values >= 0
        if not has_problem.all():
            note(report, stats, "no_problem_rows", int((~has_problem).sum()),
                 "rows without a problem_id dropped")
        codes = codes[has_problem]
        codes["key"], key_texts = codes["problem"].values, problem_texts(table)
    else:
        codes["key"], key_texts = _skill_keys(codes, skill_key, skill_texts, name_texts)
    codes = handle_multi_skill(codes, multi_skill, report, stats, "order_id",
                               collapse_same_key=skill_key == "problem_id")
    codes = drop_short_students(codes, min_interactions, report, stats, "user_id")
    if len(codes) == 0:
        raise DataError("%s: no rows left after dropping rows without a skill, copies, (multi_skill=%r) "
                        "multi-skill attempts%s%s" % (
                            path, multi_skill, ", scaffolding rows" if main_problems_only else "",
                            ", students with < %d interactions" % min_interactions
                            if min_interactions > 1 else ""))
    order = np.lexsort((codes["row"].values, codes["order_id"].values, codes["user_id"].values))
    return codes.iloc[order], key_texts, name_texts


def problem_texts(table):
    """The normalised problem ids that clean's `problem` codes index, or None without a problem_id column."""
    if "problem_id" not in table.columns:
        return None
    return _text_codes(table["problem_id"], _normalise_skill_id)[1]


def index_items(codes, texts, report):
    """(item ids in natural order, item index of each row), or (None, None) without items (`texts` None) or
    when a kept row has no problem_id (said in the report: the items would leave answers out)."""
    if texts is None or "problem" not in codes:
        return None, None
    missing = int((codes["problem"].values < 0).sum())
    if missing:
        report.append("  items: none (%s kept rows have no problem_id; the models read the skill alone)"
                      % "{:,}".format(missing))
        return None, None
    ordered, index_of_problem = index_keys(codes["problem"].values, texts)
    return [texts[code] for code in ordered], index_of_problem[codes["problem"].values]


def _numeric_columns(table, path):
    """{column: int64 array} of order_id / user_id / correct; DataError naming the first bad row."""
    columns = {}
    for column in ("order_id", "user_id", "correct"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.values.astype(np.float64))  # "inf" is a number, but no id or order
        if column == "correct":
            bad = bad | ~np.isin(values.values, (0, 1))
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError("%s: data row %d (of %d bad): column %s: %r is not %s" % (
                path, row + 1, int(bad.sum()), column, str(table[column].iloc[row]),
                "0 or 1" if column == "correct" else "a finite number"))
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


def index_skills(codes, key_texts, name_texts, use_names=True):
    """(skill ids as text, skill names, skill index of each row), indices in increasing id/name order.

    Only keys still present after cleaning get an index. The name of a skill is the first non-empty
    skill_name of its rows (file order), else its id (always the id when not use_names).
    """
    ordered, index_of_key = index_keys(codes["key"].values, key_texts)
    skill_index = index_of_key[codes["key"].values]
    skill_ids = [key_texts[code] for code in ordered]
    if not use_names:
        return skill_ids, list(skill_ids), skill_index
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


def build_sequences(codes, skill_index, item_index=None):
    """One Sequence per user (rows already ordered by user_id, order_id), in increasing user_id order."""
    return sequences_from_rows(codes["user_id"].values, skill_index, codes["correct"].values,
                               item_index=item_index)

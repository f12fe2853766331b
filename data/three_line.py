"""Three-line files (the DKVMN / DKT papers' format), already split into train / valid / test.

Files: DATASET_DIR/<name>_train<fold>.csv, <name>_valid<fold>.csv and <name>_test.csv. Per student:

    line 1: number of interactions, e.g. 3
    line 2: comma-separated skill (question) ids, e.g. 12,7,12
    line 3: comma-separated 0/1 answers, e.g. 1,0,1

Tolerated: CRLF line ends, trailing commas, blank lines, ids starting at 0 (DKT files) or 1 (DKVMN files).
The base is detected over all three files (any id 0 -> 0-based), skill index = id - base and n_skills =
largest index + 1 over all three files, so the mapping is the same in every split. Ids above MAX_SKILL_ID are
an error: the ids index the model's embeddings directly, one row per id up to the largest.

Optional side files in DATASET_DIR:
  <name>_sname_sid      lines "skill name<TAB>id" -> Dataset.skill_names (else the id as text)
  cluster_info_<v>      when name ends in _v<v>: first line = python list of the 0-based concept of
                        questions 1..50 (list position k = skill index k) -> Dataset.true_concepts
Student ids are "<split file suffix>-<n>", e.g. "train1-17" = 17th student of the train1 file.
The files come from the DKVMN authors' repository (github.com/jennyzhang0215/DKVMN, folder data/).
"""
import ast
import os
import re

import numpy as np

from data.dataset import (DataError, Dataset, check_text_encoding, fingerprint, make_sequence, split_stats,
                          split_summary_lines)

# The largest skill id accepted: an id indexes the embeddings (n_skills = largest id + 1), so 10^6 ids already
# mean a DKVMN value embedding of 2 * 10^6 rows; a stray 99999999999 would otherwise be 10^11 rows.
MAX_SKILL_ID = 10 ** 6

SOURCE_HINT = ("three-line files come from the DKVMN authors' repository github.com/jennyzhang0215/DKVMN "
               "(folder data/, e.g. data/assist2009_updated/)")


def load_three_line(name, dataset_dir, fold):
    """Read the three split files of `name` (see module docstring) into a Dataset."""
    paths = split_paths(name, dataset_dir, fold)
    parsed = [(split, path, read_students(path)) for split, path in paths]
    base = 0 if any(_min_id(students) == 0 for _, _, students in parsed) else 1
    n_skills = 1 + max(_max_id(students) for _, _, students in parsed) - base
    skill_ids = [str(index + base) for index in range(n_skills)]
    splits = [(split_name, _to_sequences(label, students, base))
              for split_name, (label, _, students) in zip(("train", "valid", "test"), parsed)]
    names, names_line = _skill_names(name, dataset_dir, skill_ids)
    concepts, concepts_line = _true_concepts(name, dataset_dir, n_skills)
    report = (["data: %s, fold %d, three-line files in %s" % (name, fold, dataset_dir),
               "  ids are %d-based (skill index = id - %d); %d skills" % (base, base, n_skills),
               names_line, concepts_line]
              + ["  file %s: %s (%s students)" % (label, path, "{:,}".format(len(students)))
                 for label, path, students in parsed]
              + split_summary_lines(splits))
    stats = split_stats(splits)
    stats.update({"n_skills": n_skills, "id_base": base})
    file_parts = [open(path, "rb").read() for _, path in paths]
    return Dataset(name, n_skills, skill_ids, names, concepts, splits[0][1], splits[1][1], splits[2][1],
                   report, fingerprint(file_parts, {"name": name, "fold": fold}), stats)


def split_paths(name, dataset_dir, fold):
    """[(split label, path)] of the three files; DataError naming the missing one and the layout."""
    labels = ["train%d" % fold, "valid%d" % fold, "test"]
    paths = [(label, os.path.join(dataset_dir, "%s_%s.csv" % (name, label))) for label in labels]
    for _, path in paths:
        if not os.path.isfile(path):
            raise DataError(
                "data set %r: file not found: %s\n  expected three-line files %s_train%d.csv, "
                "%s_valid%d.csv and %s_test.csv in DATASET_DIR (%s); %s. (DATASET='synthetic' needs no "
                "file, DATASET='assistments' reads the raw ASSISTments CSV.)"
                % (name, path, name, fold, name, fold, name, dataset_dir, SOURCE_HINT))
    return paths


def read_students(path):
    """[(line number of the count, ids array, answers array)] of one three-line file."""
    with open(path, "rb") as handle:
        raw_bytes = handle.read()
    check_text_encoding(path, raw_bytes[:64])
    text = raw_bytes.decode("latin-1")  # ids are ASCII; latin-1 never fails, errors show below
    numbered = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)]
    numbered = [(number, line) for number, line in numbered if line]  # blank lines are tolerated
    students = []
    for start in range(0, len(numbered), 3):
        record = numbered[start:start + 3]
        if len(record) < 3:
            raise DataError("%s:%d: incomplete student record: a count line must be followed by an ids "
                            "line and an answers line" % (path, record[0][0]))
        students.append(_parse_record(path, record))
    if not students:
        raise DataError("%s: no students in the file (it is empty or blank)" % path)
    return students


def _parse_record(path, record):
    (count_line, count_text), (ids_line, ids_text), (answers_line, answers_text) = record
    count_fields = _fields(path, count_line, count_text, "count")
    if len(count_fields) != 1 or count_fields[0] < 1:
        raise DataError("%s:%d: expected the number of interactions (one positive integer), got %r"
                        % (path, count_line, count_text))
    count = count_fields[0]
    ids = _fields(path, ids_line, ids_text, "skill id")
    answers = _fields(path, answers_line, answers_text, "answer")
    for line, values, what in ((ids_line, ids, "ids"), (answers_line, answers, "answers")):
        if len(values) != count:
            raise DataError("%s:%d: count says %d (line %d) but there are %d %s"
                            % (path, line, count, count_line, len(values), what))
    if min(ids) < 0 or max(ids) > MAX_SKILL_ID:
        column, skill_id = next((c, i) for c, i in enumerate(ids, 1) if not 0 <= i <= MAX_SKILL_ID)
        if skill_id < 0:
            raise DataError("%s:%d:%d: negative skill id %d" % (path, ids_line, column, skill_id))
        raise DataError("%s:%d:%d: skill id %d is above %d, the largest allowed: ids index the model's "
                        "embeddings directly (one row per id up to the largest); renumber the skills 1..N"
                        % (path, ids_line, column, skill_id, MAX_SKILL_ID))
    if not set(answers) <= {0, 1}:
        column, answer = next((c, a) for c, a in enumerate(answers, 1) if a not in (0, 1))
        raise DataError("%s:%d:%d: answer must be 0 or 1, got %d" % (path, answers_line, column, answer))
    return count_line, np.array(ids, dtype=np.int64), np.array(answers, dtype=np.int64)


def _fields(path, line_number, text, what):
    """Integers (Python ints: any size, checked by the caller before they become int64) of one
    comma-separated line (trailing commas dropped); DataError with file:line:column."""
    fields = [field.strip() for field in text.rstrip(", \t").split(",")]
    try:
        return [int(field) for field in fields]
    except ValueError:
        column = next(i for i, field in enumerate(fields, 1) if not re.match(r"^[+-]?\d+$", field))
        raise DataError("%s:%d:%d: %s is not an integer: %r"
                        % (path, line_number, column, what, fields[column - 1]))


def _min_id(students):
    return min(int(ids.min()) for _, ids, _ in students)


def _max_id(students):
    return max(int(ids.max()) for _, ids, _ in students)


def _to_sequences(label, students, base):
    return [make_sequence("%s-%d" % (label, number), ids - base, answers)
            for number, (_, ids, answers) in enumerate(students, 1)]


def _skill_names(name, dataset_dir, skill_ids):
    """Names from <name>_sname_sid ("name<TAB>id" lines) when present; the id as text otherwise."""
    path = os.path.join(dataset_dir, "%s_sname_sid" % name)
    if not os.path.isfile(path):
        return list(skill_ids), "  skill names: none (no %s): ids used as names" % path
    by_id = {}
    with open(path, "rb") as handle:
        for number, line in enumerate(handle.read().decode("latin-1").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.rstrip("\r\n").rsplit("\t", 1)
            if len(parts) != 2 or not parts[1].strip().isdigit():
                raise DataError("%s:%d: expected 'skill name<TAB>id', got %r" % (path, number, line))
            by_id[parts[1].strip()] = parts[0].strip()
    names = [by_id.get(skill_id) or skill_id for skill_id in skill_ids]
    named = sum(1 for skill_id in skill_ids if by_id.get(skill_id))
    return names, "  skill names: %d of %d from %s" % (named, len(skill_ids), path)


def _true_concepts(name, dataset_dir, n_skills):
    """Concept of each skill index from cluster_info_<v> when name ends in _v<v> and the file exists."""
    match = re.search(r"_v(\d+)$", name)
    if not match:
        return None, "  true concepts: unknown (not a synthetic data set)"
    path = os.path.join(dataset_dir, "cluster_info_%s" % match.group(1))
    if not os.path.isfile(path):
        return None, "  true concepts: unknown (no %s)" % path
    with open(path) as handle:
        first_line = handle.readline()
    try:
        concepts = ast.literal_eval(first_line.strip())
        concepts = np.array([int(value) for value in concepts], dtype=np.int64)
    except (ValueError, SyntaxError, TypeError):
        raise DataError("%s:1: expected a python list of integers (the concept of questions 1..50), got "
                        "%r" % (path, first_line[:80]))
    if len(concepts) < n_skills:
        raise DataError("%s:1: gives the concept of %d questions but the data has %d skills"
                        % (path, len(concepts), n_skills))
    return concepts[:n_skills], "  true concepts: %d concepts from %s" % (len(set(concepts)), path)

"""EdNet KT1 (Riiid's Santa, a TOEIC app; github.com/riiid/ednet): one CSV per student. No TensorFlow.

Layout, as the two archives linked from github.com/riiid/ednet unpack into DATASET_DIR (EdNet-KT1: a .zip
of 1.2 GB, 5.6 GB and 784,309 files unpacked; Contents: a small .zip):
  DATASET_DIR/<ednet_kt1_dir>/u<user id>.csv   (default KT1/): one student's answers, header
      timestamp,solving_id,question_id,user_answer,elapsed_time
      timestamp = milliseconds since 1970 (an integer), question_id like q123, user_answer a letter a-d;
      solving_id and elapsed_time are not used. Files not named u<digits>.csv are ignored (and counted).
  DATASET_DIR/<ednet_questions_file>            (default contents/questions.csv): the answer key, header
      question_id,bundle_id,explanation_id,correct_answer,part,tags,deployed_at
      correct_answer a letter a-d, tags ";"-separated integers (a negative tag, such as -1, means none).

An answer is correct when user_answer == the question's correct_answer. The skill (option ednet_skill) is
"question" (the question id: item level) or "tags" (the question's tags: a question with several tags
follows multi_skill, as for ASSISTments: "first" = its first tag as listed, "drop" = drop its answers,
"expand" = one step per tag, LEAKY; answers to a question without a tag are dropped). Students are the
files in increasing user id. With "tags", the question is each answer's item beside its tag (Dataset.item_ids,
Sequence.items), read by the models that use items (IRT, Best-LR); with "question" the question is the skill
and there is no separate item. ednet_max_students > 0 keeps the first N of them (to try a subset; 0 = all).
Each student's answers are ordered by timestamp (ties keep file order), students with fewer than
min_interactions answers are dropped, and students are split as the split options say (data/sequences.py).

Speed: pandas costs ~1 ms per read_csv call, so the files are not parsed one by one: their bytes are read,
checked (header, line count), joined into chunks of CHUNK_BYTES and each chunk parsed once. When a chunk
does not parse cleanly, its files are read again line by line to name the first bad value.
Bad input raises DataError with path:line:column and how to fix it: a missing folder or questions file, a
folder without u<id>.csv files, a wrong header, a line without 5 fields, a timestamp that is not an integer,
a question id not in the questions file, a user_answer or correct_answer that is not a-d, a bad tag.
"""
import collections
import csv
import hashlib
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from data.dataset import DataError, check_text_encoding, fingerprint
from data.interactions import (MULTI_SKILL_CHOICES, check_choice, check_min_interactions,
                               drop_short_students, handle_multi_skill, index_keys, note,
                               sequences_from_rows, split_into_dataset)
from data.progress import progress
from data.sequences import split_fingerprint_options

OPTIONS = ("ednet_kt1_dir", "ednet_questions_file", "ednet_skill", "ednet_max_students", "multi_skill",
           "min_interactions")
SKILL_CHOICES = ("question", "tags")
KT1_COLUMNS = ("timestamp", "solving_id", "question_id", "user_answer", "elapsed_time")
KT1_HEADER = ",".join(KT1_COLUMNS).encode("ascii")
QUESTION_COLUMNS = ("question_id", "correct_answer", "tags")
ANSWERS = ("a", "b", "c", "d")
USER_FILE = re.compile(r"^u(\d+)\.csv$")
INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
INT64_MIN, INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)  # timestamps' type
CHUNK_BYTES = 32 * 2 ** 20  # large enough that pandas' cost per call vanishes, small enough to stay cheap
READ_THREADS = 8  # files read at once: threads that wait on the disk, not on the CPU
DOWNLOAD = ("download EdNet-KT1 (bit.ly/ednet-kt1) and the Contents (bit.ly/ednet-content), both linked from "
            "github.com/riiid/ednet, and unzip both into DATASET_DIR")

# The answer key: ids (question id of each code), code_of_id, correct (int8 answer index per code),
# tag_offsets (int64, n + 1: question q's tags are tags[tag_offsets[q]:tag_offsets[q + 1]]), tags (int64
# codes into tag_texts), tag_texts (the tags as text, sorted by value), raw_bytes (for the fingerprint).
Questions = collections.namedtuple("Questions", ["ids", "code_of_id", "correct", "tag_offsets", "tags",
                                                 "tag_texts", "raw_bytes"])


def load_ednet(dataset_dir, split, ednet_kt1_dir, ednet_questions_file, ednet_skill, ednet_max_students,
               multi_skill, min_interactions):
    """Read, clean and split EdNet KT1 (see the module docstring)."""
    check_choice("ednet_skill", ednet_skill, SKILL_CHOICES)
    check_choice("multi_skill", multi_skill, MULTI_SKILL_CHOICES)
    min_interactions = check_min_interactions(min_interactions)
    max_students = check_max_students(ednet_max_students)
    questions = read_questions(os.path.join(dataset_dir, ednet_questions_file))
    kt1_dir = os.path.join(dataset_dir, ednet_kt1_dir)
    users, ignored = list_user_files(kt1_dir, max_students)
    report = ["data: ednet, %s (%s student files%s), answer key %s"
              % (kt1_dir, "{:,}".format(len(users)), ", the first by user id (ednet_max_students=%d)"
                 % max_students if max_students else "", os.path.join(dataset_dir, ednet_questions_file))]
    stats = {"files": len(users)}
    if ignored:
        note(report, stats, "ignored_files", ignored, "other entries in the folder ignored (not u<id>.csv)")
    rows, digest = read_kt1(kt1_dir, users, questions, report, stats)
    codes, key_texts = skill_rows(rows, questions, ednet_skill, multi_skill, report, stats)
    codes = drop_short_students(codes, min_interactions, report, stats, "student")
    if len(codes) == 0:
        raise DataError("%s: no answers left (after dropping students with fewer than %d answers, "
                        "min_interactions, and per ednet_skill=%r / multi_skill=%r)"
                        % (kt1_dir, min_interactions, ednet_skill, multi_skill))
    sequences, skill_ids, item_ids = student_sequences(
        codes, key_texts, users, item_texts=list(questions.ids) if ednet_skill == "tags" else None)
    options = dict(split_fingerprint_options(split), ednet_kt1_dir=ednet_kt1_dir,
                   ednet_questions_file=ednet_questions_file, ednet_skill=ednet_skill,
                   ednet_max_students=max_students, multi_skill=multi_skill,
                   min_interactions=min_interactions)
    return split_into_dataset("ednet", sequences, skill_ids, list(skill_ids),
                              "question_id" if ednet_skill == "question" else "the questions' tags", split,
                              report, stats,
                              fingerprint([digest, questions.raw_bytes], options), item_ids=item_ids,
                              item_label="question_id")


def student_sequences(codes, key_texts, users, item_texts=None):
    """(one Sequence per student, named u<user id>; the skill ids of the keys present, in natural order; the
    item ids of the questions present likewise, or None without item_texts: the texts of
    codes["question"])."""
    ordered, index_of_key = index_keys(codes["key"].values, key_texts)
    item_ids = item_index = None
    if item_texts is not None:
        ordered_items, index_of_item = index_keys(codes["question"].values, item_texts)
        item_ids, item_index = [item_texts[code] for code in ordered_items], index_of_item[
            codes["question"].values]
    sequences = sequences_from_rows(codes["student"].values, index_of_key[codes["key"].values],
                                    codes["correct"].values, ["u%d" % user for user, _ in users],
                                    item_index=item_index)
    return sequences, [key_texts[code] for code in ordered], item_ids


def check_max_students(value):
    """EDNET_MAX_STUDENTS as an int >= 0 (0 = every student); DataError otherwise."""
    try:
        number = int(value)
        whole = float(value) == number and not isinstance(value, bool)
    except (TypeError, ValueError):
        number, whole = -1, False
    if number < 0 or not whole:
        raise DataError("option ednet_max_students=%r must be an integer >= 0 (0 keeps every student)"
                        % (value,))
    return number


def input_files(dataset_dir, ednet_kt1_dir, ednet_questions_file, ednet_max_students):
    """The files that load_ednet reads with these options (what the data cache keys on): the questions file,
    then the student files; DataError, as load_ednet's, when the folder or the questions file is missing."""
    questions = os.path.join(dataset_dir, ednet_questions_file)
    if not os.path.isfile(questions):
        raise DataError("EdNet questions file not found: %s" % questions)
    kt1_dir = os.path.join(dataset_dir, ednet_kt1_dir)
    users, _ = list_user_files(kt1_dir, check_max_students(ednet_max_students))
    return [questions] + [os.path.join(kt1_dir, name) for _, name in users]


# -- the answer key ----------------------------------------------------------------------------------------

def read_questions(path):
    """The Questions of contents/questions.csv (13k lines: read with the csv module, which knows lines)."""
    if not os.path.isfile(path):
        raise DataError("EdNet questions file not found: %s\n  %s (it holds contents/questions.csv), or set "
                        "EDNET_QUESTIONS_FILE (relative to DATASET_DIR)" % (path, DOWNLOAD))
    with open(path, "rb") as handle:
        raw_bytes = handle.read()
    check_text_encoding(path, raw_bytes[:64])
    reader = csv.reader(io.StringIO(raw_bytes.decode("utf-8-sig", errors="replace"), newline=""))
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in QUESTION_COLUMNS if name not in header]
    if missing:
        raise DataError("%s:1:1: missing column(s) %s; columns found: %s\n  expected EdNet's "
                        "contents/questions.csv (question_id,bundle_id,explanation_id,correct_answer,part,"
                        "tags,deployed_at)" % (path, ", ".join(missing), ", ".join(header) or "(none)"))
    at = dict((name, header.index(name)) for name in QUESTION_COLUMNS)
    ids, correct, tag_lists, code_of_id = [], [], [], {}
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue  # a blank line
        where = _Where(path, reader.line_num, fields)
        if len(fields) != len(header):
            raise DataError("%s: %d fields, the header has %d" % (where.at(0), len(fields), len(header)))
        question = fields[at["question_id"]].strip()
        if not question or question in code_of_id:
            raise DataError("%s: %s question_id %r: every question needs its own id"
                            % (where.at(at["question_id"]), "repeated" if question else "empty", question))
        answer = fields[at["correct_answer"]].strip()
        if answer not in ANSWERS:
            raise DataError("%s: correct_answer %r is not one of a, b, c, d"
                            % (where.at(at["correct_answer"]), answer))
        code_of_id[question] = len(ids)
        ids.append(question)
        correct.append(ANSWERS.index(answer))
        tag_lists.append(_tags(fields[at["tags"]], where, at["tags"]))
    if not ids:
        raise DataError("%s: no questions after the header; %s" % (path, DOWNLOAD))
    tag_texts = sorted(set(tag for tags in tag_lists for tag in tags))
    code_of_tag = dict((tag, code) for code, tag in enumerate(tag_texts))
    return Questions(ids, code_of_id, np.array(correct, dtype=np.int8),
                     np.r_[0, np.cumsum([len(tags) for tags in tag_lists])].astype(np.int64),
                     np.array([code_of_tag[tag] for tags in tag_lists for tag in tags], dtype=np.int64),
                     [str(tag) for tag in tag_texts], raw_bytes)


def _tags(cell, where, column):
    """The tags of a cell "1;2;179" as ints, negative ones (-1: no tag) left out; DataError if not ints."""
    parts = [part.strip() for part in cell.split(";") if part.strip()]
    if not all(INTEGER.match(part) for part in parts):
        raise DataError("%s: tags %r must be integers separated by ';' (e.g. 1;2;179)"
                        % (where.at(column), cell))
    return [int(part) for part in parts if int(part) >= 0]


class _Where(object):
    """path:line:column of a field of a comma-separated line (column = the field's first character)."""

    def __init__(self, path, line, fields):
        self.path, self.line, self.fields = path, line, fields

    def at(self, index):
        return "%s:%d:%d" % (self.path, self.line, 1 + sum(len(field) + 1 for field in self.fields[:index]))


# -- the students' files -----------------------------------------------------------------------------------

def list_user_files(kt1_dir, max_students):
    """([(user id, file name)] in increasing user id, the first max_students (0 = all), entries ignored)."""
    if not os.path.isdir(kt1_dir):
        raise DataError("EdNet KT1 folder not found: %s\n  %s (EdNet-KT1 unzips to a folder KT1/ of "
                        "u<user id>.csv files), or set EDNET_KT1_DIR (relative to DATASET_DIR)"
                        % (kt1_dir, DOWNLOAD))
    users, others = [], []
    with os.scandir(kt1_dir) as entries:  # 784k names: scandir does not stat each one
        for entry in entries:
            match = USER_FILE.match(entry.name)
            if match and entry.is_file():
                users.append((int(match.group(1)), entry.name))
            else:
                others.append(entry.name)
    if not users:
        holds = ("%d other entries, e.g. %s" % (len(others), ", ".join(sorted(others)[:3])) if others
                 else "nothing")
        raise DataError("%s: no u<user id>.csv files (the folder holds %s)\n  %s, and set EDNET_KT1_DIR to "
                        "the folder of the u<user id>.csv files" % (kt1_dir, holds, DOWNLOAD))
    users.sort()
    for (user, name), (next_user, next_name) in zip(users, users[1:]):
        if user == next_user:  # u7.csv and u07.csv: one student or two? Neither guess is safe
            raise DataError("%s: %s and %s are both user %d; keep the one that holds this user's answers"
                            % (kt1_dir, name, next_name, user))
    return (users[:max_students] if max_students else users), len(others)


# The answers of all files, one row each, students in file order (their index in the user list) and rows in
# file order inside a student: student (int32), timestamp (int64 ms), question (int32 code), correct (int8).
Rows = collections.namedtuple("Rows", ["student", "timestamp", "question", "correct"])


def read_kt1(kt1_dir, users, questions, report, stats):
    """(Rows of every file in time order, sha1 hex digest of the files' names and bytes)."""
    digest = hashlib.sha1()
    paths = [os.path.join(kt1_dir, name) for _, name in users]
    with progress(read_ahead(paths), "reading EdNet KT1", total=len(paths), unit="file") as files:
        parts, empty = parse_files(zip(paths, files), questions, digest)
    rows = Rows(*(np.concatenate([part[i] for part in parts]) if parts else np.zeros(0, dtype=np.int64)
                  for i in range(4)))
    if len(rows.student) == 0:
        raise DataError("%s: the %s student files hold no answers (only headers or nothing); %s"
                        % (kt1_dir, "{:,}".format(len(users)), DOWNLOAD))
    report.append("  rows read: %s" % "{:,}".format(len(rows.student)))
    stats["rows"] = len(rows.student)
    if empty:
        note(report, stats, "empty_files", empty, "student files without answers")
    return in_time_order(rows, report, stats), digest.hexdigest()


def parse_files(files, questions, digest):
    """(the parse_chunk arrays of each chunk, the number of files without answers) of the (path, bytes) of
    every student's file, in student order; `digest` (a hashlib object) is updated with each name and file."""
    parts, chunk, chunk_bytes, empty = [], [], 0, 0
    for student, (path, raw) in enumerate(files):
        digest.update(b"%s\0%d\0" % (os.path.basename(path).encode("ascii"), len(raw)))
        digest.update(raw)
        body, n_rows = _body(path, raw)
        if n_rows == 0:
            empty += 1
            continue
        chunk.append((student, path, body, n_rows))
        chunk_bytes += len(body)
        if chunk_bytes >= CHUNK_BYTES:
            parts.append(parse_chunk(chunk, questions))
            chunk, chunk_bytes = [], 0
    if chunk:
        parts.append(parse_chunk(chunk, questions))
    return parts, empty


def read_ahead(paths, group=64):
    """The bytes of each file, in order, read READ_THREADS groups of files ahead by as many threads: on a cold
    disk each small file waits ~0.1 ms for the disk, and these waits overlap (a read releases the GIL)."""
    with ThreadPoolExecutor(READ_THREADS) as pool:
        pending = collections.deque()
        for start in range(0, len(paths), group):
            pending.append(pool.submit(_read_files, paths[start:start + group]))
            if len(pending) > READ_THREADS:
                for raw in pending.popleft().result():
                    yield raw
        while pending:
            for raw in pending.popleft().result():
                yield raw


def _read_files(paths):
    contents = []
    for path in paths:
        with open(path, "rb") as handle:
            contents.append(handle.read())
    return contents


def _body(path, raw):
    """(the data lines of one file with a final newline and no blank line, their count); DataError for a
    header other than KT1's."""
    if not raw or raw.isspace():
        return b"", 0
    raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw  # a UTF-8 byte order mark
    end = raw.find(b"\n")
    end = len(raw) if end < 0 else end
    if raw[:end].rstrip(b"\r").replace(b" ", b"") != KT1_HEADER:
        check_text_encoding(path, raw[:64])  # a header in another encoding: say so, not what it reads as
        raise DataError("%s:1:1: the header is %r, expected %r (an EdNet KT1 student file)"
                        % (path, raw[:end][:120].decode("utf-8", "replace"), KT1_HEADER.decode("ascii")))
    body = raw[end + 1:]
    if b"\r" in body:
        body = body.replace(b"\r\n", b"\n")
    if body and not body.endswith(b"\n"):
        body += b"\n"
    if body.startswith(b"\n") or b"\n\n" in body:  # rare: cleaned here so that lines = rows below
        body = b"".join(line + b"\n" for line in body.split(b"\n") if line.strip())
    return body, body.count(b"\n")


def parse_chunk(chunk, questions):
    """(student, timestamp, question, correct) arrays of a chunk of files [(student, path, body, rows)],
    parsed by one read_csv; DataError naming the first bad value when any line or value is not clean."""
    n_rows = sum(rows for _, _, _, rows in chunk)
    buffer = b"".join(body for _, _, body, _ in chunk)
    if buffer.count(b",") != 4 * n_rows:  # every line has exactly 5 fields
        raise first_problem(chunk, questions)
    try:
        table = pd.read_csv(io.BytesIO(buffer), header=None, names=list(KT1_COLUMNS),
                            usecols=["timestamp", "question_id", "user_answer"], na_filter=False,
                            dtype={"timestamp": np.int64, "question_id": "category",
                                   "user_answer": "category"}, skip_blank_lines=False, engine="c")
    except (ValueError, OverflowError, pd.errors.ParserError) as error:
        raise first_problem(chunk, questions, error)
    question = _codes(table["question_id"], questions.code_of_id)
    answer = _codes(table["user_answer"], dict((letter, i) for i, letter in enumerate(ANSWERS)))
    if len(table) != n_rows or (question < 0).any() or (answer < 0).any():
        raise first_problem(chunk, questions)
    student = np.repeat(np.array([s for s, _, _, _ in chunk], dtype=np.int32), [r for _, _, _, r in chunk])
    correct = (answer == questions.correct[question]).astype(np.int8)
    return student, table["timestamp"].values.astype(np.int64), question, correct


def _codes(column, code_of_text):
    """int32 code of each value of a categorical column by code_of_text, -1 where unknown."""
    categories = column.cat.categories
    lookup = np.array([code_of_text.get(text, -1) for text in categories] + [-1], dtype=np.int32)
    return lookup[column.cat.codes.values]  # code -1 (missing) picks the trailing -1


def first_problem(chunk, questions, error=None):
    """The DataError of the first bad line of a chunk's files, found by reading them again line by line."""
    for _, path, _, _ in chunk:
        with open(path, "rb") as handle:
            lines = handle.read().decode("utf-8-sig", errors="replace").split("\n")
        for number, line in enumerate(lines[1:], start=2):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            fields = line.split(",")
            where = _Where(path, number, fields)
            if len(fields) != len(KT1_COLUMNS):
                return DataError("%s: %d fields, expected 5 (%s)" % (where.at(0), len(fields),
                                                                     ",".join(KT1_COLUMNS)))
            if not INTEGER.match(fields[0]) or not INT64_MIN <= int(fields[0]) <= INT64_MAX:
                return DataError("%s: timestamp %r is not an integer of at most 64 bits (milliseconds since "
                                 "1970, e.g. 1565096190868)" % (where.at(0), fields[0]))
            if fields[2] not in questions.code_of_id:
                return DataError("%s: question_id %r is not in the questions file (%d questions, e.g. %s): "
                                 "use the contents/questions.csv of the same EdNet release"
                                 % (where.at(2), fields[2], len(questions.ids), questions.ids[0]))
            if fields[3] not in ANSWERS:
                return DataError("%s: user_answer %r is not one of a, b, c, d" % (where.at(3), fields[3]))
    return DataError("%s: cannot parse the files from here on (%s)" % (
        chunk[0][1], str(error).strip() if error else "the number of lines and values do not match"))


def in_time_order(rows, report, stats):
    """Rows ordered by timestamp inside each student (ties keep file order); students stay in file order."""
    same_student = rows.student[1:] == rows.student[:-1]
    backwards = same_student & (rows.timestamp[1:] < rows.timestamp[:-1])
    if not backwards.any():
        stats["students_reordered"] = 0
        return rows
    note(report, stats, "students_reordered", len(np.unique(rows.student[1:][backwards])),
         "students' files not in time order: their answers sorted by timestamp")
    order = np.lexsort((np.arange(len(rows.student)), rows.timestamp, rows.student))
    return Rows(*(column[order] for column in rows))


# -- skills ------------------------------------------------------------------------------------------------

def skill_rows(rows, questions, skill, multi_skill, report, stats):
    """(DataFrame student / key / correct in time order, key texts): key = the question or its tags."""
    if skill == "question":
        codes = pd.DataFrame({"student": rows.student, "key": rows.question, "correct": rows.correct})
        return codes, list(questions.ids)
    counts = np.diff(questions.tag_offsets)[rows.question]
    untagged = counts == 0
    if untagged.any():
        note(report, stats, "untagged_rows", int(untagged.sum()),
             "answers to questions without a tag dropped")
    row = np.repeat(np.arange(len(counts)), counts)  # one row per (answer, tag), tags in listed order
    position = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    codes = pd.DataFrame({"answer": row.astype(np.int64), "student": rows.student[row],
                          "key": questions.tags[questions.tag_offsets[rows.question[row]] + position],
                          "correct": rows.correct[row], "question": rows.question[row]})
    codes = handle_multi_skill(codes, multi_skill, report, stats, "answer", unit="tag entries")
    return codes, questions.tag_texts

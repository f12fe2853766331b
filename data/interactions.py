"""Steps shared by the sources that read one row per answer: assistments.py and response_log.py. No TF.

Both sources code their rows as a DataFrame of integers (an attempt column, a `key` column = skill code,
a student column, `correct`) and then run the same steps:
  handle_multi_skill   one attempt tagged with several skills -> the MULTI_SKILL option (first/drop/expand)
  drop_short_students  students with fewer than MIN_INTERACTIONS interactions are dropped
  index_keys           skill codes -> 0-based indices in natural order (numbers by value, then text)
  sequences_from_rows  rows sorted by student -> one Sequence per student
  split_into_dataset   seeded student-level split, the report's closing lines, the Dataset
"""
import numpy as np

from data.dataset import DataError, Dataset, Sequence, split_stats, split_summary_lines
from data.sequences import describe_split, split_by_student

MULTI_SKILL_CHOICES = ("first", "drop", "expand")


def check_choice(option, value, choices):
    if value not in choices:
        raise DataError("option %s=%r is not one of %s" % (option, value, ", ".join(map(repr, choices))))


def check_min_interactions(value):
    """MIN_INTERACTIONS as an int >= 1; DataError otherwise."""
    try:
        number = int(value)
        whole = float(value) == number and not isinstance(value, bool)
    except (TypeError, ValueError):
        number, whole = 0, False
    if number < 1 or not whole:
        raise DataError("option min_interactions=%r must be an integer >= 1 (1 keeps every student)"
                        % (value,))
    return number


def detect_encoding(raw_bytes):
    """("UTF-8" | "ISO-8859-1", why): UTF-8 when the bytes decode as UTF-8, else latin-1 (never fails)."""
    try:
        raw_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        return "ISO-8859-1", "not valid UTF-8: byte 0x%02x at offset %d" % (
            raw_bytes[error.start], error.start)
    return "UTF-8", "the bytes are valid UTF-8"


def note(report, stats, key, count, text):
    """Count `key` in stats and add the report line "  <count> <text>"."""
    stats[key] = count
    report.append("  %s %s" % ("{:,}".format(count), text))


def natural_key(text):
    """Numbers first, by value; other text after, alphabetically."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def handle_multi_skill(codes, multi_skill, report, stats, attempt_column, unit="rows",
                       collapse_same_key=False):
    """Apply the multi_skill option to attempts with several rows (one per skill) in `codes`.

    "first" keeps the attempt's first row (frame order), "drop" drops the attempt, "expand" keeps one row
    per distinct skill (LEAKY). Rows of one attempt with the same key are one step in "expand" (and in every
    mode when collapse_same_key, e.g. when the key is the item: one attempt is one item).
    """
    if multi_skill == "expand" or collapse_same_key:
        codes = codes[~codes.duplicated(subset=[attempt_column, "key"]).values]
    rows_per_attempt = codes.groupby(attempt_column)[attempt_column].transform("size").values
    in_multi = rows_per_attempt > 1
    n_attempts = len(np.unique(codes[attempt_column].values[in_multi]))
    if multi_skill == "first":
        keep = ~codes.duplicated(subset=[attempt_column]).values
    elif multi_skill == "drop":
        keep = ~in_multi
    else:
        keep = np.ones(len(codes), dtype=bool)
    multi_skill_note(report, stats, multi_skill, unit, n_attempts, int(in_multi.sum()), int((~keep).sum()))
    return codes[keep]


def multi_skill_note(report, stats, multi_skill, unit, n_attempts, n_multi_rows, n_dropped):
    """The stats and the report line of handle_multi_skill, from its counts."""
    stats["multi_skill_attempts"] = n_attempts
    stats["multi_skill_rows"] = n_multi_rows
    stats["multi_skill_dropped_rows"] = n_dropped
    text = {"first": "kept the first skill of each, dropped %s %s" % ("{:,}".format(n_dropped), unit),
            "drop": "dropped them (%s %s)" % ("{:,}".format(n_multi_rows), unit),
            "expand": "kept one step per skill (LEAKY: later rows see the attempt's answer)"}[multi_skill]
    report.append("  %s multi-skill attempts (%s %s), multi_skill=%r: %s" % (
        "{:,}".format(n_attempts), "{:,}".format(n_multi_rows), unit, multi_skill, text))


def drop_short_students(codes, min_interactions, report, stats, student_column):
    """Drop the rows of students with fewer than min_interactions rows (report line only when > 1)."""
    stats["short_students"] = 0
    if min_interactions <= 1:
        return codes
    sizes = codes.groupby(student_column)[student_column].transform("size").values
    short = sizes < min_interactions
    n_students = len(np.unique(codes[student_column].values[short]))
    note(report, stats, "short_students", n_students, "students with fewer than %d interactions dropped "
         "(%s interactions; min_interactions=%d)" % (min_interactions, "{:,}".format(int(short.sum())),
                                                    min_interactions))
    return codes[~short]


def index_keys(key_codes, key_texts):
    """(codes present in key_codes in natural order of their text, index of each key code or -1)."""
    present = np.unique(key_codes)
    ordered = sorted(present.tolist(), key=lambda code: natural_key(key_texts[code]))
    index_of_key = np.full(len(key_texts), -1, dtype=np.int32)
    index_of_key[ordered] = np.arange(len(ordered))
    return ordered, index_of_key


def sequences_from_rows(students, skill_index, answers, student_names=None, item_index=None):
    """One Sequence per run of equal student codes (rows sorted by student, then in time order).

    The student's name is student_names[code] when given, else the code as text; item_index (the item index
    of each row), when given, becomes each Sequence's items.
    """
    if len(students) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, students[1:] != students[:-1]])
    ends = np.r_[starts[1:], len(students)].tolist()
    # converted once: each Sequence is a view of these (the dtypes of make_sequence), no copy per student
    skill_index = np.asarray(skill_index, dtype=np.int32)
    answers = np.asarray(answers, dtype=np.int32)
    items = None if item_index is None else np.asarray(item_index, dtype=np.int32)
    firsts = students[starts].tolist()
    return [Sequence(str(first) if student_names is None else str(student_names[first]),
                     skill_index[start:end], answers[start:end], None,
                     None if items is None else items[start:end])
            for first, start, end in zip(firsts, starts.tolist(), ends)]


def split_into_dataset(name, sequences, skill_ids, skill_names, key_label, split, report, stats,
                       data_fingerprint, item_ids=None, item_label=None):
    """Split the students as `split` (a data.sequences.StudentSplit) says, finish the report and stats, and
    return the Dataset (with `item_ids`, the items' original ids by index, when the sequences carry items;
    item_label names where they come from)."""
    n_interactions = int(sum(len(seq.skills) for seq in sequences))
    splits = list(zip(("train", "valid", "test"),
                      split_by_student(sequences, split)))
    report.append("  students: %s, interactions: %s, skills: %d (keyed by %s)"
                  % ("{:,}".format(len(sequences)), "{:,}".format(n_interactions), len(skill_ids), key_label))
    if item_ids:  # the stats key only when there are items, so that the stats of other data stay as they were
        report.append("  items: %d (keyed by %s), read beside the skill by the models that use items (IRT, "
                      "Best-LR)" % (len(item_ids), item_label))
        stats["n_items"] = len(item_ids)
    report.append(describe_split(split))
    report += split_summary_lines(splits)
    stats.update(split_stats(splits))
    stats.update({"students": len(sequences), "interactions": n_interactions, "n_skills": len(skill_ids)})
    return Dataset(name, len(skill_ids), skill_ids, skill_names, None, splits[0][1], splits[1][1],
                   splits[2][1], report, data_fingerprint, stats, item_ids=item_ids)

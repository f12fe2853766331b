"""The data types every source returns, and the small helpers the sources share.

A source (synthetic.py, assistments.py, three_line.py) reads its input and returns a `Dataset`: the
students' chronological `Sequence`s already split into train / valid / test, the skill index mapping
(0-based index -> original id and name), and a `report` (list of lines) saying what was read, what was
dropped and why. No TensorFlow here.
"""
import collections
import hashlib
import json

import numpy as np


class DataError(Exception):
    """Bad input the user can fix (missing file, wrong columns, malformed line).

    The message is shown as is: it says what is wrong, where (file:line[:column]) and how to fix it.
    Programming errors raise the usual Python exceptions instead.
    """


# One student's whole chronological sequence. skills = 0-based skill index (int32), answers = 0/1 (int32),
# true_probs = the generator's true P(correct) of each answer (float32), None for real data; items = 0-based
# item index of each answer (int32; the question answered, beside its skill), None where the source has no
# item column (three-line files, synthetic data, a csv log without CSV_ITEM_COLUMN).
Sequence = collections.namedtuple("Sequence", ["student", "skills", "answers", "true_probs", "items"],
                                  defaults=(None,))


class Dataset(object):
    """A loaded data set: three lists of `Sequence` sharing one skill index mapping.

    The sequences' arrays may be views into one flat array per split (the csv source and the data cache
    store them so: no per-student copies on a 100M-answer log): treat them as read-only.

    Fields: name, n_skills, skill_ids (original id of each index, as text), skill_names (falls back to the
    id), true_concepts (int array of len n_skills, or None), train / valid / test, report (list of str),
    fingerprint (hex digest of the input bytes + options), stats (dict of the report's numbers, for checks),
    item_ids (original id of each item index, as text; empty where the source has no item column, and then
    every Sequence's items is None) and n_items (len(item_ids), 0 = no items).
    """

    def __init__(self, name, n_skills, skill_ids, skill_names, true_concepts, train, valid, test,
                 report, fingerprint, stats=None, item_ids=None):
        self.name = name
        self.n_skills = int(n_skills)
        self.skill_ids = list(skill_ids)
        self.skill_names = list(skill_names)
        self.true_concepts = true_concepts
        self.train = list(train)
        self.valid = list(valid)
        self.test = list(test)
        self.report = list(report)
        self.fingerprint = fingerprint
        self.stats = dict(stats or {})
        self.item_ids = list(item_ids or [])
        self.n_items = len(self.item_ids)

    def __repr__(self):
        return "Dataset(%r, n_skills=%d, students train/valid/test=%d/%d/%d)" % (
            self.name, self.n_skills, len(self.train), len(self.valid), len(self.test))


def make_sequence(student, skills, answers, true_probs=None, items=None):
    """A `Sequence` with the contract's dtypes (int32 skills/answers/items, float32 true_probs)."""
    probs = None if true_probs is None else np.asarray(true_probs, dtype=np.float32)
    items = None if items is None else np.asarray(items, dtype=np.int32)
    return Sequence(str(student), np.asarray(skills, dtype=np.int32), np.asarray(answers, dtype=np.int32),
                    probs, items)


def fingerprint(parts, options):
    """Hex digest of the input (bytes or text parts) and every option, so a change in either shows."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
    return finish_fingerprint(digest, options)


def finish_fingerprint(digest, options):
    """fingerprint of a hashlib.sha1 already updated with the input (a file hashed as a stream, in chunks)."""
    digest.update(json.dumps(options, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()


# The readers take UTF-8 (with or without its byte order mark) and ISO-8859-1, which never fails to decode: a
# file in UTF-16 or UTF-32 would be read as latin-1 into garbage ("missing column(s) \xff\xfestudent").
# Such a file starts with its byte order mark (longest first here), or, without one, has a zero byte beside
# each ASCII letter; a file in either of the two encodings read never has a zero byte in its first line.
FOREIGN_MARKS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
                 (b"\xfe\xff", "UTF-16"))
UNMARKED = (("UTF-32LE", 4, 0), ("UTF-32BE", 4, 3), ("UTF-16LE", 2, 0), ("UTF-16BE", 2, 1))  # (name, width,
# place of the letter's byte in each character)


def check_text_encoding(path, head):
    """DataError naming the encoding and how to re-save the file when its first bytes `head` show UTF-16 or
    UTF-32 (see FOREIGN_MARKS); returns None for anything else."""
    encoding = next((name for mark, name in FOREIGN_MARKS if head.startswith(mark)), None)
    why = "it starts with the byte order mark of %s" % encoding
    if encoding is None:
        encoding = _unmarked_wide_encoding(head[:32])
        if encoding is None:
            return
        why = "each character of its first line takes %s bytes, all zero but one" % (
            "four" if encoding.startswith("UTF-32") else "two")
    raise DataError("%s is encoded as %s (%s); the readers take UTF-8 or ISO-8859-1 (latin-1): save it as "
                    "UTF-8, e.g. `iconv -f %s -t UTF-8 %s > utf8.csv`, or as \"CSV UTF-8\" from a spreadsheet"
                    % (path, encoding, why, encoding, path))


def _unmarked_wide_encoding(head):
    """"UTF-16LE" etc. when `head` is ASCII text written with 2 or 4 bytes a character, else None."""
    for name, width, place in UNMARKED:
        characters = [head[start:start + width] for start in range(0, len(head) - width + 1, width)]
        if len(characters) >= 2 and all(
                0 < character[place] < 128 and character.count(0) == width - 1 for character in characters):
            return name
    return None


def split_summary_lines(dataset_splits):
    """One report line per split: students, interactions, distinct skills seen."""
    lines = []
    for split_name, sequences in dataset_splits:
        n_interactions = sum(len(seq.skills) for seq in sequences)
        # skill indices are >= 0: counting them is a pass, where np.unique would sort every interaction
        seen = np.count_nonzero(np.bincount(np.concatenate([seq.skills for seq in sequences]))) \
            if n_interactions else 0
        lines.append("  %-5s: %s students, %s interactions, %d skills seen" % (
            split_name, "{:,}".format(len(sequences)), "{:,}".format(n_interactions), seen))
    return lines


def split_stats(dataset_splits):
    """The numbers of `split_summary_lines`, as a dict (for Dataset.stats)."""
    stats = {}
    for split_name, sequences in dataset_splits:
        stats[split_name + "_students"] = len(sequences)
        stats[split_name + "_interactions"] = int(sum(len(seq.skills) for seq in sequences))
    return stats


# -- matching another data set's skills to a trained run's, by original id ----------------------------------

def map_skills(source_skill_ids, run_skill_ids):
    """index in the source -> index in the run (-1 where the run has no skill of that id)."""
    run_index = dict((str(skill_id), index) for index, skill_id in enumerate(run_skill_ids))
    return np.array([run_index.get(str(skill_id), -1) for skill_id in source_skill_ids], dtype=np.int64)


def remap_sequences(sequences, mapping, source_skill_ids, drop_unknown, where="the data"):
    """Sequences with skills given as run indices.

    Args:
      sequences: list of data.Sequence with skills indexing `source_skill_ids`.
      mapping: from `map_skills`.
      source_skill_ids: original id of each source index (for the error message and the counts).
      drop_unknown: drop the interactions of skills the run never saw (else DataError listing them).
      where: names the data in messages.

    Returns:
      (sequences, dropped) with dropped = {"interactions": n, "students": n emptied and removed,
      "skills": sorted list of the unknown skill ids that occurred}.
    """
    unknown = set()
    for seq in sequences:
        unknown.update(int(s) for s in np.unique(seq.skills[mapping[seq.skills] < 0]))
    unknown_ids = sorted((str(source_skill_ids[s]) for s in unknown), key=_id_order)
    if unknown_ids and not drop_unknown:
        raise DataError("%s has %d skill id(s) that the run never saw (e.g. %s); the model has no parameters "
                        "for them: pass --drop_unknown_skills true to drop their interactions"
                        % (where, len(unknown_ids), ", ".join(unknown_ids[:5])))
    out, dropped_interactions, emptied = [], 0, 0
    for seq in sequences:
        mapped = mapping[seq.skills]
        keep = mapped >= 0
        dropped_interactions += int((~keep).sum())
        if not keep.any():
            emptied += 1
            continue
        probs = None if seq.true_probs is None else seq.true_probs[keep]
        items = None if seq.items is None else seq.items[keep]
        out.append(Sequence(seq.student, mapped[keep].astype(np.int32), seq.answers[keep], probs, items))
    return out, {"interactions": dropped_interactions, "students": emptied, "skills": unknown_ids}


def remap_items(sequences, source_item_ids, run_item_ids, where="the data"):
    """Sequences with items given as a run's item indices (matched by original id, as map_skills does).

    DataError when the data has no items, or has item ids that the run never saw: a run that reads items has
    a weight per item it was trained with and none for another.
    """
    if any(seq.items is None for seq in sequences):
        raise DataError("%s has no item ids, and the run's model reads them: give the data the item column "
                        "the run was trained with (CSV_ITEM_COLUMN, or the ASSISTments file's problem_id)"
                        % where)
    mapping = map_skills(source_item_ids, run_item_ids)
    unknown = sorted(set(str(source_item_ids[i]) for seq in sequences for i in np.unique(seq.items)
                         if mapping[i] < 0), key=_id_order)
    if unknown:
        raise DataError("%s has %d item id(s) that the run never saw (e.g. %s): the run's model has no "
                        "weight for them; score it on the data it was trained on"
                        % (where, len(unknown), ", ".join(unknown[:5])))
    return [seq._replace(items=mapping[seq.items].astype(np.int32)) for seq in sequences]


def _id_order(skill_id):
    try:
        return (0, float(skill_id), skill_id)
    except ValueError:
        return (1, 0.0, skill_id)


def unseen_in_training(dataset, items=False):
    """The ids answered in the validation and test splits that no training answer has: a model has learnt
    nothing of them (a regression predicts them from its global weights, BKT from its pooled parameters,
    a deep model from its untrained rows). Returns {split: (ids, answers on them)} for valid and test; with
    `items`, of the item ids (the dataset must have them) instead of the skill ids."""
    field, n_ids = ("items", dataset.n_items) if items else ("skills", dataset.n_skills)
    trained = np.zeros(n_ids, dtype=bool)
    for seq in dataset.train:
        trained[getattr(seq, field)] = True
    counts = {}
    for split in ("valid", "test"):
        answered = np.zeros(n_ids, dtype=np.int64)
        for seq in getattr(dataset, split):
            answered += np.bincount(getattr(seq, field), minlength=n_ids)
        unseen = (answered > 0) & ~trained
        counts[split] = (int(unseen.sum()), int(answered[unseen].sum()))
    return counts


def correct_rate(sequences):
    """The share of correct answers over every answer of `sequences` (None when there is none): what a
    trained run answers for a skill it never saw (utils/serving.py UNKNOWN_SKILL)."""
    answers = [seq.answers for seq in sequences if len(seq.answers)]
    return float(np.mean(np.concatenate(answers))) if answers else None

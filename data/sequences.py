"""Student-level splits and fixed-length batches of (skill, answer) sequences. No TensorFlow.

`split_by_student` splits whole students (never chunks) into train / valid / test as a `StudentSplit`
says: which students go where depends on the data (the students, in the order the source lists them) and
the split's own seed, never on the seed of the model. Three designs, each a shuffle of the students with
the split seed:

- "cross_validation": the shuffled students cut into `folds` outer folds of equal size (+-1); fold k is the
  test split, fold `valid_fold` the validation split (0: fold k+1, fold 1 after the last), the other folds
  train. Over k = 1..K every student is tested exactly once (and, with valid_fold 0, validates exactly
  once). With 5 folds: 20% / 20% / 60%. A settings search for outer fold k that must not see its test
  students averages over valid_fold j != k: each j is a train / validation cut of fold k's other students.
- "fixed_test": the first round(test_fraction * students) shuffled students are the test split of every
  fold; the others are cut into `folds` validation folds: fold k validates, the rest train.
- "holdout": one split by valid_fraction and test_fraction, `fold` and `folds` unused: the design of the
  runs made before the other two (their split seed is the run's seed), kept so that they resume unchanged.

`make_batches` cuts each student's sequence into consecutive chunks of `seq_len` (each chunk is trained as
an independent sequence, as the DKVMN paper does), pads each row at its END (skill 0, answer 0, mask 0) and
groups the rows into batches; T is the longest chunk of a batch (at most seq_len), and the last batch may
have fewer rows. It returns a `Batches`, which pads each batch only when it is reached (iterated or
indexed): an epoch over a large log holds one padded batch, not the whole split padded a second time.
"""
import collections

import numpy as np

from data.dataset import DataError

# items: int32 [B, T] item indices, padded as skills, when every chunk's sequence carries items; else None.
Batch = collections.namedtuple("Batch", ["skills", "answers", "mask", "students", "offsets", "items"],
                               defaults=(None,))

# How a source splits its students (the values of main.py's SPLIT_DESIGN, SPLIT_SEED, FOLDS, FOLD,
# VALID_FOLD, VALID_FRACTION and TEST_FRACTION); see the module docstring.
StudentSplit = collections.namedtuple("StudentSplit", ["design", "seed", "folds", "fold", "valid_fold",
                                                       "valid_fraction", "test_fraction"])
SPLIT_DESIGNS = ("cross_validation", "fixed_test", "holdout")
TRAIN, VALID, TEST = 0, 1, 2
FEWEST_FOLDS = {"cross_validation": (3, "a fold to test, one to validate, one to train on"),
                "fixed_test": (2, "a fold to validate, one to train on")}


def holdout(seed, valid_fraction, test_fraction):
    """The StudentSplit of one split by fractions (the design of runs made before split designs)."""
    return StudentSplit("holdout", seed, 1, 1, 0, valid_fraction, test_fraction)


def split_by_student(sequences, split):
    """(train, valid, test) lists of Sequence, as `split` (a StudentSplit) says (see the module docstring).

    The order inside each split follows the input order, so the result does not depend on the shuffle
    beyond who goes where.
    """
    roles = split_roles(len(sequences), split)
    return tuple([seq for seq, role in zip(sequences, roles) if role == which]
                 for which in (TRAIN, VALID, TEST))


def split_roles(n_students, split):
    """int array [n_students]: TRAIN, VALID or TEST for each student, in input order."""
    split = checked_split(split)
    order = np.random.RandomState(split.seed).permutation(n_students)
    roles = np.full(n_students, TRAIN, dtype=np.int64)
    if split.design == "cross_validation":
        _check_students(n_students, split.folds, "cross-validation with %d folds needs at least %d (one per "
                                                 "fold)" % (split.folds, split.folds))
        folds = np.array_split(order, split.folds)
        roles[folds[split.fold - 1]] = TEST
        roles[folds[split.valid_fold - 1]] = VALID
    elif split.design == "fixed_test":
        n_test = _split_size(split.test_fraction, n_students)
        _check_students(n_students, n_test + split.folds,
                        "a fixed test split of %d and %d validation folds need at least %d (one per fold "
                        "besides the test split)" % (n_test, split.folds, n_test + split.folds))
        roles[order[:n_test]] = TEST
        roles[np.array_split(order[n_test:], split.folds)[split.fold - 1]] = VALID
    else:
        n_valid = _split_size(split.valid_fraction, n_students)
        n_test = _split_size(split.test_fraction, n_students)
        if n_students - n_valid - n_test < 1:
            raise DataError("only %d students: too few to split into train / valid / test with fractions "
                            "%s / %s; use more data or smaller fractions"
                            % (n_students, split.valid_fraction, split.test_fraction))
        roles[order[:n_test]] = TEST
        roles[order[n_test:n_test + n_valid]] = VALID
    return roles


def _check_students(n_students, needed, what):
    if n_students < needed:
        raise DataError("only %d students: %s; use more students or fewer folds (--folds)"
                        % (n_students, what))


def checked_split(split):
    """`split` with whole numbers where they must be; DataError naming a bad value and what it must be."""
    if split.design not in SPLIT_DESIGNS:
        raise DataError("split_design must be one of %s, got %r" % (", ".join(SPLIT_DESIGNS), split.design))
    seed, folds, fold, valid_fold = (_whole(name, value) for name, value in (
        ("split_seed", split.seed), ("folds", split.folds), ("fold", split.fold),
        ("valid_fold", split.valid_fold)))
    if not 0 <= seed < 2 ** 32:
        raise DataError("split_seed must be a whole number in [0, 2**32), got %r" % split.seed)
    if split.design != "holdout":
        lowest, why = FEWEST_FOLDS[split.design]
        if folds < lowest:
            raise DataError("%s needs folds >= %d (%s), got %d" % (split.design, lowest, why, folds))
        if not 1 <= fold <= folds:
            raise DataError("fold must be in 1..%d (folds), got %d" % (folds, fold))
    valid_fold = _checked_valid_fold(split.design, valid_fold, fold, folds)
    if split.design == "holdout":
        _check_fractions(split.valid_fraction, split.test_fraction)
    elif split.design == "fixed_test":
        _check_fractions(0.0, split.test_fraction)  # cross-validation reads neither fraction
    return split._replace(seed=seed, folds=folds, fold=fold, valid_fold=valid_fold)


def _checked_valid_fold(design, valid_fold, fold, folds):
    """The validation fold of cross-validation (0 = the fold after `fold`); 0 for the other designs."""
    if design != "cross_validation":
        if valid_fold != 0:
            raise DataError("valid_fold applies to cross_validation only, got %d with %s (fixed_test: --fold "
                            "picks the validation fold); leave it 0" % (valid_fold, design))
        return 0
    if valid_fold == 0:
        return fold % folds + 1
    if not 1 <= valid_fold <= folds or valid_fold == fold:
        raise DataError("valid_fold must be 0 (the fold after fold) or in 1..%d other than fold %d, got %d"
                        % (folds, fold, valid_fold))
    return valid_fold


def _whole(name, value):
    try:
        whole = not isinstance(value, bool) and float(value).is_integer()
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise DataError("%s must be a whole number, got %r" % (name, value))
    return int(value)


def split_fingerprint_options(split):
    """The options of `split` that decide who goes where: they enter a data set's fingerprint. A holdout
    split keeps the names of the runs made before split designs ("seed"), so that they resume."""
    if split.design == "holdout":
        return {"seed": split.seed, "valid_fraction": split.valid_fraction,
                "test_fraction": split.test_fraction}
    split = checked_split(split)  # valid_fold 0 and the fold it stands for are one split
    options = {"split_design": split.design, "split_seed": split.seed, "folds": split.folds,
               "fold": split.fold}
    if split.design == "cross_validation":
        options["valid_fold"] = split.valid_fold
    if split.design == "fixed_test":
        options["test_fraction"] = split.test_fraction
    return options


def describe_split(split):
    """The report's line on how the students were split."""
    split = checked_split(split)
    if split.design == "cross_validation":
        return ("  split by student (cross-validation, split seed %d): fold %d of %d tests, fold %d "
                "validates:" % (split.seed, split.fold, split.folds, split.valid_fold))
    if split.design == "fixed_test":
        return ("  split by student (fixed test %s, split seed %d): validation fold %d of %d:"
                % (split.test_fraction, split.seed, split.fold, split.folds))
    return "  split by student (seed %d, valid %s, test %s):" % (split.seed, split.valid_fraction,
                                                                 split.test_fraction)


def _check_fractions(valid_fraction, test_fraction):
    for name, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= float(value) < 1.0:
            raise DataError("%s must be in [0, 1), got %r" % (name, value))
    if float(valid_fraction) + float(test_fraction) >= 1.0:
        raise DataError("valid_fraction + test_fraction must be below 1 (got %r + %r): nothing left to "
                        "train on" % (valid_fraction, test_fraction))


def _split_size(fraction, n_students):
    size = int(round(float(fraction) * n_students))
    return max(size, 1) if fraction > 0 else 0


def chunk_sequences(sequences, seq_len):
    """List of (sequence, offset) for every consecutive chunk of at most seq_len interactions: the readable
    definition of the chunks (and their order) that make_batches computes with arrays; the tests compare."""
    return [(seq, offset) for seq in sequences for offset in range(0, len(seq.skills), seq_len)]


def make_batches(sequences, seq_len, batch_size, shuffle=False, seed=0):
    """Padded batches of chunks: a `Batches` of `Batch` (see the module docstring).

    Skills/answers are int32 [B, T], mask float32 [B, T] (1 on real positions), students [B] (ids),
    offsets int64 [B] (position of the chunk's first interaction in its student's sequence). T is the
    longest chunk of the batch (at most seq_len): both
    models run a loop over T, so padding short sequences up to seq_len would only burn time. With shuffle,
    the chunks are permuted by np.random.RandomState(seed) before batching (the same permutation of the
    same chunk list as chunk_sequences gives).
    """
    if seq_len < 1 or batch_size < 1:
        raise ValueError("seq_len and batch_size must be >= 1, got %r and %r" % (seq_len, batch_size))
    lengths = np.array([len(seq.skills) for seq in sequences], dtype=np.int64)
    per_sequence = -(-lengths // seq_len)  # chunks of each sequence (0 for an empty one)
    chunk_sequence = np.repeat(np.arange(len(sequences)), per_sequence)
    first_chunk = np.cumsum(per_sequence) - per_sequence
    chunk_offset = (np.arange(len(chunk_sequence)) - np.repeat(first_chunk, per_sequence)) * seq_len
    if shuffle:
        order = np.random.RandomState(seed).permutation(len(chunk_sequence))
        chunk_sequence, chunk_offset = chunk_sequence[order], chunk_offset[order]
    return Batches(sequences, chunk_sequence, chunk_offset, seq_len, batch_size)


class Batches(object):
    """The batches of make_batches, each padded when it is reached (iterated or indexed), not all at once:
    an epoch holds its sequences (views of the data) and one padded batch, not the whole split padded
    again. len() is the number of batches; list(batches) pads them all at once."""

    def __init__(self, sequences, chunk_sequence, chunk_offset, seq_len, batch_size):
        self.sequences, self.seq_len, self.batch_size = sequences, seq_len, batch_size
        self.chunk_sequence, self.chunk_offset = chunk_sequence, chunk_offset

    def __len__(self):
        return -(-len(self.chunk_sequence) // self.batch_size)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError("batch %d of %d" % (index, len(self)))
        start = (index % len(self)) * self.batch_size
        rows = range(start, min(start + self.batch_size, len(self.chunk_sequence)))
        return _pad_rows([(self.sequences[self.chunk_sequence[row]], int(self.chunk_offset[row]))
                          for row in rows], self.seq_len)

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]


def _pad_rows(chunks, seq_len):
    n_rows = len(chunks)
    seq_len = max(min(seq_len, len(seq.skills) - offset) for seq, offset in chunks)
    skills = np.zeros((n_rows, seq_len), dtype=np.int32)
    answers = np.zeros((n_rows, seq_len), dtype=np.int32)
    mask = np.zeros((n_rows, seq_len), dtype=np.float32)
    for row, (seq, offset) in enumerate(chunks):
        end = min(offset + seq_len, len(seq.skills))
        length = end - offset
        skills[row, :length] = seq.skills[offset:end]
        answers[row, :length] = seq.answers[offset:end]
        mask[row, :length] = 1.0
    students = [seq.student for seq, _ in chunks]
    offsets = np.array([offset for _, offset in chunks], dtype=np.int64)
    return Batch(skills, answers, mask, students, offsets, _padded_items(chunks, seq_len))


def _padded_items(chunks, seq_len):
    """int32 [B, T] items of the chunks, padded at the end with item 0; None unless every chunk has items."""
    if any(seq.items is None for seq, _ in chunks):
        return None
    items = np.zeros((len(chunks), seq_len), dtype=np.int32)
    for row, (seq, offset) in enumerate(chunks):
        end = min(offset + seq_len, len(seq.skills))
        items[row, :end - offset] = seq.items[offset:end]
    return items


# A batch of `carried_batches`: a Batch's fields, plus lanes [B] int (the lane of each row, whose state the
# row continues) and reset [B] bool (the row is its student's first chunk: it starts from the initial state).
CarriedBatch = collections.namedtuple("CarriedBatch", Batch._fields + ("lanes", "reset"))


def carried_batches(sequences, seq_len, lanes, shuffle=False, seed=0):
    """Batches whose rows continue each other: a student's chunks of seq_len, in order, one per batch, so
    that a model can start each chunk from the state its previous chunk ended in (main.py's CARRY_STATE).

    There are `lanes` lanes (BATCH_SIZE): each takes the next student of the queue (the sequences in order,
    or permuted by np.random.RandomState(seed) with shuffle) and walks its chunks, one per batch, then takes
    the next student, whose first row is marked `reset`. A batch holds one row per busy lane (rows in lane
    order), so every batch is full until the queue is empty; only the last batches of the list, while the
    longest remaining students finish, hold fewer rows. Every chunk of make_batches is in exactly one row.

    Returns:
      CarriedBatches: a list-like of CarriedBatch, each padded when it is reached.
    """
    if seq_len < 1 or lanes < 1:
        raise ValueError("seq_len and lanes must be >= 1, got %r and %r" % (seq_len, lanes))
    order = np.random.RandomState(seed).permutation(len(sequences)) if shuffle else np.arange(len(sequences))
    queue = [int(i) for i in order if len(sequences[i].skills)]
    queue.reverse()  # popped from the end: first in order first
    lane_student, lane_offset = [None] * lanes, [0] * lanes
    plan = []  # per batch: [(sequence index, offset, lane)]
    while True:
        rows = []
        for lane in range(lanes):
            student = lane_student[lane]
            if student is None or lane_offset[lane] >= len(sequences[student].skills):
                lane_student[lane] = student = queue.pop() if queue else None
                lane_offset[lane] = 0
            if student is not None:
                rows.append((student, lane_offset[lane], lane))
                lane_offset[lane] += seq_len
        if not rows:
            return CarriedBatches(sequences, plan, seq_len)
        plan.append(rows)


class CarriedBatches(object):
    """The batches of carried_batches, each padded when it is reached (as Batches)."""

    def __init__(self, sequences, plan, seq_len):
        self.sequences, self.plan, self.seq_len = sequences, plan, seq_len

    def __len__(self):
        return len(self.plan)

    def __getitem__(self, index):
        rows = self.plan[index]
        batch = _pad_rows([(self.sequences[student], offset) for student, offset, _ in rows], self.seq_len)
        return CarriedBatch(*batch, lanes=np.array([lane for _, _, lane in rows], dtype=np.int64),
                            reset=np.array([offset == 0 for _, offset, _ in rows], dtype=bool))

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

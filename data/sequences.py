"""Student-level splits and fixed-length batches of (skill, answer) sequences. No TensorFlow.

`split_by_student` splits whole students (never chunks) into train / valid / test with a seeded shuffle.
`make_batches` cuts each student's sequence into consecutive chunks of `seq_len` (each chunk is trained as
an independent sequence, as the DKVMN paper does), pads each row at its END (skill 0, answer 0, mask 0) and
groups the rows into batches; T is the longest chunk of a batch (at most seq_len), and the last batch may
have fewer rows.
"""
import collections

import numpy as np

from data.dataset import DataError

Batch = collections.namedtuple("Batch", ["skills", "answers", "mask", "students", "offsets"])


def split_by_student(sequences, seed, valid_fraction, test_fraction):
    """Shuffle the students with `seed` and cut them into (train, valid, test) lists of Sequence.

    valid/test get round(fraction * students) students each (at least one when the fraction is > 0);
    the order inside each split follows the input order, so the result does not depend on the shuffle
    beyond who goes where.
    """
    _check_fractions(valid_fraction, test_fraction)
    n_students = len(sequences)
    n_valid = _split_size(valid_fraction, n_students)
    n_test = _split_size(test_fraction, n_students)
    if n_students - n_valid - n_test < 1:
        raise DataError("only %d students: too few to split into train / valid / test with fractions "
                        "%s / %s; use more data or smaller fractions" % (n_students, valid_fraction,
                                                                        test_fraction))
    order = np.random.RandomState(seed).permutation(n_students)
    split_of = np.zeros(n_students, dtype=np.int64)  # 0 train, 1 valid, 2 test
    split_of[order[:n_test]] = 2
    split_of[order[n_test:n_test + n_valid]] = 1
    return tuple([seq for seq, where in zip(sequences, split_of) if where == which] for which in (0, 1, 2))


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
    """List of (sequence, offset) for every consecutive chunk of at most seq_len interactions."""
    return [(seq, offset) for seq in sequences for offset in range(0, len(seq.skills), seq_len)]


def make_batches(sequences, seq_len, batch_size, shuffle=False, seed=0):
    """Padded batches of chunks: list of `Batch` (see the module docstring).

    Skills/answers are int32 [B, T], mask float32 [B, T] (1 on real positions), students [B] (ids),
    offsets int64 [B] (position of the chunk's first interaction in its student's sequence). T is the
    longest chunk of the batch (at most seq_len): both
    models run a loop over T, so padding short sequences up to seq_len would only burn time. With shuffle,
    the chunks are permuted by np.random.RandomState(seed) before batching.
    """
    if seq_len < 1 or batch_size < 1:
        raise ValueError("seq_len and batch_size must be >= 1, got %r and %r" % (seq_len, batch_size))
    chunks = chunk_sequences(sequences, seq_len)
    if shuffle:
        order = np.random.RandomState(seed).permutation(len(chunks))
        chunks = [chunks[i] for i in order]
    return [_pad_rows(chunks[start:start + batch_size], seq_len)
            for start in range(0, len(chunks), batch_size)]


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
    return Batch(skills, answers, mask, students, offsets)

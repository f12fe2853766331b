"""Student-level splits and fixed-length batches of (skill, answer) sequences. No TensorFlow.

`split_by_student` splits whole students (never chunks) into train / valid / test with a seeded shuffle.
`make_batches` cuts each student's sequence into consecutive chunks of `seq_len` (each chunk is trained as
an independent sequence, as the DKVMN paper does), pads each row at its END (skill 0, answer 0, mask 0) and
groups the rows into batches; T is the longest chunk of a batch (at most seq_len), and the last batch may
have fewer rows. It returns a `Batches`, which pads each batch only when it is reached (iterated or
indexed): an epoch over a large log holds one padded batch, not the whole split padded a second time.
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
    return Batch(skills, answers, mask, students, offsets)

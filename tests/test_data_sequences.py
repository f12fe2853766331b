"""Batching, chunking, padding, masks and student-level splits (data/sequences.py)."""
import numpy as np
import pytest

from data import Batch, DataError, StudentSplit, make_batches, split_by_student
from data.dataset import make_sequence
from data.sequences import holdout


def _seq(student, skills, answers, probs=None):
    return make_sequence(student, skills, answers, probs)


def test_chunks_are_consecutive_padded_at_the_end_with_mask():
    sequences = [_seq("a", [1, 2, 3, 4, 5], [1, 0, 1, 1, 0]), _seq("b", [7, 8], [0, 1])]
    batches = make_batches(sequences, seq_len=3, batch_size=2)
    assert len(batches) == 2 and all(isinstance(batch, Batch) for batch in batches)
    first, last = batches
    np.testing.assert_array_equal(first.skills, [[1, 2, 3], [4, 5, 0]])
    np.testing.assert_array_equal(first.answers, [[1, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(first.mask, [[1, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(first.offsets, [0, 3])
    assert first.students == ["a", "a"]
    np.testing.assert_array_equal(last.skills, [[7, 8]])  # last batch smaller, no filler row
    np.testing.assert_array_equal(last.mask, [[1, 1]])
    assert last.students == ["b"]
    assert first.skills.dtype == np.int32 and first.answers.dtype == np.int32
    assert first.mask.dtype == np.float32 and first.offsets.dtype == np.int64


def test_width_is_the_longest_chunk_of_the_batch():
    batch = make_batches([_seq("a", [1], [1]), _seq("b", [1, 2, 3], [1, 0, 1])], seq_len=5, batch_size=4)[0]
    assert batch.skills.shape == (2, 3)
    np.testing.assert_array_equal(batch.mask, [[1, 0, 0], [1, 1, 1]])


def test_shuffle_is_seeded_and_keeps_every_chunk():
    sequences = [_seq(str(i), [i] * 4, [1] * 4) for i in range(20)]
    shuffled = make_batches(sequences, seq_len=2, batch_size=8, shuffle=True, seed=3)
    again = make_batches(sequences, seq_len=2, batch_size=8, shuffle=True, seed=3)
    other = make_batches(sequences, seq_len=2, batch_size=8, shuffle=True, seed=4)
    order = [(s, o) for b in shuffled for s, o in zip(b.students, b.offsets.tolist())]
    assert order == [(s, o) for b in again for s, o in zip(b.students, b.offsets.tolist())]
    assert order != [(s, o) for b in other for s, o in zip(b.students, b.offsets.tolist())]
    assert sorted(order) == sorted((str(i), o) for i in range(20) for o in (0, 2))
    plain = make_batches(sequences, seq_len=2, batch_size=8)
    assert [s for b in plain for s in b.students][:4] == ["0", "0", "1", "1"]


def _names(sequences):
    return [seq.student for seq in sequences]


def _students(n):
    return [_seq("s%d" % i, [0], [1]) for i in range(n)]


def test_holdout_is_disjoint_seeded_sized_and_the_split_of_runs_made_before():
    sequences = _students(50)
    train, valid, test = split_by_student(sequences, holdout(1, 0.2, 0.3))
    names = [set(_names(part)) for part in (train, valid, test)]
    assert (len(train), len(valid), len(test)) == (25, 10, 15)
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    assert set.union(*names) == set(_names(sequences))
    # what every run made before the split designs did with its SEED 1: the first 15 of a seeded shuffle
    # test, the next 10 validate
    order = np.random.RandomState(1).permutation(50)
    assert names[2] == set("s%d" % i for i in order[:15]) and names[1] == set("s%d" % i for i in order[15:25])
    other = split_by_student(sequences, holdout(2, 0.2, 0.3))
    assert _names(other[2]) != _names(test)


def _split(design, fold, folds=5, seed=0, test_fraction=0.2, valid_fold=0):
    return StudentSplit(design, seed, folds, fold, valid_fold, 0.2, test_fraction)


@pytest.mark.parametrize("n_students", [5, 23, 50])
def test_cross_validation_tests_and_validates_every_student_exactly_once(n_students):
    sequences = _students(n_students)
    tested, validated = [], []
    for fold in range(1, 6):
        train, valid, test = split_by_student(sequences, _split("cross_validation", fold))
        assert not set(_names(valid)) & set(_names(test)) and not set(_names(train)) & set(_names(test))
        assert sorted(_names(train) + _names(valid) + _names(test)) == sorted(_names(sequences))
        assert abs(len(test) - n_students / 5.0) < 1 and abs(len(valid) - n_students / 5.0) < 1
        tested += _names(test)
        validated += _names(valid)
    assert sorted(tested) == sorted(validated) == sorted(_names(sequences))


def test_cross_validation_choosing_the_validation_fold_never_validates_on_the_test_fold():
    """For outer fold 2, validation folds 1, 3, 4, 5 are four train / validation cuts of the same non-test
    students: a search may average over them without seeing fold 2's test students."""
    sequences = _students(27)
    default = split_by_student(sequences, _split("cross_validation", 2))
    next_fold = split_by_student(sequences, _split("cross_validation", 2, valid_fold=3))
    assert [_names(part) for part in next_fold] == [_names(part) for part in default]
    validated = []
    for valid_fold in (1, 3, 4, 5):
        train, valid, test = split_by_student(sequences, _split("cross_validation", 2, valid_fold=valid_fold))
        assert _names(test) == _names(default[2]) and not set(_names(valid)) & set(_names(test))
        validated += _names(valid)
    assert sorted(validated) == sorted(_names(default[0]) + _names(default[1]))


def test_fixed_test_keeps_one_test_split_and_cuts_the_others_into_validation_folds():
    sequences = _students(42)
    splits = [split_by_student(sequences, _split("fixed_test", fold, folds=4)) for fold in range(1, 5)]
    tests = [_names(test) for _, _, test in splits]
    assert all(test == tests[0] for test in tests) and len(tests[0]) == 8  # round(0.2 * 42)
    validated = [name for _, valid, _ in splits for name in _names(valid)]
    assert sorted(validated) == sorted(set(_names(sequences)) - set(tests[0]))  # each once
    for train, valid, test in splits:
        assert not set(_names(valid)) & set(_names(test)) and not set(_names(train)) & set(_names(valid))
        assert len(train) + len(valid) + len(test) == 42


def test_the_split_seed_decides_the_split():
    sequences = _students(30)
    for design in ("cross_validation", "fixed_test"):
        first = split_by_student(sequences, _split(design, 2, seed=0))
        assert [_names(part) for part in split_by_student(sequences, _split(design, 2, seed=0))] == \
            [_names(part) for part in first]
        assert _names(split_by_student(sequences, _split(design, 2, seed=1))[1]) != _names(first[1])


@pytest.mark.parametrize("split, words", [
    (_split("cross_validation", 1), "only 4 students: cross-validation with 5 folds needs at least 5"),
    (_split("fixed_test", 1, folds=4), "only 4 students: a fixed test split of 1 and 4 validation folds need "
                                       "at least 5"),
    (_split("cross_validation", 6), "fold must be in 1..5"),
    (_split("cross_validation", 2, valid_fold=2), "valid_fold must be 0 .* or in 1..5 other than fold 2"),
    (_split("fixed_test", 2, valid_fold=3), "valid_fold applies to cross_validation only"),
    (_split("cross_validation", 1, folds=2), "cross_validation needs folds >= 3"),
    (_split("fixed_test", 1, folds=1), "fixed_test needs folds >= 2"),
    (_split("k_fold", 1), "split_design must be one of"),
    (_split("fixed_test", 1.5), "fold must be a whole number"),
    (_split("fixed_test", "one"), "fold must be a whole number, got 'one'"),
    (_split("fixed_test", 1, test_fraction=1.0), "test_fraction must be in \\[0, 1\\)"),
])
def test_bad_split_raises_data_error(split, words):
    with pytest.raises(DataError, match=words):
        split_by_student(_students(4), split)


def test_cross_validation_reads_no_fraction():
    sequences = _students(10)
    split = _split("cross_validation", 1)
    assert [_names(part) for part in split_by_student(sequences, split._replace(valid_fraction=0.9))] == \
        [_names(part) for part in split_by_student(sequences, split)]


@pytest.mark.parametrize("valid, test, words", [(0.5, 0.5, "below 1"), (-0.1, 0.2, "valid_fraction"),
                                                (0.2, 1.0, "test_fraction")])
def test_bad_fractions_raise_data_error(valid, test, words):
    with pytest.raises(DataError, match=words):
        split_by_student(_students(10), holdout(0, valid, test))


def test_too_few_students_to_split_says_so():
    with pytest.raises(DataError, match="too few"):
        split_by_student(_students(2), holdout(0, 0.2, 0.2))


def test_batches_are_padded_when_reached_and_equal_the_chunk_lists_batches():
    # a Batches' batches (padded one at a time) are those of chunk_sequences' list, permuted the same way
    from data.sequences import Batches, _pad_rows, chunk_sequences
    rng = np.random.RandomState(0)
    sequences = [_seq(str(i), rng.randint(9, size=n), rng.randint(2, size=n)) for i, n in
                 enumerate([0, 1, 5, 7, 3, 0, 12, 2])]
    for shuffle in (False, True):
        batches = make_batches(sequences, seq_len=3, batch_size=4, shuffle=shuffle, seed=5)
        chunks = chunk_sequences(sequences, 3)
        if shuffle:
            chunks = [chunks[i] for i in np.random.RandomState(5).permutation(len(chunks))]
        expected = [_pad_rows(chunks[start:start + 4], 3) for start in range(0, len(chunks), 4)]
        assert isinstance(batches, Batches) and len(batches) == len(expected) == 3
        for batch, wanted in zip(list(batches) + [batches[-1]], expected + [expected[-1]]):
            assert batch.students == wanted.students
            for field in ("skills", "answers", "mask", "offsets"):
                np.testing.assert_array_equal(getattr(batch, field), getattr(wanted, field))
        assert [b.students for b in batches[1:3]] == [b.students for b in expected[1:3]]
        with pytest.raises(IndexError):
            batches[3]

"""utils.trained_model: EvaluationBatches (a split scored shortest first, predictions back in split order)
and loops_per_batch."""
import os

import numpy as np

from data import Sequence, make_batches
from utils.metrics import flatten_predictions
from utils.trained_model import EvaluationBatches


def _sequences(lengths, seed=0):
    rng = np.random.RandomState(seed)
    return [Sequence("s%d" % i, rng.randint(0, 9, n).astype(np.int32), rng.randint(0, 2, n).astype(np.int32),
                     None) for i, n in enumerate(lengths)]


def _fake_outputs(batches):
    """A 'prediction' per slot that depends only on what the slot holds, whatever batch it sits in."""
    return [0.01 * b.skills + 0.3 * b.answers + 1e-4 * (np.asarray(b.offsets)[:, None]
                                                         + np.arange(b.skills.shape[1])) for b in batches]


def test_pads_less_and_gives_the_split_order_back():
    lengths = [3, 17, 5, 40, 2, 9, 33, 5, 12, 25, 7, 1]     # seq_len 10: the long ones are cut into chunks
    sequences = _sequences(lengths)
    plain = make_batches(sequences, 10, 4)
    scored = EvaluationBatches(sequences, 10, 4)
    assert sum(b.skills.size for b in scored) < sum(b.skills.size for b in plain)
    expected = flatten_predictions(plain, _fake_outputs(plain))
    got = scored.in_split_order(flatten_predictions(scored, _fake_outputs(scored)))
    assert sorted(got) == sorted(expected)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_repeated_student_ids_keep_the_split_order():
    sequences = _sequences([6, 2, 4])
    sequences[2] = sequences[2]._replace(student="s0")
    scored = EvaluationBatches(sequences, 10, 2)
    plain = make_batches(sequences, 10, 2)
    for a, b in zip(scored, plain):
        np.testing.assert_array_equal(a.skills, b.skills)
    predictions = flatten_predictions(scored, _fake_outputs(scored))
    np.testing.assert_array_equal(scored.in_split_order(predictions)["p"], predictions["p"])


def test_a_batch_runs_in_no_more_loops_than_threads():
    from utils.trained_model import loops_per_batch
    assert loops_per_batch({"batch_parts": 2, "threads": 2}) == 2
    assert loops_per_batch({"batch_parts": 2, "threads": 1}) == 1   # a Ray run of one CPU: one loop
    assert loops_per_batch({"batch_parts": 4, "threads": 0}) == min(4, os.cpu_count())   # 0: the cores
    assert loops_per_batch({"threads": 2}) == 1                     # a run made before BATCH_PARTS

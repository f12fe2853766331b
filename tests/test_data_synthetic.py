"""The Synthetic-5 generator (data/synthetic.py)."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from data import DataError
from tiny_runs import load_data
from data.synthetic import rank_auc


def _small(**options):
    options.setdefault("synthetic_students", 300)
    return load_data("synthetic", "unused", **options)


def test_shapes_true_concepts_and_probs():
    dataset = _small(synthetic_exercises=20, synthetic_concepts=4)
    assert dataset.n_skills == 20 and len(dataset.skill_names) == 20 and len(dataset.skill_ids) == 20
    assert dataset.true_concepts.shape == (20,)
    assert set(dataset.true_concepts.tolist()) <= set(range(4))
    assert len(dataset.train) + len(dataset.valid) + len(dataset.test) == 300
    for seq in dataset.train[:5]:
        np.testing.assert_array_equal(seq.skills, np.arange(20))  # same exercises, same order
        assert seq.true_probs.shape == (20,) and seq.true_probs.dtype == np.float32
        assert ((seq.true_probs >= 0.25) & (seq.true_probs <= 1)).all()  # guess floor c = 0.25
        assert set(seq.answers.tolist()) <= {0, 1}


def test_oracle_auc_is_well_above_chance():
    dataset = _small(synthetic_students=1000)
    answers = np.concatenate([seq.answers for seq in dataset.test])
    probs = np.concatenate([seq.true_probs for seq in dataset.test])
    auc = roc_auc_score(answers, probs)
    assert auc > 0.7
    assert abs(rank_auc(answers, probs) - auc) < 1e-9
    assert any("oracle AUC" in line for line in dataset.report)


def test_learning_raises_success_on_later_practice():
    dataset = _small(synthetic_students=2000, synthetic_exercises=50, synthetic_concepts=1)
    probs = np.stack([seq.true_probs for seq in dataset.train])
    # one concept practised 50 times: skill +0.1 each time, so P(correct) rises on average
    assert probs[:, 40:].mean() > probs[:, :10].mean() + 0.05


def test_split_seed_reproduces_and_changes_the_data():
    first, again, other = _small(split_seed=5), _small(split_seed=5), _small(split_seed=6)
    np.testing.assert_array_equal(first.train[0].answers, again.train[0].answers)
    assert [s.student for s in first.test] == [s.student for s in again.test]
    assert first.fingerprint == again.fingerprint != other.fingerprint
    all_first = np.concatenate([s.answers for s in first.train])
    assert [s.student for s in first.test] != [s.student for s in other.test]
    assert not np.array_equal(all_first, np.concatenate([s.answers for s in other.train]))


def test_default_sizes_and_report():
    dataset = load_data("synthetic", "unused")
    assert (len(dataset.train), len(dataset.valid), len(dataset.test)) == (2400, 800, 800)
    assert dataset.n_skills == 50 and len(set(dataset.true_concepts.tolist())) == 5
    assert "4,000 students x 50 exercises" in dataset.report[0]


def test_bad_size_raises():
    with pytest.raises(DataError, match="synthetic_students"):
        _small(synthetic_students=0)

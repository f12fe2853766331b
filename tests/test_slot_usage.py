"""plots/lib/clusters.py: how a DKVMN run uses its memory slots, on tiny made-up weights."""
import numpy as np
import pytest

from plots.lib.clusters import adjusted_rand, mean_entropy, slot_shares, slot_usage


def test_collapsed_weights_use_one_slot():
    # four skills, three slots: every skill reads slot 1 most, the weights far from one-hot
    weights = np.array([[0.3, 0.4, 0.3], [0.2, 0.5, 0.3], [0.35, 0.4, 0.25], [0.1, 0.8, 0.1]])
    usage = slot_usage(weights)
    assert usage["slots_used"] == 1
    assert usage["largest_share"] == 1.0
    assert usage["shares"] == [1.0, 0.0, 0.0]
    assert 0.6 < usage["mean_entropy"] < 1.0


def test_shares_count_each_skills_arg_max_slot():
    weights = np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 0.8], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]])
    assert slot_shares(weights).tolist() == [0.25, 0.25, 0.5]
    assert slot_usage(weights)["shares"] == [0.5, 0.25, 0.25]


def test_entropy_is_zero_for_one_hot_and_one_for_uniform():
    assert mean_entropy(np.eye(4)) == pytest.approx(0.0, abs=1e-9)
    assert mean_entropy(np.full((3, 4), 0.25)) == pytest.approx(1.0)
    half = np.array([[0.5, 0.5, 0.0, 0.0]])
    assert mean_entropy(half) == pytest.approx(np.log(2) / np.log(4))


def rows(clusters, concepts):
    return [{"cluster": c, "true_concept": t} for c, t in zip(clusters, concepts)]


def test_adjusted_rand_ignores_slot_names_and_unknown_concepts():
    assert adjusted_rand(rows([2, 2, 0, 0, 1], [0, 0, 1, 1, ""])) == (1.0, 4)
    score, known = adjusted_rand(rows([0, 0, 0, 0], [0, 0, 1, 1]))  # one slot for two concepts
    assert score == pytest.approx(0.0) and known == 4
    assert adjusted_rand(rows([0, 1], [3, ""])) == (None, 1)

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from utils import stats
from utils.metrics import auc_interval, binary_metrics, split_metrics


def test_metrics_match_their_definitions():
    answers = np.array([1, 0, 1, 1, 0, 0])
    probabilities = np.array([0.9, 0.2, 0.4, 0.7, 0.6, 0.1])
    metrics = binary_metrics(answers, probabilities)
    expected_loss = -np.mean(answers * np.log(probabilities) + (1 - answers) * np.log(1 - probabilities))
    assert metrics["loss"] == pytest.approx(expected_loss)
    assert metrics["acc"] == pytest.approx(4 / 6)
    assert metrics["auc"] == pytest.approx(roc_auc_score(answers, probabilities))


def test_each_evaluation_starts_from_scratch():
    good = binary_metrics([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2])
    bad = binary_metrics([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8])
    again = binary_metrics([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2])
    assert good["auc"] == 1.0 and bad["auc"] == 0.0 and again == good


def test_single_class_gives_nan_auc_not_an_exception():
    metrics = binary_metrics([1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(metrics["auc"]) and metrics["acc"] == pytest.approx(2 / 3)


def test_saturated_probabilities_keep_the_loss_finite():
    assert math.isfinite(binary_metrics([1, 0], [0.0, 1.0])["loss"])


def test_from2_leaves_out_each_chunks_first_position():
    predictions = {"answer": np.array([1, 0, 1, 0]), "p": np.array([0.1, 0.2, 0.9, 0.3]),
                   "chunk_position": np.array([0, 1, 2, 0])}
    metrics = split_metrics(predictions)
    assert metrics["auc_from2"] == 1.0
    assert metrics["auc"] == pytest.approx(roc_auc_score([1, 0, 1, 0], [0.1, 0.2, 0.9, 0.3]))


def test_auc_interval_resamples_students_with_the_seed():
    random = np.random.RandomState(3)
    students = np.repeat(["s%d" % i for i in range(40)], 6)
    ability = np.repeat(random.normal(size=40), 6)
    answers = (random.uniform(size=students.size) < 1 / (1 + np.exp(-ability))).astype(int)
    predictions = {"student": students, "answer": answers, "p": 1 / (1 + np.exp(-ability - random.normal(
        size=students.size)))}
    interval = auc_interval(predictions, seed=7, n_resamples=200)
    expected = stats.bootstrap_auc_ci(answers, predictions["p"], students, n_resamples=200, seed=7)
    assert (interval["auc_ci_low"], interval["auc_ci_high"]) == (expected["low"], expected["high"])
    assert interval["auc_ci_low"] < roc_auc_score(answers, predictions["p"]) < interval["auc_ci_high"]
    assert interval["auc_ci_resamples"] == 200
    assert auc_interval(predictions, seed=8, n_resamples=200) != interval  # the seed is used
    # one student: every resample draws that student, whose answers hold both classes
    one = {"student": np.array(["a"] * 4), "answer": np.array([0, 1, 0, 1]), "p": np.array([.1, .9, .2, .8])}
    assert auc_interval(one, seed=0, n_resamples=10) == {"auc_ci_low": 1.0, "auc_ci_high": 1.0,
                                                         "auc_ci_resamples": 10}


def test_auc_interval_counts_only_resamples_that_drew_both_classes():
    # two students, one always right and one always wrong: half the resamples draw a single class
    predictions = {"student": np.array(["a", "a", "b", "b"]), "answer": np.array([1, 1, 0, 0]),
                   "p": np.array([0.9, 0.8, 0.3, 0.1])}
    interval = auc_interval(predictions, seed=0, n_resamples=400)
    assert 100 < interval["auc_ci_resamples"] < 300 and interval["auc_ci_low"] == 1.0

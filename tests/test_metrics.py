import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from utils.metrics import binary_metrics, split_metrics


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

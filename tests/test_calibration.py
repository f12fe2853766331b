"""Calibration and breakdown metrics (utils/metrics.py) on constructed predictions, and the reliability
diagram (plots/lib/calibration.py)."""
import math

import matplotlib.image
import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from plots.lib.calibration import draw_reliability_diagram
from utils import metrics


def calibrated(n=200000, low=0.0, high=1.0, seed=0):
    """Answers drawn with exactly the predicted probability (uniform in [low, high]): a calibrated model."""
    random = np.random.RandomState(seed)
    p = random.uniform(low, high, size=n)
    return (random.uniform(size=n) < p).astype(int), p


def test_brier_score_is_sklearns():
    answers, p = np.array([1, 0, 1, 1, 0]), np.array([0.9, 0.3, 0.6, 0.2, 0.0])
    assert metrics.brier_score(answers, p) == pytest.approx(brier_score_loss(answers, p))
    assert math.isnan(metrics.brier_score([], []))


def test_calibrated_predictions_have_ece_near_zero():
    answers, p = calibrated()
    assert metrics.expected_calibration_error(answers, p) < 0.01


def test_overconfident_predictions_have_ece_of_their_gap():
    # Says 0.9 for answers that are right half the time: every prediction is 0.4 too high.
    answers = np.tile([1, 0], 500)
    assert metrics.expected_calibration_error(answers, np.full(answers.size, 0.9)) == pytest.approx(0.4)


def test_ece_weights_each_bin_by_its_count():
    # 30 predictions of 0.15 that are all right (gap 0.85), 10 of 0.95 that are right 9 times (gap 0.05).
    answers = np.array([1] * 30 + [1] * 9 + [0])
    p = np.array([0.15] * 30 + [0.95] * 10)
    assert metrics.expected_calibration_error(answers, p) == pytest.approx((30 * 0.85 + 10 * 0.05) / 40)


def test_reliability_bins_cover_zero_to_one_with_equal_widths():
    answers = np.array([0, 1, 1, 0, 1, 1])
    p = np.array([0.0, 0.05, 0.55, 0.59, 0.999, 1.0])
    bins = metrics.reliability_bins(answers, p, n_bins=5)
    assert [(b["low"], b["high"]) for b in bins] == [
        pytest.approx((i / 5.0, (i + 1) / 5.0)) for i in range(5)]
    assert [b["count"] for b in bins] == [2, 0, 2, 0, 2]  # p = 1.0 falls in the last bin
    assert bins[0]["mean_p"] == pytest.approx(0.025) and bins[0]["frac_correct"] == 0.5
    assert bins[4]["frac_correct"] == 1.0 and bins[1]["mean_p"] is None and bins[1]["frac_correct"] is None


def test_auc_by_skill_counts_each_skill_and_leaves_one_class_skills_without_auc():
    skills = np.array([3, 1, 3, 1, 3, 1, 7, 7])
    answers = np.array([1, 0, 0, 1, 1, 1, 1, 1])
    p = np.array([0.8, 0.3, 0.4, 0.6, 0.2, 0.2, 0.9, 0.5])
    rows = metrics.auc_by_skill(skills, answers, p)
    assert [(skill, count) for skill, count, _ in rows] == [(1, 3), (3, 3), (7, 2)]
    assert rows[0][2] == pytest.approx(roc_auc_score([0, 1, 1], [0.3, 0.6, 0.2]))
    assert rows[1][2] == pytest.approx(roc_auc_score([1, 0, 1], [0.8, 0.4, 0.2]))
    assert rows[2][2] is None


def test_auc_by_position_uses_one_based_ranges():
    # 0-based positions 0..249: 1-based 1-10, 11-50, 51-200 and 201-250 hold 10, 40, 150 and 50 answers.
    random = np.random.RandomState(0)
    positions = np.arange(250)
    answers = np.tile([0, 1], 125)
    p = random.uniform(size=250)
    p[:10] = answers[:10]           # perfect on the first ten answers
    p[200:] = 1 - answers[200:]     # exactly wrong past position 200
    rows = metrics.auc_by_position(positions, answers, p)
    assert [(r["positions"], r["first"], r["last"], r["count"]) for r in rows] == [
        ("1-10", 1, 10, 10), ("11-50", 11, 50, 40), ("51-200", 51, 200, 150), (">200", 201, None, 50)]
    assert rows[0]["auc"] == 1.0 and rows[3]["auc"] == 0.0
    assert rows[1]["auc"] == pytest.approx(roc_auc_score(answers[10:50], p[10:50]))


def test_auc_by_position_of_an_empty_or_one_class_range_is_none():
    rows = metrics.auc_by_position([0, 1, 2, 60], [1, 0, 1, 1], [0.9, 0.2, 0.6, 0.7])
    assert [r["count"] for r in rows] == [3, 0, 1, 0]
    assert rows[0]["auc"] == 1.0 and rows[1]["auc"] is None and rows[2]["auc"] is None


def test_reliability_diagram_is_a_png_with_empty_bins_too(tmp_path):
    answers, p = calibrated(2000, low=0.3, high=0.7)  # empty bins at both ends
    bins = metrics.reliability_bins(answers, p)
    assert bins[0]["count"] == 0 and bins[9]["count"] == 0
    path = str(tmp_path / "8_calibration.png")
    ece = metrics.expected_calibration_error(answers, p)
    draw_reliability_diagram(bins, path, "calibrated, ECE %.3f" % ece)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > image.shape[1] > 300 and image[..., :3].std() > 0.05  # drawn, not blank

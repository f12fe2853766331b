"""utils/stats.py on constructed predictions whose answer is known, and against scikit-learn and scipy."""
import math

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from utils import stats


def classroom(n_students, answers_per_student=20, seed=0):
    """Answers of students of different ability, a model that knows the ability (good), two that know it
    equally less well (weak, weak_twin: the same signal, independent noise) and one that guesses (noise);
    predictions rounded to 2 decimals so that many tie."""
    random = np.random.RandomState(seed)
    students = np.repeat(["s%03d" % i for i in range(n_students)], answers_per_student)
    ability = np.repeat(random.normal(size=n_students), answers_per_student)
    answers = (random.uniform(size=students.size) < 1.0 / (1.0 + np.exp(-2.0 * ability))).astype(int)
    sigmoid = lambda x: np.round(1.0 / (1.0 + np.exp(-x)), 2)
    return {"students": students, "answers": answers,
            "good": sigmoid(2.0 * ability + 0.3 * random.normal(size=students.size)),
            "weak": sigmoid(0.5 * ability + 1.5 * random.normal(size=students.size)),
            "weak_twin": sigmoid(0.5 * ability + 1.5 * random.normal(size=students.size)),
            "noise": sigmoid(random.normal(size=students.size))}


def width(interval):
    return interval["high"] - interval["low"]


# ---- the weighted AUC of one resample -------------------------------------------------------------------

def test_weighted_auc_with_ties_equals_sklearn_with_sample_weights():
    data = classroom(30)
    names = np.unique(data["students"])
    weights = np.random.RandomState(1).randint(0, 4, size=names.size).astype(float)
    per_answer = weights[np.searchsorted(names, data["students"])]
    assert len(np.unique(data["good"])) < data["good"].size / 3  # ties are exercised
    expected = roc_auc_score(data["answers"], data["good"], sample_weight=per_answer)
    assert stats.weighted_auc(data["answers"], data["good"], data["students"], weights) == pytest.approx(
        expected, abs=1e-12)


def test_weighted_auc_of_single_answers_and_several_weightings_at_once():
    answers = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.9, 0.5, 0.3, 0.3, 0.1, 0.5, 0.6])
    weights = np.array([[1, 2, 0, 3, 1, 1, 2, 0], [1, 1, 1, 1, 1, 1, 1, 1]], dtype=float).T
    aucs = stats.weighted_auc(answers, p, np.arange(answers.size), weights)
    for column in range(weights.shape[1]):
        assert aucs[column] == pytest.approx(roc_auc_score(answers, p, sample_weight=weights[:, column]))


def test_weighted_auc_equals_sklearn_on_many_small_random_cases():
    # Few distinct p values: long runs of one class and mixed ties, the cases the rank blocks merge or keep.
    random = np.random.RandomState(2)
    for _ in range(200):
        n = random.randint(2, 30)
        answers = (random.uniform(size=n) < random.uniform()).astype(int)
        p = random.randint(0, random.randint(1, 8), size=n) / 8.0
        weights = random.randint(0, 3, size=n).astype(float)
        if 0 < np.sum(weights * answers) and 0 < np.sum(weights * (1 - answers)):
            expected = roc_auc_score(answers, p, sample_weight=weights)
            assert stats.weighted_auc(answers, p, np.arange(n), weights) == pytest.approx(expected, abs=1e-12)
        else:
            assert math.isnan(stats.weighted_auc(answers, p, np.arange(n), weights))


def test_weighted_auc_is_nan_when_the_weights_leave_one_class():
    answers, p = np.array([1, 0, 1]), np.array([0.8, 0.2, 0.6])
    assert math.isnan(stats.weighted_auc(answers, p, np.arange(3), [1.0, 0.0, 2.0]))


# ---- bootstrap interval of one AUC ----------------------------------------------------------------------

def test_interval_holds_the_point_estimate_which_is_sklearns_auc():
    data = classroom(80)
    interval = stats.bootstrap_auc_ci(data["answers"], data["good"], data["students"], n_resamples=300)
    assert interval["auc"] == pytest.approx(roc_auc_score(data["answers"], data["good"]), abs=1e-15)
    assert interval["low"] < interval["auc"] < interval["high"]
    assert interval["n_students"] == 80 and interval["n_resamples"] == 300 and interval["n_skipped"] == 0
    assert interval["level"] == 0.95


def test_same_seed_same_interval_other_seed_other_interval():
    data = classroom(40)
    args = (data["answers"], data["good"], data["students"])
    first = stats.bootstrap_auc_ci(*args, n_resamples=200, seed=3)
    assert stats.bootstrap_auc_ci(*args, n_resamples=200, seed=3) == first
    other = stats.bootstrap_auc_ci(*args, n_resamples=200, seed=4)
    assert (other["low"], other["high"]) != (first["low"], first["high"])
    assert other["auc"] == first["auc"]


def test_interval_narrows_with_more_students():
    few, many = classroom(25, seed=1), classroom(400, seed=1)
    narrow = stats.bootstrap_auc_ci(many["answers"], many["good"], many["students"], n_resamples=300)
    wide = stats.bootstrap_auc_ci(few["answers"], few["good"], few["students"], n_resamples=300)
    assert width(narrow) < 0.5 * width(wide)


def test_a_higher_level_gives_a_wider_interval():
    data = classroom(60)
    args = (data["answers"], data["good"], data["students"])
    assert width(stats.bootstrap_auc_ci(*args, n_resamples=300, level=0.99)) > width(
        stats.bootstrap_auc_ci(*args, n_resamples=300, level=0.8))


def test_resampling_students_not_answers_widens_the_interval_of_clustered_answers():
    # Every answer of a student has the same p and the same answer: 20 students carry all the information,
    # so an interval over 400 "independent" answers would be far too narrow.
    random = np.random.RandomState(0)
    per_student = 20
    p_student = np.round(random.uniform(size=20), 2)
    answers = np.repeat((random.uniform(size=20) < p_student).astype(int), per_student)
    p, students = np.repeat(p_student, per_student), np.repeat(np.arange(20), per_student)
    by_student = stats.bootstrap_auc_ci(answers, p, students, n_resamples=400)
    by_answer = stats.bootstrap_auc_ci(answers, p, np.arange(answers.size), n_resamples=400)
    assert width(by_student) > 2.5 * width(by_answer)


def test_resamples_that_draw_one_class_are_skipped_and_counted():
    # Only student "c" ever fails: a resample of 3 students misses "c" with probability (2/3)^3 = 0.30.
    students = np.array(["a", "a", "b", "b", "c", "c"])
    answers = np.array([1, 1, 1, 1, 0, 1])
    p = np.array([0.9, 0.6, 0.7, 0.8, 0.2, 0.5])
    interval = stats.bootstrap_auc_ci(answers, p, students, n_resamples=1000)
    assert 230 < interval["n_skipped"] < 370
    assert interval["low"] <= interval["auc"] <= interval["high"]


def test_single_class_data_gives_nan_not_an_exception():
    interval = stats.bootstrap_auc_ci([1, 1, 1], [0.2, 0.5, 0.9], ["a", "b", "c"], n_resamples=50)
    assert math.isnan(interval["auc"]) and math.isnan(interval["low"]) and interval["n_skipped"] == 50


def test_no_data_gives_nan_not_an_exception():
    interval = stats.bootstrap_auc_ci([], [], [], n_resamples=10)
    assert math.isnan(interval["auc"]) and interval["n_students"] == 0 and interval["n_skipped"] == 10


def test_inputs_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="one entry per answer"):
        stats.bootstrap_auc_ci([1, 0, 1], [0.2, 0.5], ["a", "b", "c"])
    with pytest.raises(ValueError, match="0 or 1"):
        stats.bootstrap_auc_ci([1, 2], [0.2, 0.5], ["a", "b"])


# ---- paired bootstrap ----------------------------------------------------------------------------------

def test_paired_bootstrap_of_identical_predictions_is_difference_zero_and_p_one():
    data = classroom(50)
    result = stats.paired_bootstrap_auc_difference(data["answers"], data["good"], data["good"].copy(),
                                                   data["students"], n_resamples=300)
    assert result["difference"] == 0 and result["low"] == 0 and result["high"] == 0
    assert result["p_value"] == 1.0


def test_paired_bootstrap_finds_the_clearly_better_model():
    data = classroom(100)
    better = stats.paired_bootstrap_auc_difference(data["answers"], data["good"], data["weak"],
                                                   data["students"], n_resamples=1000)
    assert better["p_value"] < 0.01 and 0 < better["low"] < better["difference"] < better["high"]
    assert better["auc_a"] == pytest.approx(roc_auc_score(data["answers"], data["good"]))
    assert better["auc_b"] == pytest.approx(roc_auc_score(data["answers"], data["weak"]))
    assert better["difference"] == pytest.approx(better["auc_a"] - better["auc_b"])
    worse = stats.paired_bootstrap_auc_difference(data["answers"], data["weak"], data["good"],
                                                  data["students"], n_resamples=1000)
    assert worse["difference"] == pytest.approx(-better["difference"])
    assert worse["low"] == pytest.approx(-better["high"]) and worse["p_value"] == better["p_value"]


def test_paired_bootstrap_uses_the_resamples_of_the_single_model_interval():
    data = classroom(40)
    args = (data["answers"], data["good"], data["students"])
    paired = stats.paired_bootstrap_auc_difference(data["answers"], data["good"], data["noise"],
                                                   data["students"], n_resamples=200, seed=7)
    alone = stats.bootstrap_auc_ci(*args, n_resamples=200, seed=7)
    assert paired["n_students"] == alone["n_students"] and paired["auc_a"] == alone["auc"]
    # Pairing removes what the models share: the interval of the difference of a model with itself
    # shifted by a constant has width 0, while each model's own interval does not.
    shifted = stats.paired_bootstrap_auc_difference(data["answers"], data["good"], data["good"] * 0.5,
                                                    data["students"], n_resamples=200, seed=7)
    assert width(shifted) == 0 and width(alone) > 0


def test_two_equally_good_models_are_not_found_different():
    data = classroom(100, seed=2)
    result = stats.paired_bootstrap_auc_difference(data["answers"], data["weak"], data["weak_twin"],
                                                   data["students"], n_resamples=500)
    assert result["p_value"] > 0.05 and result["low"] < 0 < result["high"]


# ---- DeLong ---------------------------------------------------------------------------------------------

def delong_by_definition(answers, p_a, p_b):
    """DeLong's z from the pairwise comparisons of the 1988 paper (O(m n)), to check the midrank form."""
    answers = np.asarray(answers)
    components = []
    for p in (p_a, p_b):
        positives, negatives = p[answers == 1], p[answers == 0]
        psi = (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives[None, :])
        components.append((psi.mean(axis=1), psi.mean(axis=0)))
    (v10_a, v01_a), (v10_b, v01_b) = components
    s10, s01 = np.cov(np.vstack([v10_a, v10_b])), np.cov(np.vstack([v01_a, v01_b]))
    variance = ((s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / v10_a.size
                + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / v01_a.size)
    return (v10_a.mean() - v10_b.mean()) / np.sqrt(variance)


def test_delong_matches_its_definition_and_sklearn():
    data = classroom(15, seed=3)
    result = stats.delong_test(data["answers"], data["weak"], data["noise"])
    assert result["z"] == pytest.approx(delong_by_definition(data["answers"], data["weak"], data["noise"]))
    assert result["p_value"] == pytest.approx(2 * scipy.stats.norm.sf(abs(result["z"])))
    assert result["auc_a"] == pytest.approx(roc_auc_score(data["answers"], data["weak"]))
    assert result["auc_b"] == pytest.approx(roc_auc_score(data["answers"], data["noise"]))
    assert result["difference"] == pytest.approx(result["auc_a"] - result["auc_b"])


def test_delong_of_identical_predictions_is_difference_zero_and_p_one():
    data = classroom(30)
    result = stats.delong_test(data["answers"], data["good"], data["good"].copy())
    assert result["difference"] == 0 and result["z"] == 0 and result["p_value"] == 1.0


def test_delong_finds_the_clearly_better_model():
    data = classroom(100)
    result = stats.delong_test(data["answers"], data["good"], data["weak"])
    assert result["p_value"] < 0.01 and result["z"] > 0
    assert stats.delong_test(data["answers"], data["weak"], data["good"])["z"] == pytest.approx(-result["z"])


def test_delong_of_single_class_is_nan():
    result = stats.delong_test([0, 0], [0.1, 0.4], [0.3, 0.2])
    assert math.isnan(result["z"]) and math.isnan(result["p_value"])


# ---- across folds ---------------------------------------------------------------------------------------

def test_mean_std_t_ci_is_scipys_t_interval():
    values = [0.812, 0.815, 0.809, 0.818, 0.811]
    summary = stats.mean_std_t_ci(values)
    low, high = scipy.stats.t.interval(0.95, len(values) - 1, loc=np.mean(values),
                                       scale=scipy.stats.sem(values))
    assert summary["mean"] == pytest.approx(np.mean(values)) and summary["n"] == 5
    assert summary["std"] == pytest.approx(np.std(values, ddof=1))
    assert (summary["low"], summary["high"]) == (pytest.approx(low), pytest.approx(high))


def test_mean_std_t_ci_of_one_or_no_value():
    one = stats.mean_std_t_ci([0.8])
    assert one["mean"] == 0.8 and one["std"] is None and one["low"] is None and one["high"] is None
    assert stats.mean_std_t_ci([])["mean"] is None


def test_paired_t_test_is_scipys_ttest_rel():
    a, b = [0.815, 0.814, 0.816, 0.815, 0.813], [0.817, 0.8185, 0.819, 0.8175, 0.818]
    result = stats.paired_t_test(a, b)
    expected = scipy.stats.ttest_rel(a, b)
    assert result["t"] == pytest.approx(expected[0]) and result["p_value"] == pytest.approx(expected[1])
    assert result["mean_difference"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert result["low"] < result["mean_difference"] < result["high"] < 0 and result["n"] == 5


def test_paired_t_test_of_equal_values_and_of_too_few():
    same = stats.paired_t_test([0.8, 0.81, 0.82], [0.8, 0.81, 0.82])
    assert same["mean_difference"] == 0 and same["t"] == 0 and same["p_value"] == 1.0
    one = stats.paired_t_test([0.8], [0.7])
    assert one["n"] == 1 and one["t"] is None and one["p_value"] is None and one["low"] is None
    with pytest.raises(ValueError, match="as many values"):
        stats.paired_t_test([0.8, 0.7], [0.7])

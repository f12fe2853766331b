"""The statistics of many runs, shared by every table (the study's and the paper's Table 3): a model's
figure over folds (mean, std, Student-t interval, n), the paired t-test of two models over the same folds,
and the paired bootstrap over students of two models' predictions (one run each, or several runs' predictions
averaged or pooled first). No TensorFlow; utils.stats and utils.paired do the arithmetic.
"""
import numpy as np

from utils import paired, stats

LEVEL = 0.95


def over_units(values):
    """mean, std, t interval and n of a model's values (one per fold, seed or version)."""
    return stats.mean_std_t_ci([v for v in values if v is not None], LEVEL)


def paired_over_units(values_a, values_b):
    """The paired t-test of A - B over units both have (value lists in the same unit order)."""
    return stats.paired_t_test(values_a, values_b, LEVEL)


def paired_bootstrap(predictions_a, predictions_b, run_a, run_b, resamples, seed):
    """A - B on the answers both scored: the paired bootstrap over students and DeLong's test
    (utils.paired.paired_difference); PairingError when they did not score the same answers."""
    rows = paired.pair_predictions(predictions_a, predictions_b, run_a, run_b)
    return paired.paired_difference(*rows, n_resamples=resamples, seed=seed, level=LEVEL)


def sorted_rows(predictions):
    order = np.lexsort((predictions["position"], predictions["student"]))
    return dict((name, values[order]) for name, values in predictions.items())


def averaged(predictions, names):
    """The predictions of several runs of the same test answers with p averaged row by row (the runs of one
    fold over seeds, or with one fixed test split over folds); `names` name the runs in an error."""
    rows = [sorted_rows(p) for p in predictions]
    first = rows[0]
    for other, name in zip(rows[1:], names[1:]):
        same = (other["student"].size == first["student"].size
                and np.array_equal(other["student"], first["student"])
                and np.array_equal(other["position"], first["position"])
                and np.array_equal(other["answer"], first["answer"]))
        if not same:
            raise paired.PairingError("%s did not score the same test answers as %s: their predictions "
                                      "cannot be averaged" % (name, names[0]))
    result = dict(first)
    result["p"] = np.mean([r["p"] for r in rows], axis=0)
    return result


def pooled(predictions, prefixes):
    """The predictions of disjoint test splits (the outer folds of a cross-validation) as one: students are
    named `<prefix>/<student>` so that a student of two folds could not be merged by mistake."""
    result = {}
    for name in ("student", "position", "skill", "answer", "p"):
        parts = [p[name] if name != "student" else np.array(["%s/%s" % (prefix, s) for s in p[name]])
                 for p, prefix in zip(predictions, prefixes)]
        result[name] = np.concatenate(parts) if parts else np.array([])
    return result

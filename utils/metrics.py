"""Loss, accuracy and AUC of a whole split, computed from scratch on every call.

The TF1 streaming `tf.metrics.auc` keeps running totals across evaluations unless its local variables are
reset, which gives the smooth, ever-rising "test AUC" curves of some published figures. Here every
evaluation collects the probabilities of all scored positions of the split and hands them to scikit-learn,
so an epoch's figure depends on that epoch's model only.
"""
import numpy as np
from sklearn.metrics import roc_auc_score

from utils import stats

PROBABILITY_FLOOR = 1e-7  # keeps log() finite for a saturated sigmoid, as the graph's logit-based loss is
# The protocol of every run's AUC interval (>= 1,000 student resamples, 95%), fixed so that
# evaluate.py on a run's own test split reproduces the interval in its summary.json.
AUC_CI_RESAMPLES = 1000
AUC_CI_LEVEL = 0.95


def binary_metrics(answers, probabilities):
    """Mean binary cross-entropy, accuracy at threshold 0.5, and ROC AUC.

    Args:
      answers: [n] 0/1 answers of every scored position.
      probabilities: [n] predicted P(correct) of the same positions.

    Returns:
      dict with "loss", "acc", "auc" (floats; auc is nan when the answers hold a single class, where
      ROC AUC is undefined, and every value is nan for an empty split).
    """
    answers = np.asarray(answers, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if answers.size == 0:
        return {"loss": float("nan"), "acc": float("nan"), "auc": float("nan")}
    clipped = np.clip(probabilities, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    loss = -np.mean(answers * np.log(clipped) + (1.0 - answers) * np.log(1.0 - clipped))
    acc = np.mean((probabilities >= 0.5) == (answers == 1.0))
    both_classes = 0.0 < answers.mean() < 1.0
    auc = roc_auc_score(answers, probabilities) if both_classes else float("nan")
    return {"loss": float(loss), "acc": float(acc), "auc": float(auc)}


def flatten_predictions(batches, outputs):
    """Keeps the scored (unpadded) positions of each batch, as flat arrays.

    Returns a dict: student, position (in the student's whole sequence), chunk_position (in the trained
    chunk, where 0 is predicted from the initial state alone), skill, answer, p.
    """
    return concatenated([scored_positions(batch, p) for batch, p in zip(batches, outputs)])


PREDICTION_COLUMNS = ("student", "position", "chunk_position", "skill", "answer", "p")


def scored_positions(batch, p):
    """flatten_predictions of one batch and its p [B, T]."""
    rows, steps = np.nonzero(batch.mask)
    return {"student": np.asarray(batch.students, dtype=object)[rows],
            "position": np.asarray(batch.offsets)[rows] + steps, "chunk_position": steps,
            "skill": batch.skills[rows, steps], "answer": batch.answers[rows, steps], "p": p[rows, steps]}


def concatenated(parts):
    """The columns of several `scored_positions` results, one after the other."""
    return dict((name, np.concatenate([part[name] for part in parts]) if parts else np.array([]))
                for name in PREDICTION_COLUMNS)


def oracle_auc(predictions, sequences):
    """AUC of the data generator's true P(correct) on the positions of `predictions` (the ceiling a model can
    only approach: it uses the hidden skills); None when the sequences carry no true probabilities."""
    by_student = dict((seq.student, seq) for seq in sequences)
    if not by_student or any(seq.true_probs is None for seq in by_student.values()):
        return None
    truth = [by_student[student].true_probs[position]
             for student, position in zip(predictions["student"], predictions["position"])]
    return binary_metrics(predictions["answer"], truth)["auc"]


def in_sequence_order(columns, sequences):
    """`columns` (a dict of equal-length arrays, with student and position) sorted by the student's place in
    `sequences`, then by position: what a batching order (by length, by chunk) is undone with."""
    rank = dict((seq.student, i) for i, seq in enumerate(sequences))
    ranks = np.array([rank[student] for student in columns["student"]], dtype=np.int64)
    order = np.lexsort((columns["position"], ranks))
    return dict((name, values[order]) for name, values in columns.items())


def split_metrics(predictions):
    """loss/acc/auc over every scored position, and auc_from2 over positions >= 2 of each chunk.

    The `_from2` figure leaves out each chunk's first position, which the model predicts from its initial
    state alone; Piech et al. and pyKT score only these positions, so it compares with their numbers.
    """
    metrics = binary_metrics(predictions["answer"], predictions["p"])
    later = predictions["chunk_position"] >= 1
    metrics["auc_from2"] = binary_metrics(predictions["answer"][later], predictions["p"][later])["auc"]
    return metrics


def auc_interval(predictions, seed, n_resamples=AUC_CI_RESAMPLES, level=AUC_CI_LEVEL):
    """The AUC's confidence interval by bootstrap over students (utils.stats.bootstrap_auc_ci).

    Args:
      predictions: dict of [n] arrays with "student", "answer", "p" (flatten_predictions, predictions.csv).
      seed: seed of the resampling (a run's SEED: the same run gives the same interval).
      n_resamples, level: resamples and coverage.

    Returns:
      dict with "auc_ci_low", "auc_ci_high" (nan when the answers hold one class) and "auc_ci_resamples"
      (the resamples the percentiles come from: those that drew both classes, normally n_resamples).
    """
    interval = stats.bootstrap_auc_ci(predictions["answer"], predictions["p"], predictions["student"],
                                      n_resamples=n_resamples, seed=seed, level=level)
    return {"auc_ci_low": interval["low"], "auc_ci_high": interval["high"],
            "auc_ci_resamples": interval["n_resamples"] - interval["n_skipped"]}


def brier_score(answers, p):
    """Mean squared difference between P(correct) and the 0/1 answer (0 is perfect); nan when empty."""
    answers = np.asarray(answers, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    return float(np.mean((p - answers) ** 2)) if answers.size else float("nan")


def reliability_bins(answers, p, n_bins=10):
    """Predictions grouped in equal-width bins of P(correct) over [0, 1], the last bin closed at 1.

    Args:
      answers: [n] 0/1 answers.
      p: [n] predicted P(correct).
      n_bins: number of bins.

    Returns:
      list of n_bins dicts, in increasing p: low, high (the bin's edges), count, mean_p (mean prediction)
      and frac_correct (share of correct answers); mean_p and frac_correct are None for an empty bin. A
      calibrated model has mean_p ~ frac_correct in every bin.
    """
    answers = np.asarray(answers, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.floor(p * n_bins).astype(np.int64), 0, n_bins - 1)
    bins = []
    for index in range(n_bins):
        members = which == index
        count = int(members.sum())
        bins.append({"low": float(edges[index]), "high": float(edges[index + 1]), "count": count,
                     "mean_p": float(p[members].mean()) if count else None,
                     "frac_correct": float(answers[members].mean()) if count else None})
    return bins


def expected_calibration_error(answers, p, n_bins=10):
    """ECE: |mean_p - frac_correct| of each equal-width bin (see reliability_bins), weighted by its share
    of the predictions; 0 for a calibrated model, nan when empty."""
    bins = reliability_bins(answers, p, n_bins)
    total = sum(b["count"] for b in bins)
    if total == 0:
        return float("nan")
    return float(sum(b["count"] * abs(b["mean_p"] - b["frac_correct"]) for b in bins if b["count"]) / total)


def auc_by_skill(skills, answers, p):
    """The AUC within each skill, with its number of answers.

    Args:
      skills, answers, p: [n] the skill index, the 0/1 answer and P(correct) of every scored position.

    Returns:
      list of (skill, count, auc) in increasing skill; auc is None where the skill's answers hold one
      class (ROC AUC undefined there).
    """
    skills = np.asarray(skills)
    answers = np.asarray(answers, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(skills, kind="mergesort")
    values, starts, counts = np.unique(skills[order], return_index=True, return_counts=True)
    rows = []
    for value, start, count in zip(values, starts, counts):
        members = order[start:start + count]
        rows.append((_plain_scalar(value), int(count), _auc_or_none(answers[members], p[members])))
    return rows


def auc_by_position(positions, answers, p, edges=(1, 10, 50, 200)):
    """The AUC by where an answer lies in the student's sequence: positions 1-10, 11-50, 51-200, > 200.

    Positions are 1-based here, as a user reads them (the first answer is position 1); the `positions`
    array holds the 0-based positions of predictions.csv, where the first answer is 0.

    Args:
      positions: [n] 0-based position of each scored answer in its student's whole sequence.
      answers, p: [n] the 0/1 answer and P(correct).
      edges: 1-based positions (first, end of range 1, end of range 2, ...): the ranges are
        edges[0]-edges[1], edges[1]+1-edges[2], ..., and > edges[-1].

    Returns:
      list of dicts, one per range: positions (its label, e.g. "11-50" or ">200"), first, last (1-based,
      last None for the open range), count, auc (None where the range holds one class or nothing).
    """
    one_based = np.asarray(positions, dtype=np.int64) + 1
    answers = np.asarray(answers, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    ranges = [(edges[0], edges[1])] + [(edges[i] + 1, edges[i + 1]) for i in range(1, len(edges) - 1)]
    ranges.append((edges[-1] + 1, None))
    rows = []
    for first, last in ranges:
        members = (one_based >= first) & ((one_based <= last) if last is not None else True)
        label = "%d-%d" % (first, last) if last is not None else ">%d" % (first - 1)
        rows.append({"positions": label, "first": int(first), "last": None if last is None else int(last),
                     "count": int(members.sum()), "auc": _auc_or_none(answers[members], p[members])})
    return rows


def _auc_or_none(answers, p):
    if answers.size == 0 or answers.min() == answers.max():
        return None
    return float(roc_auc_score(answers, p))


def _plain_scalar(value):
    """A Python int/str/float for a numpy scalar (JSON and printing)."""
    return value.item() if hasattr(value, "item") else value

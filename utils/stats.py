"""Whether a test AUC, or a difference between two models, is real: confidence intervals and paired tests.

The answers of one student are not independent (the same student, the same sequence), so the bootstrap here
resamples STUDENTS with replacement, never single answers: a resample is a vector of integer weights, one per
student (how often the student was drawn), and every answer of a student carries the student's weight.

- `bootstrap_auc_ci`: percentile interval of one model's AUC.
- `paired_bootstrap_auc_difference`: the same student resamples for two models scored on the same answers.
- `delong_test`: DeLong, DeLong & Clarke-Pearson (1988), the asymptotic test of two correlated AUCs, computed
  from midranks (Sun & Xu 2014); it treats answers as independent, so it is the optimistic one of the two.
- `mean_std_t_ci`, `paired_t_test`: across folds (or seeds), with Student's t.

Only numpy, scipy and scikit-learn; no file I/O.
"""
import numpy as np
import scipy.sparse
import scipy.stats
from sklearn.metrics import roc_auc_score

# Resamples computed together: bounds memory to a few [rank blocks, chunk] float arrays, and small chunks
# keep them in cache (the fastest chunk sizes: docs/speed.md).
RESAMPLES_PER_CHUNK = 16


def bootstrap_auc_ci(answers, p, students, n_resamples=1000, seed=0, level=0.95):
    """Percentile bootstrap interval of the AUC, resampling students with replacement.

    Args:
      answers: [n] 0/1 answers of every scored position.
      p: [n] predicted P(correct) of the same positions.
      students: [n] the student of each position (any hashable values, e.g. str ids).
      n_resamples: number of bootstrap resamples (each draws as many students as there are, with replacement).
      seed: seed of the resampling (numpy RandomState): the same seed gives the same interval.
      level: coverage of the interval, e.g. 0.95.

    Returns:
      dict with "auc" (of the data itself, equal to sklearn's roc_auc_score), "low", "high" (the
      (1 - level)/2 and (1 + level)/2 percentiles of the resampled AUCs), "level", "n_resamples",
      "n_skipped" (resamples that drew a single class, where the AUC is undefined: left out of the
      percentiles), "n_students". When the data hold a single class, auc, low and high are nan.
    """
    scored = _Scored(answers, [p], students)
    auc = scored.auc(0)
    aucs = scored.resampled_aucs(n_resamples, seed)[0]
    valid = aucs[~np.isnan(aucs)]
    low, high = _percentile_interval(valid, level)
    return {"auc": auc, "low": low, "high": high, "level": level, "n_resamples": int(n_resamples),
            "n_skipped": int(n_resamples - valid.size), "n_students": scored.n_students}


def paired_bootstrap_auc_difference(answers, p_a, p_b, students, n_resamples=1000, seed=0, level=0.95):
    """AUC(a) - AUC(b) of two models scored on the same answers, with a paired student bootstrap.

    Both models see the same resamples of students, so what the two share (the same hard students)
    cancels out of the difference.

    Args:
      answers, students: [n] as in `bootstrap_auc_ci`.
      p_a, p_b: [n] the two models' predicted P(correct) of the same positions (aligned rows).
      n_resamples, seed, level: as in `bootstrap_auc_ci`.

    Returns:
      dict with "auc_a", "auc_b", "difference" (auc_a - auc_b on the data itself), "low", "high" (percentile
      interval of the resampled differences), "p_value" (two-sided: twice the smaller share of resampled
      differences <= 0 or >= 0, each counted with the +1 correction (k + 1) / (B + 1), capped at 1; it is
      below 1 - level exactly when the interval excludes 0, up to that correction), "level", "n_resamples",
      "n_skipped", "n_students". nan figures when the data hold a single class.
    """
    scored = _Scored(answers, [p_a, p_b], students)
    auc_a, auc_b = scored.auc(0), scored.auc(1)
    resampled = scored.resampled_aucs(n_resamples, seed)
    differences = resampled[0] - resampled[1]
    valid = differences[~np.isnan(differences)]
    low, high = _percentile_interval(valid, level)
    if valid.size:
        at_most_zero = (np.sum(valid <= 0) + 1.0) / (valid.size + 1.0)
        at_least_zero = (np.sum(valid >= 0) + 1.0) / (valid.size + 1.0)
        p_value = float(min(1.0, 2.0 * min(at_most_zero, at_least_zero)))
    else:
        p_value = float("nan")
    return {"auc_a": auc_a, "auc_b": auc_b, "difference": auc_a - auc_b, "low": low, "high": high,
            "p_value": p_value, "level": level, "n_resamples": int(n_resamples),
            "n_skipped": int(n_resamples - valid.size), "n_students": scored.n_students}


def delong_test(answers, p_a, p_b):
    """DeLong's test of AUC(a) = AUC(b) for two models scored on the same answers.

    The fast form by midranks: for each model, the "placement" of every positive among the negatives
    (V10) and of every negative among the positives (V01); the variance of the AUC difference is
    var(V10_a - V10_b) / m + var(V01_a - V01_b) / n for m positives and n negatives.

    Args:
      answers: [n] 0/1 answers.
      p_a, p_b: [n] the two models' predicted P(correct) of the same positions.

    Returns:
      dict with "auc_a", "auc_b", "difference" (auc_a - auc_b), "z", "p_value" (two-sided, normal).
      When the difference has zero variance (e.g. identical predictions) and is 0: z 0 and p 1.
      nan figures when the answers hold a single class.
    """
    answers = _binary(answers)
    scores = np.vstack([_probabilities(p_a, answers.size), _probabilities(p_b, answers.size)])
    positives, negatives = scores[:, answers == 1], scores[:, answers == 0]
    m, n = positives.shape[1], negatives.shape[1]
    if m == 0 or n == 0:
        nan = float("nan")
        return {"auc_a": nan, "auc_b": nan, "difference": nan, "z": nan, "p_value": nan}
    both = np.hstack([positives, negatives])
    rank_all = np.vstack([scipy.stats.rankdata(row) for row in both])
    rank_pos = np.vstack([scipy.stats.rankdata(row) for row in positives])
    rank_neg = np.vstack([scipy.stats.rankdata(row) for row in negatives])
    v10 = (rank_all[:, :m] - rank_pos) / n          # share of negatives below each positive (ties 1/2)
    v01 = 1.0 - (rank_all[:, m:] - rank_neg) / m    # share of positives above each negative (ties 1/2)
    aucs = v10.mean(axis=1)
    difference = float(aucs[0] - aucs[1])
    variance = _sample_variance(v10[0] - v10[1]) / m + _sample_variance(v01[0] - v01[1]) / n
    if variance > 0:
        z = difference / np.sqrt(variance)
        p_value = 2.0 * scipy.stats.norm.sf(abs(z))
    elif difference == 0:
        z, p_value = 0.0, 1.0
    else:
        z, p_value = np.copysign(np.inf, difference), 0.0
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "difference": difference, "z": float(z),
            "p_value": float(p_value)}


def mean_std_t_ci(values, level=0.95):
    """Mean, standard deviation and Student's t interval of the mean of a few values (folds, seeds).

    Args:
      values: [n] numbers.
      level: coverage of the interval.

    Returns:
      dict with "mean" (None for n = 0), "std" (ddof 1; None for n < 2), "low", "high" (mean -+ t * std /
      sqrt(n) with t of n - 1 degrees of freedom; None for n < 2), "level", "n".
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    n = int(values.size)
    result = {"mean": None, "std": None, "low": None, "high": None, "level": level, "n": n}
    if n == 0:
        return result
    result["mean"] = float(values.mean())
    if n >= 2:
        std = float(values.std(ddof=1))
        half_width = scipy.stats.t.ppf((1.0 + level) / 2.0, n - 1) * std / np.sqrt(n)
        mean = result["mean"]
        result.update(std=std, low=float(mean - half_width), high=float(mean + half_width))
    return result


def paired_t_test(values_a, values_b, level=0.95):
    """Paired t-test of mean(a - b) = 0 over paired values (e.g. two models' AUCs on the same folds).

    Args:
      values_a, values_b: [n] paired numbers (row i of both from the same fold).
      level: coverage of the interval of the mean difference.

    Returns:
      dict with "mean_difference", "low", "high" (t interval), "t", "p_value" (two-sided), "level", "n".
      For n < 2 every figure but n (and mean_difference for n = 1) is None. Differences that are all
      equal give t 0 and p 1 when they are 0, else t +-inf and p 0.
    """
    a = np.asarray(values_a, dtype=np.float64).ravel()
    b = np.asarray(values_b, dtype=np.float64).ravel()
    if a.size != b.size:
        raise ValueError("paired_t_test needs as many values in a as in b, got %d and %d" % (a.size, b.size))
    differences = a - b
    n = int(differences.size)
    summary = mean_std_t_ci(differences, level)
    result = {"mean_difference": summary["mean"], "low": summary["low"], "high": summary["high"],
              "t": None, "p_value": None, "level": level, "n": n}
    if n < 2:
        return result
    standard_error = summary["std"] / np.sqrt(n)
    if standard_error > 0:
        t = summary["mean"] / standard_error
        p_value = 2.0 * scipy.stats.t.sf(abs(t), n - 1)
    elif summary["mean"] == 0:
        t, p_value = 0.0, 1.0
    else:
        t, p_value = np.copysign(np.inf, summary["mean"]), 0.0
    result.update(t=float(t), p_value=float(p_value))
    return result


def weighted_auc(answers, p, students, student_weights):
    """The AUC when every answer counts as often as its student's weight (ties count 1/2).

    This is the statistic of one bootstrap resample (weights = how often each student was drawn); with
    `students` = range(n) it weights single answers.

    Args:
      answers: [n] 0/1 answers.
      p: [n] predicted P(correct).
      students: [n] the student of each answer.
      student_weights: [n_students] or [n_students, k] non-negative weights (k weightings at once), row s
        for the s-th student in sorted order of the distinct `students` values.

    Returns:
      float, or [k] array for [n_students, k] weights; nan where the weighted answers hold a single class.
    """
    scored = _Scored(answers, [p], students)
    weights = np.asarray(student_weights, dtype=np.float64)
    if weights.shape[0] != scored.n_students:
        raise ValueError("student_weights need one row per student, got %d rows for %d students"
                         % (weights.shape[0], scored.n_students))
    aucs = scored.weighted_aucs(weights.reshape(scored.n_students, -1))[0]
    return aucs if weights.ndim == 2 else float(aucs[0])


class _Scored(object):
    """Answers, one or more models' predictions and the students, prepared once for many resamples.

    For each model, the answers are grouped into rank blocks in increasing p (see `_rank_blocks`; tied
    answers share a block), and two sparse [blocks, students] matrices count each student's positive and
    negative answers per block; a resample's per-block weights are these matrices times the student weights.
    """

    def __init__(self, answers, predictions, students):
        self.answers = _binary(answers)
        students = np.asarray(students).ravel()
        if students.size != self.answers.size:
            raise ValueError("students need one entry per answer, got %d for %d answers"
                             % (students.size, self.answers.size))
        _, self.student_index = np.unique(students, return_inverse=True)
        self.student_index = self.student_index.ravel()
        self.n_students = int(self.student_index.max() + 1) if students.size else 0
        self.predictions = [_probabilities(p, self.answers.size) for p in predictions]
        self.counts = [self._count_matrices(p) for p in self.predictions]

    def _count_matrices(self, p):
        blocks, n_blocks = _rank_blocks(p, self.answers)
        matrices = []
        for label in (1, 0):
            rows = self.answers == label
            matrices.append(scipy.sparse.csr_matrix(
                (np.ones(int(rows.sum())), (blocks[rows], self.student_index[rows])),
                shape=(n_blocks, self.n_students)))
        return matrices

    def auc(self, model):
        """AUC of the data itself (every student once), by scikit-learn."""
        if not 0 < self.answers.sum() < self.answers.size:
            return float("nan")
        return float(roc_auc_score(self.answers, self.predictions[model]))

    def resampled_aucs(self, n_resamples, seed):
        """[models, n_resamples] AUCs of student resamples (the same resamples for every model); nan
        where a resample drew a single class."""
        random = np.random.RandomState(seed)
        aucs = np.full((len(self.predictions), n_resamples), np.nan)
        if self.n_students == 0:
            return aucs
        for start in range(0, n_resamples, RESAMPLES_PER_CHUNK):
            size = min(RESAMPLES_PER_CHUNK, n_resamples - start)
            student_weights = _student_draw_counts(random, self.n_students, size)
            aucs[:, start:start + size] = self.weighted_aucs(student_weights)
        return aucs

    def weighted_aucs(self, weights):
        """[models, k] AUCs for [n_students, k] student weights."""
        return np.vstack([_auc_from_group_weights(positive.dot(weights), negative.dot(weights))
                          for positive, negative in self.counts])


def _student_draw_counts(random, n_students, n_resamples):
    """[n_students, n_resamples] how often each student was drawn in each resample of n_students draws."""
    draws = random.randint(0, n_students, size=(n_resamples, n_students))
    flat = (draws + n_students * np.arange(n_resamples)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_resamples * n_students)
    return counts.reshape(n_resamples, n_students).T.astype(np.float64)


def _auc_from_group_weights(positive, negative):
    """AUCs from [groups, k] positive and negative weights per group of tied p (groups in increasing p).

    A positive beats every negative of a lower group and ties (1/2) with the negatives of its own group:
    the weighted Mann-Whitney statistic, over total positive weight times total negative weight.
    """
    negative_below_plus_half_ties = np.cumsum(negative, axis=0)
    negative_below_plus_half_ties -= 0.5 * negative
    wins = np.einsum("gk,gk->k", positive, negative_below_plus_half_ties)
    pairs = positive.sum(axis=0) * negative.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1.0), np.nan)


def _rank_blocks(p, answers):
    """[n] block of each answer in increasing p, and the number of blocks, for `_auc_from_group_weights`.

    A block is one distinct value of p (tied answers share a block) where both classes occur; a run of
    consecutive values where only one class occurs is merged into one block, which changes no weighted AUC
    (within a run of positives no negative lies between them, a run of negatives only adds up below what
    follows) and makes the arrays of a resample about half as long.
    """
    values, groups = np.unique(p, return_inverse=True)
    groups = groups.ravel()
    positives = np.bincount(groups, weights=answers, minlength=values.size)
    negatives = np.bincount(groups, weights=1 - answers, minlength=values.size)
    kind = np.where(negatives == 0, 1, np.where(positives == 0, 0, 2))  # 1 positives only, 0 negatives only
    starts_block = np.ones(values.size, dtype=bool)
    starts_block[1:] = (kind[1:] == 2) | (kind[1:] != kind[:-1])
    block_of_group = np.cumsum(starts_block) - 1
    return block_of_group[groups], int(block_of_group[-1] + 1) if values.size else 0


def _percentile_interval(values, level):
    if values.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(values, [100.0 * (1.0 - level) / 2.0, 100.0 * (1.0 + level) / 2.0])
    return float(low), float(high)


def _sample_variance(values):
    return float(np.var(values, ddof=1)) if values.size > 1 else 0.0


def _binary(answers):
    answers = np.asarray(answers).ravel()
    if answers.size and not np.all((answers == 0) | (answers == 1)):
        raise ValueError("answers must be 0 or 1")
    return answers.astype(np.int64)


def _probabilities(p, n):
    p = np.asarray(p, dtype=np.float64).ravel()
    if p.size != n:
        raise ValueError("predictions need one entry per answer, got %d for %d answers" % (p.size, n))
    if not np.all(np.isfinite(p)):
        raise ValueError("predictions must be finite numbers")
    return p

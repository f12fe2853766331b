"""Synthetic-5: a seeded generator of the DKT paper's synthetic process. Reads no file.

Every virtual student answers the same `n_exercises` exercises in the same order (exercise i at step i,
so skill index = exercise index). Exercise i has a hidden concept (uniform over `n_concepts`) and a
difficulty beta_i ~ N(0, 1); each student has a skill alpha_c ~ N(0, 1) per concept. The answer to
exercise i is correct with probability

    P = c + (1 - c) / (1 + exp(beta_i - alpha_{concept(i)})),   guess c = 0.25.

Learning: after each answer, the skill of the concept just practised grows by LEARNING_GAIN (0.1, whether
the answer was right or not), so a student who meets a concept ten times ends about one unit (one
standard deviation of alpha) stronger in it. The data and the student split both come from the split's
seed (main.py's SPLIT_SEED, or the run's SEED for a run made before it), never from the model's seed.

Returns the true concept of each exercise (Dataset.true_concepts) and the true P(correct) of each answer
(Sequence.true_probs): their AUC is an oracle upper bound, since it uses the hidden skills.

Options: synthetic_students, synthetic_exercises, synthetic_concepts (values: main.py's SYNTHETIC_*).
"""
import numpy as np

from data.dataset import DataError, Dataset, fingerprint, make_sequence, split_stats, split_summary_lines
from data.sequences import describe_split, split_by_student, split_fingerprint_options

GUESS = 0.25
LEARNING_GAIN = 0.1
OPTIONS = ("synthetic_students", "synthetic_exercises", "synthetic_concepts")


def load_synthetic(split, synthetic_students, synthetic_exercises, synthetic_concepts):
    """Generate Synthetic-5 with the seed of `split` (a data.sequences.StudentSplit) and split it by student
    (see module docstring)."""
    n_students, n_exercises, n_concepts = _checked_sizes(synthetic_students, synthetic_exercises,
                                                         synthetic_concepts)
    rng = np.random.RandomState(split.seed)
    concepts, answers, probs = generate(rng, n_students, n_exercises, n_concepts)
    skills = np.arange(n_exercises, dtype=np.int32)
    sequences = [make_sequence("s%d" % student, skills, answers[student], probs[student])
                 for student in range(n_students)]
    train, valid, test = split_by_student(sequences, split)
    options = dict(split_fingerprint_options(split), students=n_students, exercises=n_exercises,
                   concepts=n_concepts)
    splits = [("train", train), ("valid", valid), ("test", test)]
    report = _report_lines(n_students, n_exercises, n_concepts, split, splits, answers, probs)
    return Dataset("synthetic", n_exercises, [str(i) for i in range(n_exercises)],
                   ["exercise %d" % i for i in range(n_exercises)], concepts, train, valid, test, report,
                   fingerprint(["synthetic"], options), split_stats(splits))


def _checked_sizes(n_students, n_exercises, n_concepts):
    sizes = (int(n_students), int(n_exercises), int(n_concepts))
    if min(sizes) < 1:
        raise DataError("synthetic_students, synthetic_exercises and synthetic_concepts must be >= 1, "
                        "got %d, %d, %d" % sizes)
    return sizes


def generate(rng, n_students, n_exercises, n_concepts):
    """(concept of each exercise [E], answers [S, E] int32, true P(correct) [S, E] float32)."""
    concepts = rng.randint(n_concepts, size=n_exercises)
    difficulty = rng.randn(n_exercises)
    skill = rng.randn(n_students, n_concepts)
    answers = np.zeros((n_students, n_exercises), dtype=np.int32)
    probs = np.zeros((n_students, n_exercises), dtype=np.float32)
    for step in range(n_exercises):  # all students at once: the same exercise at the same step
        concept = concepts[step]
        p = GUESS + (1.0 - GUESS) / (1.0 + np.exp(difficulty[step] - skill[:, concept]))
        probs[:, step] = p
        answers[:, step] = rng.uniform(size=n_students) < p
        skill[:, concept] += LEARNING_GAIN
    return concepts.astype(np.int64), answers, probs


def _report_lines(n_students, n_exercises, n_concepts, split, splits, answers, probs):
    lines = ["data: synthetic (Synthetic-5 process, split seed %d): %s students x %d exercises in the same "
             "order, %d hidden concepts, guess %.2f, skill +%.2f per practice of a concept"
             % (split.seed, "{:,}".format(n_students), n_exercises, n_concepts, GUESS, LEARNING_GAIN),
             "  correct answers: %.1f%%; %s" % (100.0 * answers.mean(), _oracle_line(dict(splits)["test"])),
             describe_split(split)]
    return lines + split_summary_lines(splits)


def _oracle_line(test):
    """The oracle AUC of the test split's answers: the positions whose test AUC a run compares with it (every
    answer is scored). Without a test split there is nothing to compare: none is given."""
    if not test:
        return "no test split, so no oracle AUC to compare a test AUC with"
    answers = np.concatenate([seq.answers for seq in test])
    probs = np.concatenate([seq.true_probs for seq in test])
    return ("oracle AUC of the true P(correct) on the test split: %.4f (the ceiling of the test AUC: it uses "
            "the hidden skills)" % rank_auc(answers, probs))


def rank_auc(labels, scores):
    """ROC AUC by the rank-sum formula (ties get their average rank); nan when one class is missing."""
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = np.asarray(scores)[order]
    ranks = np.empty(labels.size, dtype=np.float64)
    # average rank of each run of tied scores
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))

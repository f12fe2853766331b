"""Loss, accuracy and AUC of a whole split, computed from scratch on every call.

The TF1 streaming `tf.metrics.auc` keeps running totals across evaluations unless its local variables are
reset, which gives the smooth, ever-rising "test AUC" curves of some published figures. Here every
evaluation collects the probabilities of all scored positions of the split and hands them to scikit-learn,
so an epoch's figure depends on that epoch's model only.
"""
import numpy as np
from sklearn.metrics import roc_auc_score

PROBABILITY_FLOOR = 1e-7  # keeps log() finite for a saturated sigmoid, as the graph's logit-based loss is


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
    columns = {name: [] for name in ("student", "position", "chunk_position", "skill", "answer", "p")}
    for batch, p in zip(batches, outputs):
        rows, steps = np.nonzero(batch.mask)
        columns["student"].append(np.asarray(batch.students, dtype=object)[rows])
        columns["position"].append(np.asarray(batch.offsets)[rows] + steps)
        columns["chunk_position"].append(steps)
        columns["skill"].append(batch.skills[rows, steps])
        columns["answer"].append(batch.answers[rows, steps])
        columns["p"].append(p[rows, steps])
    return {name: np.concatenate(parts) if parts else np.array([]) for name, parts in columns.items()}


def split_metrics(predictions):
    """loss/acc/auc over every scored position, and auc_from2 over positions >= 2 of each chunk.

    The `_from2` figure leaves out each chunk's first position, which the model predicts from its initial
    state alone; Piech et al. and pyKT score only these positions, so it compares with their numbers.
    """
    metrics = binary_metrics(predictions["answer"], predictions["p"])
    later = predictions["chunk_position"] >= 1
    metrics["auc_from2"] = binary_metrics(predictions["answer"][later], predictions["p"][later])["auc"]
    return metrics

"""Two runs scored on the same test answers: their predictions paired row by row, and the paired figures.

    answers, students, p_a, p_b = pair_predictions(predictions_a, predictions_b, run_a, run_b)
    figures = paired_difference(answers, students, p_a, p_b, n_resamples=1000, seed=0, level=0.95)

A run is described by a dict with "path" and, where known, "dataset", "fold" and "seed" (None otherwise):
they name the runs in the errors. scripts/compare.py pairs any two run folders with these; scripts/table3.py
pairs the DKVMN and DKT runs of each fold. No TensorFlow.
"""
import numpy as np

from utils import stats
from utils.errors import RunFolderError


class PairingError(RunFolderError):
    """Two runs that cannot be compared (different test answers, none, or one class only): a run-folder error
    that utils.commands.exit_status shows as one `error:` line with exit status 2."""


def pair_predictions(a, b, run_a, run_b):
    """(answers, students, p_a, p_b) of the answers both runs scored, row i of each the same answer.

    Args:
      a, b: the runs' predictions (utils.run_files.read_predictions: arrays "student", "position",
        "answer", "p"), in any row order.
      run_a, run_b: the runs' descriptions (module docstring).

    Raises PairingError when a run scored nothing or a (student, position) twice, when the runs did not score
    the same (student, position) answers, or read different answers there.
    """
    for predictions, run in ((a, run_a), (b, run_b)):
        if predictions["answer"].size == 0:
            raise PairingError("%s/predictions.csv holds no predictions" % run["path"])
    a, b = _sorted_by_key(a, run_a["path"]), _sorted_by_key(b, run_b["path"])
    same_keys = (a["student"].size == b["student"].size and np.array_equal(a["student"], b["student"])
                 and np.array_equal(a["position"], b["position"]))
    if not same_keys:
        raise PairingError(_different_positions_message(a, b, run_a, run_b))
    differs = a["answer"] != b["answer"]
    if differs.any():
        at = int(np.flatnonzero(differs)[0])
        raise PairingError("%s and %s scored the same positions but read different answers in %d of %d rows "
                           "(e.g. student %r position %d: %d against %d): they read different data files"
                           % (run_a["path"], run_b["path"], int(differs.sum()), differs.size,
                              a["student"][at], a["position"][at], a["answer"][at], b["answer"][at]))
    return a["answer"], a["student"], a["p"], b["p"]


def paired_difference(answers, students, p_a, p_b, n_resamples, seed, level):
    """AUC(a) - AUC(b) on paired rows: the paired bootstrap over students and DeLong's test.

    Returns:
      dict with "auc_a", "auc_b", "difference", "low", "high", "p_value", "level", "n_resamples",
      "n_skipped", "n_students" (utils.stats.paired_bootstrap_auc_difference), "n_answers", and "delong"
      ({"z", "p_value"}, utils.stats.delong_test). PairingError when the answers are all one class.
    """
    if answers.min() == answers.max():
        raise PairingError("the %d test answers both runs scored are all %d: AUC is undefined"
                           % (answers.size, answers[0]))
    boot = stats.paired_bootstrap_auc_difference(answers, p_a, p_b, students, n_resamples=n_resamples,
                                                 seed=seed, level=level)
    delong = stats.delong_test(answers, p_a, p_b)
    figures = dict((name, boot[name]) for name in ("auc_a", "auc_b", "difference", "low", "high", "p_value",
                                                  "n_resamples", "n_skipped", "n_students"))
    figures.update(level=level, n_answers=int(answers.size),
                   delong={"z": delong["z"], "p_value": delong["p_value"]})
    return figures


def data_label(run):
    """e.g. "assist2009_updated fold 1 seed 0 (runs/...)": what decides a run's test answers."""
    parts = [str(run["dataset"])] if run.get("dataset") is not None else []
    parts += ["%s %s" % (name, run[name]) for name in ("fold", "seed") if run.get(name) is not None]
    return " ".join(parts + ["(%s)" % run["path"]])


def _sorted_by_key(predictions, name):
    """The predictions sorted by (student, position), checked to hold each pair once."""
    order = np.lexsort((predictions["position"], predictions["student"]))
    rows = {column: values[order] for column, values in predictions.items()}
    repeated = (rows["student"][1:] == rows["student"][:-1]) & (rows["position"][1:] == rows["position"][:-1])
    if repeated.any():
        at = int(np.flatnonzero(repeated)[0])
        raise PairingError("%s holds %d repeated (student, position) rows (e.g. student %r position %d); "
                           "predictions.csv has one row per scored answer"
                           % (name, int(repeated.sum()), rows["student"][at], rows["position"][at]))
    return rows


def _different_positions_message(a, b, run_a, run_b):
    """How the (student, position) rows of two runs differ, with an example and what each run was."""
    keys_a = set(zip(a["student"].tolist(), a["position"].tolist()))
    keys_b = set(zip(b["student"].tolist(), b["position"].tolist()))
    only_a, only_b = sorted(keys_a - keys_b), sorted(keys_b - keys_a)
    example = ("student %r position %d only in A" % only_a[0] if only_a
               else "student %r position %d only in B" % only_b[0])
    return ("the runs did not score the same test answers: %d of A's %d (student, position) rows are "
            "not in B and %d of B's %d not in A (e.g. %s); compare runs scored on the same test "
            "split: the same data set and fold (A: %s, B: %s)"
            % (len(only_a), len(keys_a), len(only_b), len(keys_b), example, data_label(run_a),
               data_label(run_b)))

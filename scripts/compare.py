"""Is one run's test AUC really higher than another's? A paired test of two runs scored on the same answers.

Usage (from the repo root), e.g. the DKVMN and the DKT run of one fold:
    python scripts/compare.py runs/assist2009_updated-dkvmn-20260101-120000 \\
        runs/assist2009_updated-dkt-20260101-130000 [--resamples 1000] [--seed 0] [--json OUT]

Reads both runs' predictions.csv, pairs their rows by (student, position) in any order and checks that both
runs scored the same test answers; runs of different data sets or folds are refused with one `error:` line
(exit status 2). Prints both test AUCs, the difference A - B with its 95% interval and p-value from a paired
bootstrap over students (a student's answers are not independent, so whole students are resampled, the same
resamples for both runs), and DeLong's z and p (the asymptotic test, which takes answers as independent and
so tends to give the smaller p). --json OUT also writes these figures to OUT.
"""
import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from utils import run_files, stats  # noqa: E402
from utils.commands import exit_status  # noqa: E402
from utils.errors import RunFolderError  # noqa: E402

LEVEL = 0.95


class CompareError(RunFolderError):
    """Two run folders that cannot be compared (different test answers): a run-folder error that
    utils.commands.exit_status shows as one `error:` line with exit status 2."""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_a", metavar="RUN_A", help="run folder of model A")
    parser.add_argument("run_b", metavar="RUN_B", help="run folder of model B (the same test answers)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the students")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.resamples < 1:
        parser.error("--resamples must be at least 1, got %d" % args.resamples)
    return args


def describe(run_dir):
    """path, model, dataset, fold, seed of a run, from its config.json (None where the folder has none)."""
    config_path = os.path.join(run_dir, "config.json")
    constants = {}
    if os.path.isfile(config_path):
        try:
            constants = run_files.read_json(config_path).get("constants") or {}
        except (OSError, ValueError, AttributeError) as e:
            raise RunFolderError("cannot read %s (%s): expected main.py's JSON object with the run's "
                                 "constants" % (config_path, e))
    return {"path": run_dir, "model": constants.get("model"), "dataset": constants.get("dataset"),
            "fold": constants.get("fold"), "seed": constants.get("seed")}


def sorted_by_key(predictions, name):
    """The predictions sorted by (student, position), checked to hold each pair once."""
    order = np.lexsort((predictions["position"], predictions["student"]))
    rows = {column: values[order] for column, values in predictions.items()}
    repeated = (rows["student"][1:] == rows["student"][:-1]) & (rows["position"][1:] == rows["position"][:-1])
    if repeated.any():
        at = int(np.flatnonzero(repeated)[0])
        raise CompareError("%s holds %d repeated (student, position) rows (e.g. student %r position %d); "
                           "predictions.csv has one row per scored answer"
                           % (name, int(repeated.sum()), rows["student"][at], rows["position"][at]))
    return rows


def paired_rows(a, b, describe_a, describe_b):
    """(answers, students, p_a, p_b) of the answers both runs scored, row i of each the same answer.

    Raises CompareError when the runs did not score the same (student, position) answers, or read different
    answers there.
    """
    for predictions, name in ((a, describe_a["path"]), (b, describe_b["path"])):
        if predictions["answer"].size == 0:
            raise CompareError("%s/predictions.csv holds no predictions" % name)
    a = sorted_by_key(a, describe_a["path"])
    b = sorted_by_key(b, describe_b["path"])
    same_keys = (a["student"].size == b["student"].size and np.array_equal(a["student"], b["student"])
                 and np.array_equal(a["position"], b["position"]))
    if not same_keys:
        raise CompareError(different_positions_message(a, b, describe_a, describe_b))
    differs = a["answer"] != b["answer"]
    if differs.any():
        at = int(np.flatnonzero(differs)[0])
        raise CompareError("%s and %s scored the same positions but read different answers in %d of %d rows "
                           "(e.g. student %r position %d: %d against %d): they read different data files"
                           % (describe_a["path"], describe_b["path"], int(differs.sum()), differs.size,
                              a["student"][at], a["position"][at], a["answer"][at], b["answer"][at]))
    return a["answer"], a["student"], a["p"], b["p"]


def different_positions_message(a, b, describe_a, describe_b):
    """How the (student, position) rows of two runs differ, with an example and what each run was."""
    keys_a = set(zip(a["student"].tolist(), a["position"].tolist()))
    keys_b = set(zip(b["student"].tolist(), b["position"].tolist()))
    only_a, only_b = sorted(keys_a - keys_b), sorted(keys_b - keys_a)
    example = ("student %r position %d only in A" % only_a[0] if only_a
               else "student %r position %d only in B" % only_b[0])
    return ("the runs did not score the same test answers: %d of A's %d (student, position) rows are "
            "not in B and %d of B's %d not in A (e.g. %s); compare runs scored on the same test "
            "split: the same data set and fold (A: %s, B: %s)"
            % (len(only_a), len(keys_a), len(only_b), len(keys_b), example, data_label(describe_a),
               data_label(describe_b)))


def data_label(description):
    """e.g. "assist2009_updated fold 1 seed 0 (runs/...)": what decides a run's test answers."""
    parts = [str(description["dataset"])] if description["dataset"] is not None else []
    parts += ["%s %s" % (name, description[name]) for name in ("fold", "seed")
              if description[name] is not None]
    return " ".join(parts + ["(%s)" % description["path"]])


def compare(args):
    """The figures of the comparison, as written to --json."""
    describe_a, describe_b = describe(args.run_a), describe(args.run_b)
    answers, students, p_a, p_b = paired_rows(run_files.read_predictions(args.run_a),
                                              run_files.read_predictions(args.run_b), describe_a, describe_b)
    if answers.min() == answers.max():
        raise CompareError("the %d test answers both runs scored are all %d: AUC is undefined"
                           % (answers.size, answers[0]))
    bootstrap = stats.paired_bootstrap_auc_difference(answers, p_a, p_b, students, n_resamples=args.resamples,
                                                      seed=args.seed, level=LEVEL)
    delong = stats.delong_test(answers, p_a, p_b)
    describe_a["auc"], describe_b["auc"] = bootstrap["auc_a"], bootstrap["auc_b"]
    return {"run_a": describe_a, "run_b": describe_b, "n_answers": int(answers.size),
            "n_students": bootstrap["n_students"], "difference": bootstrap["difference"],
            "paired_bootstrap": {"low": bootstrap["low"], "high": bootstrap["high"], "level": LEVEL,
                                 "p_value": bootstrap["p_value"], "n_resamples": bootstrap["n_resamples"],
                                 "n_skipped": bootstrap["n_skipped"], "seed": args.seed},
            "delong": {"z": delong["z"], "p_value": delong["p_value"]}}


def report(result):
    """The comparison as lines of text."""
    lines = ["%d test answers of %d students, scored by both runs"
             % (result["n_answers"], result["n_students"])]
    for name in ("a", "b"):
        run = result["run_" + name]
        model = (run["model"] or "").upper()
        lines.append("%s: test AUC %.4f  %s" % (name.upper(), run["auc"], " ".join(
            part for part in (model, data_label(run)) if part)))
    boot = result["paired_bootstrap"]
    lines.append("A - B: %+.4f, %d%% CI [%+.4f, %+.4f], p = %.3g (paired bootstrap over students, %d "
                 "resamples, seed %d)" % (result["difference"], round(100 * boot["level"]), boot["low"],
                                          boot["high"], boot["p_value"], boot["n_resamples"], boot["seed"]))
    if boot["p_value"] <= 2.0 / (boot["n_resamples"] - boot["n_skipped"] + 1):
        lines.append("  (the smallest p-value %d resamples can show: every resampled difference has the same "
                     "sign)" % (boot["n_resamples"] - boot["n_skipped"]))
    if boot["n_skipped"]:
        lines.append("  (%d resamples drew a single class and were left out)" % boot["n_skipped"])
    lines.append("DeLong: z = %.2f, p = %.3g (takes answers as independent)"
                 % (result["delong"]["z"], result["delong"]["p_value"]))
    return "\n".join(lines)


def compare_and_report(args):
    """Compares the runs, writes --json (before printing: a failed write prints no figures) and prints."""
    result = compare(args)
    if args.json:
        run_files.write_json(args.json, result)
    print(report(result))


def main(argv=None):
    args = parse_args(argv)
    writing = "--json %s (choose a path in an existing folder)" % args.json if args.json else None
    return exit_status(lambda: compare_and_report(args), writing=writing)


if __name__ == "__main__":
    sys.exit(main())

"""Is one run's test AUC really higher than another's? A paired test of two runs scored on the same answers.

Usage (from the repo root), e.g. the DKVMN and the DKT run of one fold:
    python scripts/compare.py runs/assist2009_updated-dkvmn-20260101-120000 \\
        runs/assist2009_updated-dkt-20260101-130000 [--resamples 1000] [--seed 0] [--json OUT [--overwrite]]

Reads both runs' predictions.csv, pairs their rows by (student, position) in any order and checks that both
runs scored the same test answers; runs of different data sets or folds are refused with one `error:` line
(exit status 2). Prints both test AUCs, the difference A - B with its 95% interval and p-value from a paired
bootstrap over students (a student's answers are not independent, so whole students are resampled, the same
resamples for both runs), and DeLong's z and p (the asymptotic test, which takes answers as independent and
so tends to give the smaller p). --json OUT also writes these figures to OUT: a new file, or an existing one
with --overwrite; never a file of either run folder.
"""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from utils import model_registry, paired, run_files  # noqa: E402
from utils.commands import exit_status  # noqa: E402

LEVEL = 0.95


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_a", metavar="RUN_A", help="run folder of model A")
    parser.add_argument("run_b", metavar="RUN_B", help="run folder of model B (the same test answers)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the students")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file (a new one)")
    parser.add_argument("--overwrite", action="store_true", help="let --json replace an existing file")
    args = parser.parse_args(argv)
    if args.resamples < 1:
        parser.error("--resamples must be at least 1, got %d" % args.resamples)
    return args


def compare(args):
    """The figures of the comparison, as written to --json."""
    if args.json:  # before any work: a refused --json costs nothing
        run_files.check_output_file(args.json, "--json", args.overwrite, "--overwrite", [
            (run_dir, "a file of the run folder %s; write the figures elsewhere" % run_dir, None)
            for run_dir in (args.run_a, args.run_b)])
    run_a, run_b = run_files.run_identity(args.run_a), run_files.run_identity(args.run_b)
    rows = paired.pair_predictions(run_files.read_predictions(args.run_a),
                                   run_files.read_predictions(args.run_b), run_a, run_b)
    figures = paired.paired_difference(*rows, n_resamples=args.resamples, seed=args.seed, level=LEVEL)
    run_a["auc"], run_b["auc"] = figures["auc_a"], figures["auc_b"]
    return {"run_a": run_a, "run_b": run_b, "n_answers": figures["n_answers"],
            "n_students": figures["n_students"], "difference": figures["difference"],
            "paired_bootstrap": {"low": figures["low"], "high": figures["high"], "level": LEVEL,
                                 "p_value": figures["p_value"], "n_resamples": figures["n_resamples"],
                                 "n_skipped": figures["n_skipped"], "seed": args.seed},
            "delong": figures["delong"]}


def report(result):
    """The comparison as lines of text."""
    lines = ["%d test answers of %d students, scored by both runs"
             % (result["n_answers"], result["n_students"])]
    for name in ("a", "b"):
        run = result["run_" + name]
        model = model_registry.label(run["model"]) if run["model"] else ""
        lines.append("%s: test AUC %.4f  %s" % (name.upper(), run["auc"], " ".join(
            part for part in (model, paired.data_label(run)) if part)))
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

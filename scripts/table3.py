"""The DKVMN paper's Table 3 from the run records: test AUC per data set and model, with intervals and tests.

Usage (from the repo root, after scripts/reproduce.py has recorded runs in results/runs/):
    python scripts/table3.py [--results results] [--runs_dir runs] [--docs docs] [--resamples 1000] [--seed 0]

Rows: assist2009_updated, assist2015 and STATICS (a value per fold; a fold run with several seeds counts with
the mean of its seeds), Synthetic-5 v0 (a value per seed) and Synthetic-5 over its versions v0 .. v19 (seed 0,
a value per version). Only records with the settings of the table's row (experiments/settings.py,
SETTINGS) count.
Per cell: mean ± std over those values, Student's t 95% interval (utils.stats.mean_std_t_ci), n, the paper's
figure, the AUC on positions >= 2, and each run's own 95% interval (students resampled) when its summary has
one. DKVMN - DKT per row: a paired t-test over folds (or seeds, versions), and per fold a paired bootstrap
over students on the two runs' predictions.csv (found under --runs_dir from the record's run folder). Each
per-fold result is stored once in <results>/paired/<data set>/<fold>-s<seed>.json, with the two record keys,
and read back on later renders, so the table survives the run folders being gone.

Writes <results>/table3.md, table3.json (every run with its record key, fold, seed, run folder, interval),
table3_differences.json (plots/plot_comparison.py's entries) and <docs>/7_model_difference.png (the forest
plot of plots/lib/forest.py, as plots/plot_comparison.py draws it); prints the Markdown. Bad input is one
`error:` line and exit status 2.
The rendering is experiments/table3.py, the same statistics as the study's (experiments/statistics.py).
"""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import table3  # noqa: E402
from plots.lib import forest  # noqa: E402
from utils.commands import exit_status  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="results",
                        help="folder of runs/ (the records); the outputs and paired/ go here too")
    parser.add_argument("--runs_dir", default="runs", help="where the records' run folders are looked for")
    parser.add_argument("--docs", default="docs", help="folder of the figure 7_model_difference.png")
    parser.add_argument("--resamples", type=int, default=1000, help="paired bootstrap resamples of students")
    parser.add_argument("--seed", type=int, default=0, help="seed of the paired bootstrap")
    parser.add_argument("--round", metavar="DIR",
                        help="the table from the fair round's studies under DIR (DIR/STATICS, "
                             "DIR/synthetic, DIR/assist2009_updated, DIR/assist2015): written to DIR, its "
                             "figure to DIR/figures")
    args = parser.parse_args(argv)
    if args.round:  # the round's outputs go beside its studies, Table 3 as it stood is kept
        args.results, args.docs = args.round, os.path.join(args.round, "figures")
    if args.resamples < 1:
        parser.error("--resamples must be at least 1, got %d" % args.resamples)
    return args


def make_table3(args, argv):
    text, differences = table3.write_outputs(table3.build(args, argv), args)
    if differences is None:
        print(text + "\n(no difference has an interval yet: 7_model_difference not drawn)")
        return
    path = os.path.join(args.docs, forest.FIGURE + ".png")
    forest.draw_files([differences], path)
    print(text + "\nwrote %s" % path)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    return exit_status(lambda: make_table3(args, argv), writing="the table in %s" % args.results)


if __name__ == "__main__":
    sys.exit(main())

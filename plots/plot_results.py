"""Comparison figures of one or more runs (e.g. a DKVMN run and a DKT run).

    python plots/plot_results.py runs/synthetic-dkvmn-20240101-120000 runs/synthetic-dkt-20240101-130000

writes 1_training_loss.png, 2_mean_training_loss_per_epoch.png, 3_mean_test_loss_per_epoch.png,
4_test_acc.png, 5_test_auc.png and valid_auc.png (the curve model selection uses) to --out;
default: RUN_DIR/figures/ for one run, <common parent of the runs>/figures/ for several
(runs/figures/ when all runs are under runs/).

Runs of the same model and data set (folds or seeds) are drawn as one band, mean +- 1 std, labelled with
the number of runs and the folds or seeds they differ in ("DKVMN (n=5: folds 1, 2, 3, 4, 5, mean ± 1 std)");
--separate draws one line per run; --by_model draws one band per model over every run given, whatever its
data set (a study over versions of one data set).
The epoch of the best validation AUC (summary.json best_epoch, or the arg-max of valid_auc
while a run is in progress) is marked on every per-epoch figure.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from plots.lib import add_format_option  # noqa: E402
from plots.lib.curves import make_figures  # noqa: E402
from plots.lib.run_logs import group_members, load_run  # noqa: E402
from utils.commands import exit_status  # noqa: E402


def default_out_dir(run_dirs):
    """RUN_DIR/figures for one run; <common parent of the runs>/figures for several."""
    paths = [os.path.abspath(p) for p in run_dirs]
    if len(set(paths)) == 1:
        return os.path.join(paths[0], "figures")
    return os.path.join(os.path.commonpath([os.path.dirname(p) for p in paths]), "figures")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Draw the loss / ACC / AUC figures of one or more run folders (one line per run, "
                    "runs of the same model and data set as a mean +- std band).")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folder(s) written by main.py")
    parser.add_argument("--out", help="output folder (default: RUN_DIR/figures for one run, "
                                      "<common parent of the runs>/figures for several)")
    add_format_option(parser)
    parser.add_argument("--separate", action="store_true",
                        help="one line per run, even for runs of the same model and data set")
    parser.add_argument("--by_model", action="store_true",
                        help="one band per model over every run, whatever its data set (e.g. the "
                             "versions of one data set)")
    return parser.parse_args(argv)


def draw_figures(args):
    """Reads the run folders, writes the figures and prints what it wrote."""
    runs = [load_run(path) for path in args.run_dirs]
    out_dir = args.out or default_out_dir(args.run_dirs)
    paths, groups = make_figures(runs, out_dir, args.format, args.separate, args.by_model)
    for label, members in groups:
        print("%s (%s): %s" % (label, group_members(members), ", ".join(r.path for r in members)))
    for path in paths:
        print("wrote %s" % path)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return exit_status(lambda: draw_figures(args), writing="the figures")


if __name__ == "__main__":
    sys.exit(main())

"""Is DKVMN really better than DKT? The test-AUC difference per data set with its 95% interval: a forest plot.

    python plots/plot_comparison.py differences.json [more.json ...] [--out docs] [--format png|svg|pdf]

Input: one or more JSON files, each a list of entries, or an object whose values are entries (e.g. keyed by
data set: an entry without "dataset" takes its key). An entry is one interval of the difference:

    {"dataset": "assist2009_updated",    required: the data set (one block of rows per data set)
     "difference": 0.0021,               required: DKVMN - DKT test AUC (> 0: DKVMN is better)
     "low": -0.0010, "high": 0.0052,     required: its 95% interval, low <= difference <= high
     "p_value": 0.18,                    optional: of the test that difference = 0
     "n": 5,                             optional: runs (folds) or students behind it
     "kind": "paired t over folds"}      optional: how it was made, e.g. "paired bootstrap, fold 1"

The across-fold entries come from utils.stats.paired_t_test (mean_difference, low, high, p_value, n), the
per-fold ones from scripts/compare.py --json (difference, paired_bootstrap low / high / p_value).

Writes 7_model_difference.png (or .svg / .pdf) to --out (default: the repo's docs/): one row per entry,
grouped by data set in the order they first appear, a dot at the difference, a bar over the interval (a
filled dot where the interval excludes 0), a line at 0, and the figures printed to the right of each row;
prints the same figures. Bad input (a missing file, not JSON, an entry without a required figure) is one
`error: ...` line and exit status 2, before anything is written. No TensorFlow.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from plots.lib import add_format_option  # noqa: E402
from plots.lib.forest import FIGURE, draw_files, figures_text  # noqa: E402
from utils.commands import exit_status  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", metavar="JSON", help="files of entries {dataset, difference, "
                                                                  "low, high, p_value, n, kind}")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"),
                        help="output folder (default: the repo's docs/)")
    add_format_option(parser)
    return parser.parse_args(argv)


def draw_comparison(args):
    """Reads and checks every entry, then writes the figure and prints the figures row by row."""
    path = os.path.join(args.out, "%s.%s" % (FIGURE, args.format))
    for _, entry in draw_files(args.inputs, path):
        print("%-24s %-32s %s" % (entry["dataset"], entry["kind"], figures_text(entry)))
    print("wrote %s" % path)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return exit_status(lambda: draw_comparison(args), writing="the figure in %s" % args.out)


if __name__ == "__main__":
    sys.exit(main())

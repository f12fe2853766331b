"""How DKVMN runs use their memory slots: a table and a heat map of the correlation weights, one per run.

    python plots/plot_slot_usage.py RUN_DIR [RUN_DIR ...] --out DIR [--columns 6]

For each DKVMN run folder (correlation_weights.csv, from the selected checkpoint): the run's data set, seed,
best epoch, validation and test AUC, and whether its slots collapsed: slots_used (slots that are some skill's
arg-max), largest_share (share of the skills on the busiest slot), shares (per slot, largest first),
mean_entropy (of each skill's weights over the slots, divided by log N: 0 = one slot per skill, 1 = uniform)
and the adjusted Rand index of the arg-max clusters against the true concepts where they are known.
Prints the table and writes DIR/slot_usage.csv and DIR/slot_usage.png (rows = skills grouped by true
concept, columns = slots, busiest first, colour = weight).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from plots.lib.clusters import adjusted_rand, cluster_table, slot_usage  # noqa: E402
from plots.lib.run_logs import load_run  # noqa: E402
from utils.commands import exit_status  # noqa: E402
from utils.errors import ConfigError, RunFolderError  # noqa: E402
from utils.run_files import write_csv  # noqa: E402

COLUMNS = ["run", "dataset", "seed", "best_epoch", "epochs_run", "valid_auc", "test_auc", "slots_used",
           "largest_share", "shares", "mean_entropy", "ari"]


def describe(run_dir):
    """(the table row of one DKVMN run as a dict, its cluster rows, its weights)."""
    run = load_run(run_dir, need_epochs=False)
    if not run.has_correlation_weights:
        raise RunFolderError("%s has no correlation_weights.csv: slot usage needs a finished DKVMN run (this "
                             "run's model: %s)" % (run_dir, run.model))
    rows, weights = cluster_table(run_dir)
    usage = slot_usage(weights)
    ari, _ = adjusted_rand(rows)
    summary = run.summary or {}
    row = {"run": run.name, "dataset": run.dataset, "seed": run.constants.get("seed", ""),
           "best_epoch": summary.get("best_epoch", ""), "epochs_run": summary.get("epochs_run", ""),
           "valid_auc": summary.get("valid_auc", ""), "test_auc": summary.get("test_auc", ""),
           "slots_used": usage["slots_used"], "largest_share": usage["largest_share"],
           "shares": "/".join("%.2f" % s for s in usage["shares"]), "mean_entropy": usage["mean_entropy"],
           "ari": "" if ari is None else ari}
    return row, rows, weights


def formatted(value):
    return "%.4f" % value if isinstance(value, float) else str(value)


def draw(described, path, columns):
    n = len(described)
    columns = min(n, columns)
    lines = (n + columns - 1) // columns
    fig, axes = plt.subplots(lines, columns, figsize=(2.2 * columns + 1.0, 5.2 * lines), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (row, rows, weights) in zip(axes.ravel(), described):
        known = [r["true_concept"] if r["true_concept"] != "" else np.inf for r in rows]
        order = np.lexsort(([r["skill"] for r in rows], known))
        busy = np.bincount(np.argmax(weights, axis=1), minlength=weights.shape[1])
        slots = np.argsort(-busy, kind="mergesort")
        image = ax.imshow(weights[order][:, slots], aspect="auto", vmin=0, vmax=1, cmap="viridis",
                          interpolation="nearest")
        concepts = np.asarray(known)[order]
        for boundary in np.flatnonzero(concepts[1:] != concepts[:-1]):
            ax.axhline(boundary + 0.5, color="white", linewidth=1.2)
        ax.set_xticks(range(len(slots)))
        ax.set_xticklabels([str(s) for s in slots], fontsize=7)
        ax.set_yticks([])
        ax.set_xlabel("memory slot", fontsize=8)
        ari = "" if row["ari"] == "" else ", ARI %.2f" % row["ari"]
        ax.set_title("%s seed %s\ntest AUC %s\nentropy %.2f%s" % (
            row["dataset"].replace("naive_c5_q50_s4000_", ""), row["seed"], formatted(row["test_auc"]),
            row["mean_entropy"], ari), fontsize=8)
    axes[0, 0].set_ylabel("skills, grouped by true concept", fontsize=8)
    fig.subplots_adjust(hspace=0.6)  # room for each title under the slot labels of the row above
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.5, label="correlation weight")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(args):
    if args.columns < 1:
        raise ConfigError("--columns must be at least 1 (got %d)" % args.columns)
    described = [describe(run_dir) for run_dir in args.run_dirs]
    if not os.path.isdir(args.out):
        os.makedirs(args.out)
    table = [[formatted(row[c]) for c in COLUMNS] for row, _, _ in described]
    widths = [max(len(c), *(len(line[i]) for line in table)) for i, c in enumerate(COLUMNS)]
    for line in [COLUMNS] + table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    csv_path = os.path.join(args.out, "slot_usage.csv")
    write_csv(csv_path, COLUMNS, table)
    figure_path = os.path.join(args.out, "slot_usage.png")
    draw(described, figure_path, args.columns)
    print("wrote %s" % csv_path)
    print("wrote %s" % figure_path)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Slot usage of DKVMN runs: a table and the heat maps of "
                                                 "their correlation weights.")
    parser.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="DKVMN run folders written by main.py")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--columns", type=int, default=6, help="heat maps per row of the figure (default 6)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return exit_status(lambda: report(args), writing="the slot-usage table")


if __name__ == "__main__":
    sys.exit(main())

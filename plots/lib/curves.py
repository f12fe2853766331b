"""The loss / ACC / AUC figures of finished runs: one line per run, or one mean +- 1 std band per group of
runs of the same model and data set (folds, seeds), the best validation epoch marked. No TensorFlow; the
program is plots/plot_results.py, and scripts/study.py draws its report's curves with make_figures."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from plots.lib.run_logs import group_members, group_runs  # noqa: E402

LOSS = "loss (binary cross-entropy)"
EPOCH_FIGURES = [
    # file name, title, column, y label
    ("2_mean_training_loss_per_epoch", "Mean Training Loss per 1 Epoch", "train_loss", LOSS),
    ("3_mean_test_loss_per_epoch", "Mean Test Loss per 1 Epoch", "test_loss", LOSS),
    ("4_test_acc", "Test ACC", "test_acc", "accuracy (threshold 0.5)"),
    ("5_test_auc", "Test AUC", "test_auc", "AUC"),
    ("valid_auc", "Valid AUC (model selection)", "valid_auc", "AUC"),
]
COLORS = plt.get_cmap("tab10").colors

def smoothing_window(n_points):
    """Moving-average window for the per-step loss: about 1/40 of the steps, odd, at least 1."""
    window = max(1, int(round(n_points / 40.0)))
    return window + 1 - window % 2


def smooth(values, window):
    return pd.Series(values).rolling(window, center=True, min_periods=1).mean().values


def align(frames, x_column, y_column):
    """Union of x over the runs, and a [runs, x] matrix of y (NaN where a run lacks that x)."""
    xs = np.unique(np.concatenate([f[x_column].values.astype(float) for f in frames]))
    matrix = np.full((len(frames), len(xs)), np.nan)
    for i, f in enumerate(frames):
        y = f[y_column].values.astype(float)
        matrix[i, np.searchsorted(xs, f[x_column].values.astype(float))] = y
    return xs, matrix


def mean_std(matrix):
    count = np.isfinite(matrix).sum(axis=0)
    total = np.where(np.isfinite(matrix), matrix, 0.0).sum(axis=0)
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    deviation = np.where(np.isfinite(matrix), matrix - mean, 0.0)
    std = np.sqrt((deviation ** 2).sum(axis=0) / np.maximum(count - 1, 1))
    std[count < 2] = np.nan
    return mean, std


def new_figure(title, xlabel, ylabel, datasets):
    fig, ax = plt.subplots(figsize=(10, 5.6), dpi=120)
    if len(datasets) == 1:
        title = "%s (%s)" % (title, datasets[0])
    ax.set_title(title, fontsize=14)
    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.grid(True, alpha=0.4)
    return fig, ax


def save(fig, ax, out_dir, name, fmt, extra_handles=()):
    handles, labels = ax.get_legend_handles_labels()
    handles = list(handles) + [h for h in extra_handles]
    labels = list(labels) + [h.get_label() for h in extra_handles]
    if handles:
        ax.legend(handles, labels, loc="best", fontsize=9, framealpha=0.9)
    else:
        ax.text(0.5, 0.5, "no data in these runs", transform=ax.transAxes, ha="center", va="center",
                fontsize=12, color="0.4")
    fig.tight_layout()
    path = os.path.join(out_dir, "%s.%s" % (name, fmt))
    fig.savefig(path, dpi=150 if fmt == "png" else None)
    plt.close(fig)
    return path


def plot_training_loss(groups, datasets, out_dir, fmt):
    fig, ax = new_figure("Training Loss", "step", "loss (binary cross-entropy)", datasets)
    window_used = []
    for k, (label, runs) in enumerate(groups):
        color = COLORS[k % len(COLORS)]
        members = [r for r in runs if r.steps is not None and len(r.steps)]
        frames = [r.steps for r in members]
        if not frames:
            continue
        xs, matrix = align(frames, "step", "train_loss")
        window = smoothing_window(len(xs))
        window_used.append(window)
        mean, _ = mean_std(matrix)
        ax.plot(xs, mean, color=color, alpha=0.18, linewidth=0.6, zorder=1)
        n = len(frames)
        if n > 1:
            smoothed = np.vstack([smooth(row, window) for row in matrix])
            smoothed[~np.isfinite(matrix)] = np.nan
            s_mean, s_std = mean_std(smoothed)
            ax.fill_between(xs, s_mean - s_std, s_mean + s_std, color=color, alpha=0.25, linewidth=0,
                            zorder=2)
            ax.plot(xs, s_mean, color=color, linewidth=2, zorder=3,
                    label="%s (%s, mean ± 1 std)" % (label, group_members(members)))
        else:
            ax.plot(xs, smooth(mean, window), color=color, linewidth=2, zorder=3, label=label)
    extra = []
    if window_used:
        extra.append(Line2D([], [], color="0.5", alpha=0.35, linewidth=1,
                            label="faint: raw per step; bold: moving average of %s steps"
                            % "/".join(str(w) for w in sorted(set(window_used)))))
    return save(fig, ax, out_dir, "1_training_loss", fmt, extra)


def has_values(frame, column):
    return column in frame and bool(np.isfinite(frame[column].values.astype(float)).any())


def plot_epoch_metric(groups, datasets, out_dir, fmt, name, title, column, ylabel):
    fig, ax = new_figure(title, "epoch", ylabel, datasets)
    marked = False
    for k, (label, runs) in enumerate(groups):
        color = COLORS[k % len(COLORS)]
        members = [r for r in runs if has_values(r.epochs, column)]
        frames = [r.epochs for r in members]
        if not frames:
            continue
        xs, matrix = align(frames, "epoch", column)
        best = []
        for i, run in enumerate(members):
            if run.best_epoch is not None and run.best_epoch in xs:
                j = int(np.searchsorted(xs, run.best_epoch))
                if np.isfinite(matrix[i, j]):
                    best.append((xs[j], matrix[i, j]))
        n = len(frames)
        if n > 1:
            mean, std = mean_std(matrix)
            ax.fill_between(xs, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
            text = "%s (%s, mean ± 1 std)" % (label, group_members(members))
            if best:
                values = np.array([b[1] for b in best])
                spread = values.std(ddof=1) if len(values) > 1 else 0.0
                text += "; at best epoch: %.4f ± %.4f" % (values.mean(), spread)
            ax.plot(xs, mean, color=color, linewidth=1.8, label=text, marker="o" if len(xs) < 30 else None,
                    markersize=3)
            for bx, by in best:
                ax.plot([bx], [by], marker="*", markersize=12, color=color, markeredgecolor="black",
                        markeredgewidth=0.6, linestyle="none", zorder=5)
        else:
            text = label
            if best:
                text += " (best epoch %d: %.4f)" % (best[0][0], best[0][1])
            ax.plot(xs, matrix[0], color=color, linewidth=1.8, label=text,
                    marker="o" if len(xs) < 30 else None, markersize=3)
            for bx, by in best:
                ax.axvline(bx, color=color, linestyle=":", linewidth=1, alpha=0.8)
                ax.plot([bx], [by], marker="*", markersize=13, color=color, markeredgecolor="black",
                        markeredgewidth=0.6, linestyle="none", zorder=5)
        marked = marked or bool(best)
        if len(xs) and xs.max() - xs.min() < 15:
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    extra = []
    if marked:
        extra.append(Line2D([], [], marker="*", markersize=11, color="0.6", markeredgecolor="black",
                            markeredgewidth=0.6, linestyle="none", label="best validation AUC epoch"))
    return save(fig, ax, out_dir, name, fmt, extra)


def make_figures(runs, out_dir, fmt="png", separate=False, by_model=False):
    """Write the figures of `runs` (a list of run_logs.Run) to out_dir; returns the paths."""
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    groups = group_runs(runs, separate=separate, by_model=by_model)
    datasets = sorted(set(r.dataset for r in runs))
    paths = [plot_training_loss(groups, datasets, out_dir, fmt)]
    for name, title, column, ylabel in EPOCH_FIGURES:
        paths.append(plot_epoch_metric(groups, datasets, out_dir, fmt, name, title, column, ylabel))
    return paths, groups

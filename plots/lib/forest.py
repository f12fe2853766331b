"""The forest plot of the DKVMN - DKT test-AUC difference per data set, and its input: entries read from JSON
and checked (the format is plots/plot_comparison.py's docstring). plots/plot_comparison.py, scripts/table3.py
and scripts/study.py draw it.
"""
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import matplotlib.transforms  # noqa: E402

from data import DataError  # noqa: E402

FIGURE = "7_model_difference"
REQUIRED = ("difference", "low", "high")
COLORS = plt.get_cmap("tab10").colors


def read_entries(paths):
    """The entries of every file, checked, in file order: dicts dataset, difference, low, high (floats),
    p_value (float or None), n (int or None), kind (str, "" when absent)."""
    entries = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                content = json.load(f)
        except OSError as error:
            raise DataError("cannot read %s (%s)" % (path, error.strerror or error))
        except ValueError as error:
            raise DataError("%s is not valid JSON (%s)" % (path, error))
        if isinstance(content, list):
            raw = [(None, item) for item in content]
        elif isinstance(content, dict):
            raw = list(content.items())
        else:
            raise DataError("%s: expected a list of entries or an object of entries, got %s"
                            % (path, type(content).__name__))
        for index, (key, item) in enumerate(raw):
            where = "%s: entry %s" % (path, index + 1 if key is None else json.dumps(key))
            entries.append(checked_entry(item, key, where))
    if not entries:
        raise DataError("%s hold no entry: expected entries {dataset, difference, low, high, ...}"
                        % ", ".join(paths))
    return entries


def checked_entry(item, key, where):
    """One entry with its figures checked (see the module docstring); DataError naming `where` otherwise."""
    if not isinstance(item, dict):
        raise DataError("%s: expected an object {dataset, difference, low, high, ...}, got %s"
                        % (where, json.dumps(item)[:60]))
    dataset = item.get("dataset", key)
    if not isinstance(dataset, str) or not dataset:
        raise DataError("%s: needs \"dataset\", the data set's name" % where)
    entry = {"dataset": dataset, "kind": str(item.get("kind") or "")}
    for name in REQUIRED + ("p_value",):
        value = item.get(name)
        if value is None and name == "p_value":
            entry[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DataError("%s: \"%s\" must be a finite number, got %s" % (where, name, json.dumps(value)))
        entry[name] = float(value)
    if not entry["low"] <= entry["difference"] <= entry["high"]:
        raise DataError("%s: expected low <= difference <= high, got %g, %g, %g"
                        % (where, entry["low"], entry["difference"], entry["high"]))
    if entry["p_value"] is not None and not 0 <= entry["p_value"] <= 1:
        raise DataError("%s: \"p_value\" must lie in [0, 1], got %g" % (where, entry["p_value"]))
    n = item.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise DataError("%s: \"n\" must be a whole number >= 1, got %s" % (where, json.dumps(n)))
    entry["n"] = n
    return entry


def grouped(entries):
    """The entries grouped by data set, the data sets in order of first appearance: [(dataset, [entries])]."""
    groups = {}
    for entry in entries:
        groups.setdefault(entry["dataset"], []).append(entry)
    order = []
    for entry in entries:
        if entry["dataset"] not in order:
            order.append(entry["dataset"])
    return [(dataset, groups[dataset]) for dataset in order]


def figures_text(entry):
    """e.g. "+0.0021 [-0.0010, +0.0052]  p = 0.18  n = 5"."""
    text = "%+.4f [%+.4f, %+.4f]" % (entry["difference"], entry["low"], entry["high"])
    if entry["p_value"] is not None:
        text += "  p = %.2g" % entry["p_value"]
    if entry["n"] is not None:
        text += "  n = %d" % entry["n"]
    return text


def excludes_zero(entry):
    return entry["low"] > 0 or entry["high"] < 0


def draw_forest(entries, path):
    """Writes the forest plot of `entries` (checked, see read_entries) to `path`; returns the rows drawn
    top to bottom as (y, entry)."""
    blocks = grouped(entries)
    rows = [entry for _, members in blocks for entry in members]
    n_rows = len(rows)
    figure, ax = plt.subplots(figsize=(13, 1.6 + 0.45 * n_rows))
    ys = list(range(n_rows, 0, -1))
    text_at = matplotlib.transforms.blended_transform_factory(ax.transAxes, ax.transData)
    colors = dict((dataset, COLORS[k % len(COLORS)]) for k, (dataset, _) in enumerate(blocks))
    previous = None
    for y, entry in zip(ys, rows):
        color = colors[entry["dataset"]]
        ax.plot([entry["low"], entry["high"]], [y, y], color=color, linewidth=2, solid_capstyle="butt")
        ax.plot([entry["low"], entry["high"]], [y, y], color=color, linestyle="none", marker="|",
                markersize=10)
        ax.plot([entry["difference"]], [y], marker="o", markersize=8, color=color, markeredgecolor=color,
                markerfacecolor=color if excludes_zero(entry) else "white", zorder=3)
        ax.text(1.02, y, figures_text(entry), transform=text_at, va="center", fontsize=9, family="monospace")
        if previous is not None and previous != entry["dataset"]:
            ax.axhline(y + 0.5, color="0.8", linewidth=0.8)
        previous = entry["dataset"]
    ax.axvline(0, color="0.3", linestyle="--", linewidth=1)
    ax.set_yticks(ys)
    ax.set_yticklabels([e["dataset"] + (" · " + e["kind"] if e["kind"] else "") for e in rows], fontsize=9)
    ax.set_ylim(0.4, n_rows + 0.6)
    low = min([0.0] + [e["low"] for e in rows])
    high = max([0.0] + [e["high"] for e in rows])
    margin = 0.08 * (high - low) or 0.001
    ax.set_xlim(low - margin, high + margin)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=6))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: "0" if x == 0 else "%+.3g" % x))
    ax.set_xlabel("test AUC difference, DKVMN - DKT (right of 0: DKVMN higher)")
    ax.set_title("DKVMN - DKT test AUC with 95% intervals (filled: the interval excludes 0)", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=150 if path.endswith(".png") else None)
    finally:
        plt.close(figure)
    return list(zip(ys, rows))


def draw_files(paths, path):
    """The forest plot of the entries of the JSON files `paths`, each read and checked before anything is
    drawn, to `path` (its folder made); returns draw_forest's rows."""
    entries = read_entries(paths)
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    return draw_forest(entries, path)

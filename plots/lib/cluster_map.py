"""The "Problem Clustering" figure of a DKVMN run (the format is plots/plot_clusters.py's docstring): each
skill at its place on a seeded t-SNE map of its correlation weights (Hellinger distance), coloured by its
arg-max memory slot, labelled without overlaps, with skill_clusters.csv beside it. No TensorFlow; the program
is plots/plot_clusters.py, and scripts/study.py draws its report's map with draw_cluster_map."""
import csv
import inspect
import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from plots.lib.clusters import adjusted_rand, cluster_table  # noqa: E402
from plots.lib.labels import truncate  # noqa: E402
from utils.errors import RunFolderError  # noqa: E402
from utils.run_files import CORRELATION_WEIGHTS, read_config  # noqa: E402

SEED = 0


def tsne_2d(weights, seed=SEED):
    """2-D t-SNE of the weight vectors (Hellinger distance = Euclidean between square roots).
    perplexity stays below the number of points; n_iter (sklearn <= 1.4) / max_iter (>= 1.5)."""
    n = len(weights)
    features = np.sqrt(np.clip(weights, 0, None))
    if n < 4:  # t-SNE needs a perplexity below n: place the few points on a circle
        angles = 2 * np.pi * np.arange(n) / max(n, 1)
        return np.stack([np.cos(angles), np.sin(angles)], axis=1) * (n > 1)
    from sklearn.manifold import TSNE
    params = inspect.signature(TSNE).parameters
    options = dict(n_components=2, perplexity=float(min(30.0, (n - 1) / 3.0)), init="pca", random_state=seed,
                   method="exact" if n <= 400 else "barnes_hut")
    options["max_iter" if "max_iter" in params else "n_iter"] = 1000
    if "learning_rate" in params:
        options["learning_rate"] = "auto"
    if "square_distances" in params:
        options["square_distances"] = True
    features = features + np.random.RandomState(seed).normal(0, 1e-9, features.shape)  # ties: distinct points
    try:  # a few hundred points: one thread is fastest, and spares a busy machine
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=1)
    except ImportError:
        limits = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return TSNE(**options).fit_transform(features)
    finally:
        if limits is not None:
            limits.restore_original_limits()


def cluster_colors(clusters):
    slots = sorted(set(int(c) for c in clusters))
    cmap = plt.get_cmap("tab10" if len(slots) <= 10 else "tab20")
    colors = {}
    for i, slot in enumerate(slots):
        colors[slot] = cmap(i % cmap.N) if len(slots) <= 20 else plt.get_cmap("hsv")(i / float(len(slots)))
    return colors


def _overlaps(box, boxes):
    """Number of boxes (array [k, 4] of x0, y0, x1, y1) that `box` overlaps."""
    if len(boxes) == 0:
        return 0
    b = np.asarray(boxes)
    return int(np.sum((box[0] < b[:, 2]) & (box[2] > b[:, 0]) & (box[1] < b[:, 3]) & (box[3] > b[:, 1])))


def _crossings(x0, y0, x1, y1, boxes, samples=12):
    """Number of boxes that the segment (x0, y0)-(x1, y1) passes through (sampled)."""
    if len(boxes) == 0:
        return 0
    t = np.linspace(0.0, 1.0, samples)[1:-1]
    xs, ys = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    b = np.asarray(boxes)
    inside = ((xs[None, :] > b[:, 0:1]) & (xs[None, :] < b[:, 2:3]) & (ys[None, :] > b[:, 1:2])
              & (ys[None, :] < b[:, 3:4]))
    return int(inside.any(axis=1).sum())


def place_labels(ax, xy, texts, short_texts, fontsize, marker_px, colors=None):
    """Greedy label placement in display space: for each point (crowded points first) try
    positions around it at growing distances, keep the first that overlaps no label, no
    point and stays inside the axes; else try the short text; else the least bad spot.
    Returns the number of labels that fell back to the short text."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    points = ax.transData.transform(xy)
    frame = ax.get_window_extent(renderer)
    pad = 2.0
    r = marker_px / 2.0 + 1.0
    point_boxes = np.column_stack([points[:, 0] - r, points[:, 1] - r, points[:, 0] + r, points[:, 1] + r])

    def size(text):
        t = ax.text(0, 0, text, fontsize=fontsize)
        extent = t.get_window_extent(renderer)
        t.remove()
        return extent.width + 2 * pad, extent.height + 2 * pad

    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    crowd = (distances < 60 * fig.dpi / 100.0).sum(axis=1)
    order = np.argsort(-crowd, kind="mergesort")
    placed = []
    segments = []
    fallbacks = 0
    to_points = 72.0 / fig.dpi
    for i in order:
        px, py = points[i]
        others = np.delete(point_boxes, i, axis=0)
        best = None
        found = False
        for attempt, text in enumerate((texts[i], short_texts[i])):
            w, h = size(text)
            g = r + 1
            for step in (0, 1, 2, 3.5, 5, 7):
                d = g + step * h
                candidates = [
                    (px + d, py - h / 2), (px - d - w, py - h / 2),
                    (px - w / 2, py + d), (px - w / 2, py - d - h),
                    (px + d * 0.7, py + d * 0.7), (px + d * 0.7, py - d * 0.7 - h),
                    (px - d * 0.7 - w, py + d * 0.7), (px - d * 0.7 - w, py - d * 0.7 - h),
                ]
                for x0, y0 in candidates:
                    box = np.array([x0, y0, x0 + w, y0 + h])
                    outside = (x0 < frame.x0 + 2 or y0 < frame.y0 + 2 or x0 + w > frame.x1 - 2
                               or y0 + h > frame.y1 - 2)
                    clash = 1000 * outside + 10 * _overlaps(box, placed) + 3 * _overlaps(box, others)
                    if clash == 0:  # keep labels off the leader lines, and leader lines off the labels
                        clash = 2 * sum(_crossings(a, b, c, d, [box]) for a, b, c, d in segments)
                        if step >= 1:
                            clash += 2 * _crossings(px, py, x0 + w / 2, y0 + h / 2, placed)
                    cost = clash + step + attempt * 5
                    if best is None or cost < best[0]:
                        best = (cost, text, box, step)
                    if clash == 0:  # steps grow: the first free spot is the nearest one
                        found = True
                        break
                if found:
                    break
            if found:
                break
        cost, text, box, step = best
        if text != texts[i]:
            fallbacks += 1
        placed.append(box)
        if step >= 1:
            segments.append((px, py, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
        x0, y0 = box[0] + pad, box[1] + pad
        arrow = dict(arrowstyle="-", color="0.55", linewidth=0.5, shrinkA=0, shrinkB=r) if step >= 1 else None
        ax.annotate(text, xy=(xy[i, 0], xy[i, 1]), xycoords="data",
                    xytext=((x0 - px) * to_points, (y0 - py) * to_points), textcoords="offset points",
                    ha="left", va="bottom", fontsize=fontsize, arrowprops=arrow, zorder=4,
                    color=colors[i] if colors is not None else "0.1",
                    annotation_clip=False)
    return fallbacks


def write_table(rows, path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["skill", "skill_id", "name", "cluster", "true_concept"])
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def draw(rows, weights, xy, title, ari_text, path, fmt):
    n = len(rows)
    width = float(np.clip(5.0 + 1.05 * np.sqrt(n), 8.0, 22.0))
    height = width * 0.68
    dpi = 100
    fig = plt.figure(figsize=(width + 3.0, height), dpi=dpi)
    ax_w = width / (width + 3.0)
    ax = fig.add_axes([0.02, 0.03, ax_w - 0.04, 0.91])
    clusters = np.array([r["cluster"] for r in rows])
    colors = cluster_colors(clusters)
    marker_size = 46
    for slot in sorted(colors):
        members = clusters == slot
        count = int(members.sum())
        ax.scatter(xy[members, 0], xy[members, 1], s=marker_size, color=colors[slot], edgecolors="black",
                   linewidths=0.5, zorder=3,
                   label="slot %d (%d skill%s)" % (slot, count, "" if count == 1 else "s"))
    span = xy.max(axis=0) - xy.min(axis=0) if n > 1 else np.array([1.0, 1.0])
    span[span == 0] = 1.0
    margin_x, margin_y = 0.2 * span[0], 0.08 * span[1]
    ax.set_xlim(xy[:, 0].min() - margin_x, xy[:, 0].max() + margin_x)
    ax.set_ylim(xy[:, 1].min() - margin_y, xy[:, 1].max() + margin_y)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=14)
    fontsize = 8 if n > 60 else 9
    fig.canvas.draw()
    text_colors = [tuple(0.55 * np.asarray(colors[c][:3])) for c in clusters]  # darker: readable as text
    fallbacks = place_labels(ax, xy, [truncate(r["name"]) for r in rows],
                             ["#" + truncate(r["skill_id"], 10) for r in rows],
                             fontsize, np.sqrt(marker_size) * dpi / 72.0, text_colors)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=9,
                       title="cluster = arg-max memory slot", title_fontsize=9,
                       ncol=1 if len(colors) <= 24 else 2, frameon=False)
    legend.set_zorder(6)
    notes = []
    if ari_text:
        notes.append(ari_text)
    notes.append("%d skills, %d memory slots, %d used" % (n, weights.shape[1], len(colors)))
    notes.append("t-SNE of the correlation weights\n(Hellinger distance, seed %d)" % SEED)
    if fallbacks:
        notes.append("%d label%s shown as #skill_id\n(no room; names in skill_clusters.csv)"
                     % (fallbacks, "" if fallbacks == 1 else "s"))
    fig.text(ax_w - 0.02 + 0.01 * 3.0 / (width + 3.0), 0.05, "\n\n".join(notes), fontsize=9, va="bottom",
             ha="left", color="0.15", transform=fig.transFigure)
    fig.savefig(path, dpi=150 if fmt == "png" else None)
    plt.close(fig)
    return fallbacks


def draw_cluster_map(run_dir, out_dir=None, fmt="png"):
    """Writes skill_clusters.csv and 6_problem_clustering.<fmt> of one run to out_dir (default
    RUN_DIR/figures); returns what it drew: rows, clusters (the slots used), ari (None where the true
    concepts are unknown), table_path, figure_path and fallbacks (labels shown as the skill id)."""
    constants = read_config(run_dir).get("constants") or {}
    model = str(constants.get("model") or "?")
    if not os.path.isfile(os.path.join(run_dir, CORRELATION_WEIGHTS)):
        raise RunFolderError("%s has no %s: the clustering figure needs a finished run of a model with "
                             "correlation weights over latent concepts (DKVMN; this run's model: %s), "
                             "written from the selected checkpoint" % (run_dir, CORRELATION_WEIGHTS, model))
    rows, weights = cluster_table(run_dir)
    out_dir = out_dir or os.path.join(run_dir, "figures")
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    table_path = os.path.join(out_dir, "skill_clusters.csv")
    write_table(rows, table_path)
    ari, n_known = adjusted_rand(rows)
    ari_text = None
    if ari is not None:
        n_concepts = len(set(r["true_concept"] for r in rows if r["true_concept"] != ""))
        ari_text = "adjusted Rand index vs the\n%d true concepts: %.3f" % (n_concepts, ari)
        if n_known < len(rows):
            ari_text += "\n(%d of %d skills with a known concept)" % (n_known, len(rows))
    dataset = str(constants.get("dataset") or "")
    title = "Problem Clustering" + (" (%s)" % dataset if dataset else "")
    figure_path = os.path.join(out_dir, "6_problem_clustering.%s" % fmt)
    fallbacks = draw(rows, weights, tsne_2d(weights), title, ari_text, figure_path, fmt)
    return {"rows": rows, "clusters": sorted(set(r["cluster"] for r in rows)), "ari": ari,
            "table_path": table_path, "figure_path": figure_path, "fallbacks": fallbacks}

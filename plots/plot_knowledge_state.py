"""Knowledge-state heatmap of one student (DKT paper Fig. 1, DKVMN paper Fig. 5 style).

    python predict.py RUN_DIR --split test --students 17 --out s17.csv      # 1. TensorFlow: predict
    python plots/plot_knowledge_state.py RUN_DIR --student 17 --mastery s17.csv  # 2. draw (no TF)

    python plots/plot_knowledge_state.py RUN_DIR --student 17               # both steps in one command
    python plots/plot_knowledge_state.py RUN_DIR --student u42 --input history.csv

Rows are skills, columns are the student's steps, colour is the predicted mastery after the step (P(correct)
on that skill at the next step, 0..1). The skill answered at each step is marked in its row: a filled dot
for a correct answer, a hollow one for a wrong answer; the strip under the map repeats the answers
(green = correct, red = wrong). For a DKVMN run the rows are grouped by cluster (the arg-max memory slot of
the skill's correlation weights, correlation_weights.csv) with a line and a label between groups.

This script imports no TensorFlow: it draws the mastery CSV written by predict.py (--mastery FILE). Without
--mastery it runs predict.py in a separate process for that one student (the run's test split, or --input
FILE) and keeps its CSV next to the figure. Writes RUN_DIR/figures/knowledge_state_<student>.png (or --out
DIR). Exit status 2 with a one-line error for bad input (e.g. an unknown student, listing a few valid ids).
"""
import argparse
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from plots.lib.labels import truncate  # noqa: E402
from utils.commands import exit_status  # noqa: E402
from utils.errors import RunFolderError  # noqa: E402
from utils import model_registry, run_files  # noqa: E402
from utils.run_files import CORRELATION_WEIGHTS, read_config, read_correlation_weights, read_skills  # noqa: E402

MAX_LABEL = 26
COLORMAP = "RdYlGn"  # red = likely wrong, green = likely right


def read_mastery(path, student):
    """(rows of `student`, [skill ids of the mastery columns]) from predict.py's CSV."""
    try:
        table = pd.read_csv(path, dtype={"student": str, "skill_id": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise RunFolderError("cannot read %s (%s)" % (path, str(e).strip().splitlines()[-1])) from None
    needed = ["student", "position", "skill_id", "answer", "p"]
    mastery_columns = [c for c in table.columns if str(c).startswith("mastery_")]
    if any(c not in table.columns for c in needed) or not mastery_columns:
        raise RunFolderError("%s is not a mastery file of predict.py (expected the columns %s, "
                       "mastery_<skill_id>...)" % (path, ",".join(needed)))
    rows = table[table["student"] == str(student)].sort_values("position")
    if len(rows) == 0:
        students = list(pd.unique(table["student"]))
        raise RunFolderError("student %s is not in %s (%d students; e.g. %s)" % (
            student, path, len(students), ", ".join(students[:6])))
    return rows.reset_index(drop=True), [c[len("mastery_"):] for c in mastery_columns]


def skill_rows(run_dir, skill_ids, touched):
    """The heatmap's rows: list of (skill_id, label, cluster or None) in drawing order; skills are grouped
    by cluster when the run has correlation weights (a DKVMN run)."""
    info = read_skills(run_dir, n_skills=len(skill_ids))
    names = dict(zip(info["skill_id"].astype(str), info["name"].astype(str)))
    index = dict(zip(info["skill_id"].astype(str), info["skill"].astype(int)))
    clusters = {}
    if os.path.isfile(os.path.join(run_dir, CORRELATION_WEIGHTS)):
        skills, weights = read_correlation_weights(run_dir)
        clusters = dict((int(s), int(np.argmax(w))) for s, w in zip(skills, weights))
    shown = [s for s in skill_ids if touched is None or s in touched]
    rows = []
    for skill_id in shown:
        name = names.get(skill_id, skill_id)
        label = skill_id if name == skill_id else "%s  %s" % (skill_id, truncate(name, MAX_LABEL))
        rows.append((skill_id, label, clusters.get(index.get(skill_id)) if clusters else None))
    if clusters:
        order = dict((s, i) for i, s in enumerate(skill_ids))
        rows.sort(key=lambda row: (row[2] if row[2] is not None else 1 << 30, order[row[0]]))
    return rows


def draw(steps, rows, title, path):
    """steps: DataFrame of one student (position, skill_id, answer, p, mastery_*); rows: from skill_rows."""
    n_steps, n_rows = len(steps), len(rows)
    values = np.array([steps["mastery_" + skill_id].values for skill_id, _, _ in rows], dtype=float)
    width = float(np.clip(3.0 + 0.075 * n_steps, 8.0, 24.0))
    height = float(np.clip(1.6 + 0.17 * n_rows, 3.6, 22.0))
    fig = plt.figure(figsize=(width, height), dpi=100)
    left = min(0.35, 2.3 / width)
    strip_h = 0.22 / height
    bottom = 0.75 / height + strip_h + 0.12 / height
    top = 1.0 - 0.45 / height
    ax = fig.add_axes([left, bottom, 0.9 - left - 0.9 / width, top - bottom])
    image = ax.imshow(values, aspect="auto", cmap=COLORMAP, vmin=0.0, vmax=1.0, interpolation="nearest",
                      extent=(-0.5, n_steps - 0.5, n_rows - 0.5, -0.5))
    row_of = dict((skill_id, i) for i, (skill_id, _, _) in enumerate(rows))
    xs = np.arange(n_steps)
    ys = np.array([row_of.get(s, -1) for s in steps["skill_id"]])
    correct = steps["answer"].values == 1
    size = float(np.clip(2600.0 / max(n_steps, n_rows * 2.5), 6.0, 60.0))
    shown = ys >= 0
    ax.scatter(xs[shown & correct], ys[shown & correct], s=size, c="black", marker="o", linewidths=0)
    ax.scatter(xs[shown & ~correct], ys[shown & ~correct], s=size, facecolors="white", edgecolors="black",
               marker="o", linewidths=1.0)
    ax.set_yticks(np.arange(n_rows))
    fontsize = 9 if n_rows <= 40 else (7 if n_rows <= 80 else 5.5)
    ax.set_yticklabels([label for _, label, _ in rows], fontsize=fontsize)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    ax.set_ylabel("skill" + (" (grouped by DKVMN cluster)" if rows and rows[0][2] is not None else ""))
    ax.set_title(title, fontsize=12)
    # cluster separators and labels
    clusters = [c for _, _, c in rows]
    if clusters and clusters[0] is not None:
        start = 0
        for i in range(1, n_rows + 1):
            if i == n_rows or clusters[i] != clusters[start]:
                if i < n_rows:
                    ax.axhline(i - 0.5, color="black", linewidth=1.2)
                ax.text(n_steps - 0.5 + 0.005 * n_steps, (start + i - 1) / 2.0, " slot %d" % clusters[start],
                        va="center", ha="left", fontsize=8, clip_on=False)
                start = i
    # answer strip under the map, with the step numbers
    strip = fig.add_axes([left, 0.75 / height, 0.9 - left - 0.9 / width, strip_h], sharex=ax)
    strip.imshow(correct[None].astype(float), aspect="auto", cmap=ListedColormap(["#d7301f", "#1a9850"]),
                 vmin=0, vmax=1, extent=(-0.5, n_steps - 0.5, 0.5, -0.5), interpolation="nearest")
    strip.set_yticks([0])
    strip.set_yticklabels(["answer"], fontsize=8)
    tick_every = max(1, int(np.ceil(n_steps / 25.0 / 5.0)) * 5) if n_steps > 25 else 1
    ticks = np.arange(0, n_steps, tick_every)
    strip.set_xticks(ticks)
    strip.set_xticklabels([str(int(steps["position"].values[t])) for t in ticks], fontsize=8)
    strip.set_xlabel("step (position in the student's sequence)\n"
                     "dot = the skill answered: filled = correct, hollow = wrong; "
                     "colour = mastery after the step",
                     fontsize=9)
    bar_ax = fig.add_axes([0.9 - 0.9 / width + 0.55 / width + (0.35 / width if clusters and
                                                                   clusters[0] is not None else 0.0),
                           bottom, 0.18 / width, top - bottom])
    bar = fig.colorbar(image, cax=bar_ax)
    bar.set_label("predicted mastery P(correct)", fontsize=9)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_predict(run_dir, student, input_path, out_dir):
    """Writes the student's mastery CSV with predict.py in its own process (TensorFlow stays out of here)."""
    path = os.path.join(out_dir, "mastery_%s.csv" % safe_name(student))
    command = [sys.executable, os.path.join(ROOT, "predict.py"), run_dir, "--students", str(student),
               "--out", path] + (["--input", input_path] if input_path else ["--split", "test"])
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.startswith("error:")]
        raise RunFolderError(lines[-1][len("error: "):] if lines
                             else "predict.py failed:\n" + done.stderr[-2000:])
    return path


def test_students(run_dir):
    """The run's test students, in the order of its predictions.csv."""
    return list(pd.unique(run_files.read_predictions(run_dir)["student"]))


def safe_name(text):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Knowledge-state heatmap of one student: predicted mastery of each skill after each "
                    "step.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a finished run folder written by main.py")
    parser.add_argument("--student", required=True, help="student id")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--mastery", help="mastery CSV written by predict.py (else predict.py is run)")
    source.add_argument("--input", help="response-log CSV for predict.py (default: the run's test split)")
    parser.add_argument("--skills", choices=("touched", "all"), default="touched",
                        help="rows: the skills the student answered (default) or every skill")
    parser.add_argument("--out", help="output folder (default RUN_DIR/figures)")
    return parser.parse_args(argv)


def draw_knowledge_state(args):
    """Writes the knowledge-state figure of one student; prints its path."""
    config = read_config(args.run_dir)
    model = str((config.get("constants") or {}).get("model") or "?")
    out_dir = args.out or os.path.join(args.run_dir, "figures")
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    mastery_path = args.mastery
    if not mastery_path:
        if not args.input:
            students = test_students(args.run_dir)
            if args.student not in students:
                raise RunFolderError("student %s is not in the run's test split (%d students; e.g. %s)" % (
                    args.student, len(students), ", ".join(students[:6])))
        mastery_path = run_predict(args.run_dir, args.student, args.input, out_dir)
    steps, skill_ids = read_mastery(mastery_path, args.student)
    touched = None if args.skills == "all" else set(steps["skill_id"])
    rows = skill_rows(args.run_dir, skill_ids, touched)
    title = "Knowledge state of student %s (%s, %s; %d steps, %d skills)" % (
        args.student, model_registry.label(model), (config.get("constants") or {}).get("dataset", "?"),
        len(steps), len(rows))
    path = os.path.join(out_dir, "knowledge_state_%s.png" % safe_name(args.student))
    draw(steps, rows, title, path)
    print("wrote %s" % path)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return exit_status(lambda: draw_knowledge_state(args), writing="the figure")


if __name__ == "__main__":
    sys.exit(main())

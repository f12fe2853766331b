"""This repository's BKT (hmmlearn EM, utils/bkt_fit.py) against pyBKT, the field's reference, on the same
training chunks and the same test positions.

    python benchmarks/bkt_vs_pybkt.py RUN_DIR --pybkt_python ../pybkt-venv/bin/python \
        [--forgetting selected|without|with] [--out benchmarks/out/bkt_vs_pybkt.json]

RUN_DIR is a finished `--model bkt` run (e.g. from `python main.py --model bkt ...` or scripts/reproduce.py).
Its data set, fold and SEQ_LEN are read from its config.json, and the setting its validation chose (with or
without forgetting, its selected epoch) is the one pyBKT fits, unless --forgetting names the other: then
only the two test AUCs are compared (ours from that epoch's line of epochs.csv; the run keeps no predictions
of it), since pyBKT's fit with forgetting can take an hour where ours takes a minute.

The training students' histories are cut into SEQ_LEN chunks, each chunk one pyBKT user, as this
repository's BKT is fitted; the test histories are cut the same way and pyBKT predicts them; its P(correct) is
matched to the run's predictions.csv by student and position. Printed and written: both AUCs on the positions
both predicted (scikit-learn's roc_auc_score), the correlation and mean absolute difference of the two
P(correct), and both fit times (ours: the fitted epoch's train_seconds in epochs.csv; pyBKT's: its Model.fit,
default 5 EM restarts).

pyBKT's EM needs two or more answers to a skill in a sequence: where every sequence answers each skill once
(Synthetic-5: each student answers each of the 50 questions once) it leaves guess and slip at 0.5 and
predicts 0.5 everywhere, while an HMM fitted by hmmlearn learns each skill's rate of first answers.

pyBKT runs in an environment of its own (pyBKT 1.4.3 imports only with scikit-learn < 1.8 and fits only with
numpy 1.x; this repository installs numpy 2 and scikit-learn >= 1.8):

    python3 -m venv ../pybkt-venv
    ../pybkt-venv/bin/pip install numpy==1.26.4 scikit-learn==1.7.2 pandas==2.2.3 pyBKT==1.4.3
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from utils.quiet import quiet_tensorflow  # noqa: E402
quiet_tensorflow()  # utils.bkt_fit imports TensorFlow, whose start-up lines are noise

from data import load_from_config, older_run_split  # noqa: E402
from utils import run_files  # noqa: E402
from utils.bkt_fit import FORGETTING  # noqa: E402  (epoch 1 and 2 of a BKT run)
from utils.commands import exit_status  # noqa: E402
from utils.errors import ConfigError  # noqa: E402

PYBKT_FIT = os.path.join(ROOT, "benchmarks", "pybkt_fit.py")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", help="a finished --model bkt run folder")
    parser.add_argument("--pybkt_python", required=True, help="the Python of pyBKT's own environment")
    parser.add_argument("--forgetting", choices=("selected", "without", "with"), default="selected",
                        help="the setting pyBKT fits: the run's selected one (default) or the other")
    parser.add_argument("--out", default=os.path.join("benchmarks", "out", "bkt_vs_pybkt.json"))
    return parser.parse_args(argv)


def read_run(run_dir):
    """(config constants, summary, epochs.csv by epoch) of a finished BKT run."""
    try:
        config = run_files.read_json(os.path.join(run_dir, run_files.CONFIG))["constants"]
        summary = run_files.read_json(os.path.join(run_dir, run_files.SUMMARY))
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError("%s is not a finished run folder (%s)" % (run_dir, error))
    if config.get("model") != "bkt":
        raise ConfigError("%s is a run of %s: give a --model bkt run" % (run_dir, config.get("model")))
    with open(os.path.join(run_dir, run_files.EPOCHS)) as f:
        epochs = dict((int(row["epoch"]), row) for row in csv.DictReader(f))
    return config, summary, epochs


def chunk_rows(sequences, seq_len, with_position):
    """pyBKT's rows: each SEQ_LEN chunk of a history is one user; order_id keeps time order."""
    rows, order = [], 0
    for seq in sequences:
        for offset in range(0, len(seq.skills), seq_len):
            user = "%s#%d" % (seq.student, offset // seq_len)
            for t in range(offset, min(offset + seq_len, len(seq.skills))):
                row = [user, "s%d" % seq.skills[t], int(seq.answers[t]), order]
                rows.append(row + ([seq.student, t] if with_position else []))
                order += 1
    return rows


def write_rows(path, rows, with_position):
    header = ["user_id", "skill_name", "correct", "order_id"] + (["student", "position"] if with_position
                                                                 else [])
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def run_pybkt(python, train_rows, test_rows, forgets, seed):
    """pyBKT's P(correct) by (student, position), and its report."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, name) for name in ("train.csv", "test.csv", "p.csv", "report.json")]
        write_rows(paths[0], train_rows, False)
        write_rows(paths[1], test_rows, True)
        completed = subprocess.run([python, PYBKT_FIT] + paths + ["--forgets", str(int(forgets)),
                                                                  "--seed", str(seed)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        if completed.returncode != 0:
            raise ConfigError("pyBKT failed under %s: %s" % (python, completed.stderr.strip()[-400:]))
        with open(paths[2]) as f:
            predicted = dict(((row["student"], int(row["position"])), float(row["p"])) for row in
                             csv.DictReader(f))
        report = run_files.read_json(paths[3])
    return predicted, report


def compare(ours, theirs, same_setting, our_epoch_auc):
    """AUCs, and where ours are predictions of the setting pyBKT fitted, the correlation and mean
    |difference|, on the positions both predicted. With another setting (`same_setting` False), ours is
    `our_epoch_auc` (every test position), and the P(correct) are not compared."""
    from sklearn.metrics import roc_auc_score
    keys = [(s, int(t)) for s, t in zip(ours["student"], ours["position"])]
    both = np.array([key in theirs for key in keys])
    answers = ours["answer"][both]
    p_ours = ours["p"][both]
    p_theirs = np.array([theirs[key] for key, kept in zip(keys, both) if kept])
    figures = {"positions": int(both.sum()), "positions_only_ours": int((~both).sum()),
               "auc_pybkt": float(roc_auc_score(answers, p_theirs)), "auc_ours": our_epoch_auc,
               "correlation": None, "mean_abs_difference": None}
    if same_setting:
        figures.update(auc_ours=float(roc_auc_score(answers, p_ours)),
                       correlation=float(np.corrcoef(p_ours, p_theirs)[0, 1]),
                       mean_abs_difference=float(np.mean(np.abs(p_ours - p_theirs))))
    return figures


def main(argv=None):
    args = parse_args(argv)
    config, summary, epochs = read_run(args.run_dir)
    selected = FORGETTING[summary["best_epoch"] - 1]
    forgets = selected if args.forgetting == "selected" else args.forgetting == "with"
    our_epoch = epochs[FORGETTING.index(forgets) + 1]
    our_seconds = float(our_epoch["train_seconds"])
    dataset = load_from_config(dict(older_run_split(config), **config))  # a run made before them
    seq_len = config["seq_len"]
    train_rows = chunk_rows(dataset.train, seq_len, False)
    test_rows = chunk_rows(dataset.test, seq_len, True)
    theirs, report = run_pybkt(args.pybkt_python, train_rows, test_rows, forgets, config["seed"])
    figures = compare(run_files.read_predictions(args.run_dir), theirs, forgets == selected,
                      float(our_epoch["test_auc"]))
    result = dict(figures, run_dir=args.run_dir, dataset=config["dataset"], fold=config["fold"],
                  seq_len=seq_len, forgetting=forgets, selected_by_validation=forgets == selected,
                  train_answers=len(train_rows),
                  fit_seconds_ours=our_seconds, fit_seconds_pybkt=report["fit_seconds"],
                  pybkt_test_rows_unseen_skill=report["test_rows_unseen_skill"],
                  our_summary_test_auc=summary.get("test_auc"))
    run_files.write_json(args.out, result)
    print("BKT %s forgetting on %s fold %s (SEQ_LEN %d chunks, %d training answers), %d test positions:"
          % ("with" if forgets else "without", config["dataset"], config["fold"], seq_len, len(train_rows),
             figures["positions"]))
    print("  test AUC: ours (hmmlearn) %.4f, pyBKT %.4f" % (figures["auc_ours"], figures["auc_pybkt"]))
    if figures["correlation"] is not None:
        print("  P(correct): correlation %.4f, mean |difference| %.4f"
              % (figures["correlation"], figures["mean_abs_difference"]))
    else:
        print("  (the setting the run's validation did not select: ours is its epoch's test AUC in %s)"
              % run_files.EPOCHS)
    print("  fit seconds: ours %.1f, pyBKT %.1f; written to %s" % (our_seconds, report["fit_seconds"],
                                                                    args.out))
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))

"""Score recorded runs over whole histories: each test history from its first answer to its last, the state
(or the counts) carried across the SEQ_LEN cuts, as a served model sees a student.

    python scripts/score_whole_histories.py assist2009_updated [--models irt pfa best_lr bkt]
        [--results results] [--runs_dir runs]

For every record of the data set under <results>/runs/<data set>/ whose run folder is found under --runs_dir
(as scripts/table3.py finds it), runs `python evaluate.py RUN_DIR --carry_state true` into a temporary
folder and keeps the figures of its metrics.json in <results>/whole_history/<data set>/<key>.json (AUC and
its 95% interval, AUC on positions >= 2, ECE, AUC by position, the command). A record already scored is
skipped. scripts/table3.py sets these figures beside the ones of the paper's protocol (history cut at
SEQ_LEN), so that cut is compared with cut and whole with whole. Bad input is one `error:` line and exit
status 2; a run whose evaluation fails is named, and the others go on (exit status 1).
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import table3  # noqa: E402
from experiments.runs import read_records  # noqa: E402
from utils import model_registry, run_files  # noqa: E402
from utils.commands import exit_status  # noqa: E402
from utils.errors import ConfigError  # noqa: E402

EVALUATE_PY = os.path.join(REPO, "evaluate.py")
KEPT = ("auc", "auc_ci_low", "auc_ci_high", "auc_ci_resamples", "auc_from2", "ece", "brier", "loss",
        "auc_by_position")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", help="the data set of the records (results/runs/<data set>/)")
    parser.add_argument("--models", nargs="+", choices=model_registry.names(),
                        default=list(model_registry.names()))
    parser.add_argument("--results", default="results", help="folder of runs/ (the records)")
    parser.add_argument("--runs_dir", default="runs", help="where the records' run folders are looked for")
    return parser.parse_args(argv)


def score(run_dir):
    """evaluate.py --carry_state true on the run's test split: (metrics dict, None) or (None, why)."""
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, EVALUATE_PY, run_dir, "--carry_state", "true", "--evaluations_dir", out]
        completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True)
        found = glob.glob(os.path.join(out, "*", "metrics.json"))
        if completed.returncode != 0 or not found:
            said = completed.stderr.strip().splitlines() or ["exit status %d" % completed.returncode]
            return None, said[-1]
        return run_files.read_json(found[0]), None


def main(argv=None):
    args = parse_args(argv)
    records = [r for r in read_records(args.results, args.dataset) if r["model"] in args.models]
    if not records:
        raise ConfigError("no records of %s (models %s) under %s" % (
            args.dataset, " ".join(args.models), os.path.join(args.results, "runs", args.dataset)))
    failed = 0
    for record in sorted(records, key=lambda r: r["key"]):
        if table3.whole_history(args.results, record) is not None:
            continue
        folder = table3.run_folder(record, args.runs_dir)
        if folder is None:
            print("%s: run folder not under %s, not scored" % (record["key"], args.runs_dir))
            continue
        metrics, why = score(folder)
        if metrics is None:
            failed += 1
            print("%s: evaluate.py failed: %s" % (record["key"], why))
            continue
        kept = dict((name, metrics.get(name)) for name in KEPT)
        kept.update(key=record["key"], model=record["model"], fold=record["fold"], seed=record["seed"],
                    dataset=record["dataset"], run_dir=record.get("run_dir"),
                    command="python evaluate.py %s --carry_state true" % record.get("run_dir"))
        path = table3.whole_history_path(args.results, args.dataset, record["key"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        run_files.write_json(path, kept)
        print("%s: whole histories AUC %.4f (cut at SEQ_LEN: %.4f)" % (
            record["key"], kept["auc"], record["summary"].get("test_auc") or float("nan")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(exit_status(main))

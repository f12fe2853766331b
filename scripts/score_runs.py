"""Score recorded runs again, on a split, with the model's state cut every SEQ_LEN answers or carried over
each whole history (as a served model sees a student).

    python scripts/score_runs.py assist2009_updated [--models irt pfa best_lr bkt]       # test, carried
    python scripts/score_runs.py STATICS --splits valid test --states cut carried [--all] [--runs_dir runs]

For every record of the data set under <results>/runs/<data set>/ with Table 3's settings (--all: every
record) whose run folder is found under --runs_dir (as scripts/table3.py finds it), runs `python evaluate.py
RUN_DIR --split S --carry_state true|false` per split and state asked for, and keeps the figures of its
metrics.json in <results>/scored/<data set>/<key>-<split>-<state>.json (experiments/scored.py: AUC and its
95% interval, AUC on positions >= 2, ECE, AUC by position, the command). What is already scored is skipped.
scripts/table3.py sets the test split scored carried beside the paper's protocol (history cut at SEQ_LEN), so
that cut is compared with cut and whole with whole; scripts/state_modes.py reads all four. Bad input is one
`error:` line and exit status 2; a run whose evaluation fails is named, and the others go on (exit status 1).
"""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import scored  # noqa: E402
from experiments.runs import read_records  # noqa: E402
from experiments.settings import settings_hash, table_settings  # noqa: E402
from utils import model_registry  # noqa: E402
from utils.commands import exit_status  # noqa: E402
from utils.errors import ConfigError  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", help="the data set of the records (<results>/runs/<data set>/)")
    parser.add_argument("--models", nargs="+", choices=model_registry.names(),
                        default=list(model_registry.names()))
    parser.add_argument("--splits", nargs="+", choices=scored.SPLITS, default=["test"])
    parser.add_argument("--states", nargs="+", choices=scored.STATES, default=["carried"],
                        help="cut: every SEQ_LEN answers as in the paper; carried: over whole histories")
    parser.add_argument("--results", default="results", help="folder of runs/ (the records)")
    parser.add_argument("--runs_dir", default="runs", help="where the records' run folders are looked for")
    parser.add_argument("--all", action="store_true",
                        help="every record, not only those of Table 3's settings for the data set")
    return parser.parse_args(argv)


def of_the_table(record):
    settings = table_settings(record["dataset"], record["model"])
    return settings is not None and record["settings_hash"] == settings_hash(settings)


def main(argv=None):
    args = parse_args(argv)
    records = [r for r in read_records(args.results, args.dataset)
               if r["model"] in args.models and (args.all or of_the_table(r))]
    if not records:
        raise ConfigError("no records of %s (models %s%s) under %s" % (
            args.dataset, " ".join(args.models), "" if args.all else ", Table 3's settings; --all for any",
            os.path.join(args.results, "runs", args.dataset)))
    failed = scored.score_records(args.results, records, args.runs_dir, args.splits, args.states)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(exit_status(main))

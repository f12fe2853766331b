"""Cut or carried state: score the round's runs both ways and render how a served model should be trained.

    python scripts/state_modes.py [--results results/state_modes] [--datasets STATICS assist2009_updated]
        [--models dkvmn dkt] [--runs_dir runs] [--render]

The runs are Table 3 rows trained cut (the row as it is) and carried (`--set carry_state=true`), recorded by
scripts/reproduce.py with `--out results/state_modes` (the commands are in results/NOTES.md, which declares
the round). This scores every recorded run of the rows not scored yet on its validation and test split, cut
and carried (experiments/scored.py, i.e. `python evaluate.py RUN --split S --carry_state false|true`), then
writes <results>/state_modes.md and .json (experiments/state_modes.py): per data set and model both training
modes scored both ways (AUC with its t interval over folds, ECE, AUC past SEQ_LEN), carried - cut training
as a paired t over folds, and the training mode the declared criterion picks (the mean validation AUC scored
carried). --render only rewrites the report from what is scored. Bad input is one `error:` line and exit
status 2; a run whose scoring fails is named and the rest goes on (exit status 1).
"""
import argparse
import os
import shlex
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import scored, state_modes  # noqa: E402
from experiments.settings import SETTINGS  # noqa: E402
from utils.commands import exit_status  # noqa: E402
from utils.errors import ConfigError  # noqa: E402

DEEP_MODELS = ("dkvmn", "dkt")  # the models whose state a chunk can start from


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default=os.path.join("results", "state_modes"),
                        help="folder of runs/ (the round's records); scored/ and the report go here too")
    parser.add_argument("--datasets", nargs="+", choices=sorted(SETTINGS),
                        default=["STATICS", "assist2009_updated"])
    parser.add_argument("--models", nargs="+", choices=DEEP_MODELS, default=list(DEEP_MODELS))
    parser.add_argument("--runs_dir", default="runs", help="where the records' run folders are looked for")
    parser.add_argument("--render", action="store_true", help="only rewrite the report from what is scored")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    failed = 0
    for dataset in args.datasets:
        records = [r for model in args.models
                   for mode in state_modes.mode_records(args.results, dataset, model).values() for r in mode]
        if not args.render:
            failed += scored.score_records(args.results, records, args.runs_dir, scored.SPLITS, scored.STATES)
    report = state_modes.build(args.results, args.datasets, args.models)
    if not report["entries"]:
        raise ConfigError("no records of the rows of %s (models %s) under %s: run scripts/reproduce.py with "
                          "--out %s first (results/NOTES.md has the commands)" % (
                              " ".join(args.datasets), " ".join(args.models),
                              os.path.join(args.results, "runs"), args.results))
    command = "python scripts/state_modes.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    state_modes.write(report, args.results, command.strip())
    print(state_modes.markdown(report, command.strip()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(exit_status(main))

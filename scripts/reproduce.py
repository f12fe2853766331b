"""Reproduce a row of the DKVMN paper's Table 3 on Ray: DKVMN and DKT on a data set, every fold and seed.

Each run is `python main.py` with the data set's settings (experiments/settings.py, SETTINGS) as overrides of
main.py's constants, in its own process, as one Ray task: on a local Ray that this script starts (default),
or on the cluster at --address. The epoch is chosen on the validation fold (best validation AUC); the test
split is scored once, with that checkpoint. Every finished run is recorded as it ends, in
<out>/runs/<data set>/<key>.json; a run already recorded (same data set, model, fold, seed and settings) is
not run again, and a killed run is resumed from its last finished epoch. The tables <out>/<data set>.md and
.json (mean +- std over the runs, every run listed) are rendered from the records after each run.

Usage (from the repo root):
    python scripts/reproduce.py naive_c5_q50_s4000_v0 --dataset_dir ../shared/data/dkvmn/synthetic
    python scripts/reproduce.py assist2009_updated --dataset_dir ../shared/data/dkvmn/assist2009_updated \
        --folds 1 2 3 4 5 --seeds 0 1 2
    python scripts/reproduce.py synthetic            # our own generator: test AUC beside the oracle AUC
    python scripts/reproduce.py assist2015 --address 10.0.0.1:6379 --cpus_per_run 2   # on a Ray cluster
    python scripts/reproduce.py csv --dataset_dir logs --settings results/search/my_log-dkvmn.json

Options: --models (default: every model of utils/model_registry.py), --seeds 0 [1 2], --folds 1 [2 3 4 5],
--epochs N, main.py's data options as main.py spells them (--csv_file answers.tsv --csv_student_column
user_id ...), --set name=value (any other constant of main.py, e.g. --set learning_rate=0.003; part of the
settings, so recorded apart), --settings FILE (a search record of scripts/tune.py: its chosen settings
replace the table's row for its model; a model with neither runs with main.py's defaults, and says so;
without --dataset_dir the record's folder is used), --smoke (tiny
model, one epoch: checks the pipeline), --render (only rewrite the tables from the records), --runs_dir runs,
--out results, --cpus_per_run N (CPUs of one run = its TensorFlow threads), --num_cpus N (CPUs of the local
Ray; default all), --address HOST:PORT (an existing Ray cluster; also RAY_ADDRESS).
"""
import argparse
import os
import shlex
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from experiments import ray_driver, runs, settings as table  # noqa: E402
from experiments.tables import fmt, render_tables  # noqa: E402
from utils import model_registry  # noqa: E402
from utils.config import ConfigError  # noqa: E402
from utils.run_files import read_json  # noqa: E402

TABLE_NAMES = "assist2009_updated, assist2015, STATICS, naive_c5_q50_s4000_v0 .. _v19, synthetic"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", help="a data set of the table (%s), or any other with --settings"
                        % TABLE_NAMES)
    parser.add_argument("--dataset_dir", help="folder of the data set files (default: the table's)")
    parser.add_argument("--models", nargs="+", choices=model_registry.names(),
                        default=list(model_registry.names()))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--folds", nargs="+", type=int, default=[1],
                        help="three-line data sets: folds <name>_train<k>/_valid<k> (test is the same file)")
    parser.add_argument("--epochs", type=int, help="most epochs (overrides the table)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="override any other constant of main.py (repeatable)")
    parser.add_argument("--settings", action="append", default=[], metavar="SEARCH_JSON",
                        help="a search record (results/search/<name>.json): its choice for its model")
    parser.add_argument("--smoke", action="store_true", help="tiny model, one epoch: a pipeline check")
    parser.add_argument("--render", action="store_true", help="only rewrite the tables from the records")
    parser.add_argument("--runs_dir", default="runs", help="run folders go to <runs_dir>/reproduce/...")
    parser.add_argument("--out", default="results", help="folder of the tables and of runs/ (the records)")
    parser.add_argument("--cpus_per_run", type=int, default=1,
                        help="CPUs of one run = its TensorFlow threads")
    parser.add_argument("--num_cpus", type=int, default=os.cpu_count() or 1,
                        help="CPUs of the local Ray (not with --address)")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS", ""),
                        help="HOST:PORT of a running Ray head (default: $RAY_ADDRESS, else a local Ray)")
    table.add_data_options(parser)
    args = parser.parse_args(argv)
    if args.cpus_per_run < 1 or args.num_cpus < 1:
        parser.error("--cpus_per_run and --num_cpus must be at least 1")
    if not args.address and args.cpus_per_run > args.num_cpus:
        parser.error("--cpus_per_run %d is more than the local Ray's --num_cpus %d"
                     % (args.cpus_per_run, args.num_cpus))
    if args.dataset == "synthetic" and args.folds != [1]:
        parser.error("--folds applies to three-line data sets; the synthetic split is set by the seed")
    return args


def searched_settings(paths):
    """model -> (settings, path) from search records (scripts/tune.py's results/search/<name>.json)."""
    chosen = {}
    for path in paths:
        try:
            record = read_json(path)
            if "chosen" in record and record["chosen"] is None:
                raise ConfigError("--settings %s: its search chose nothing, as some of its trials failed: "
                                  "run its command again to retry them (%s)" % (path, record.get("command")))
            model, settings = record["model"], dict(record["chosen"]["settings"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigError("--settings %s is not a search record of scripts/tune.py (%s: %s)"
                              % (path, type(error).__name__, error))
        if model in chosen:
            raise ConfigError("--settings: two search records for %s (%s and %s)" % (model, chosen[model][1],
                                                                                    path))
        chosen[model] = (settings, path, record.get("dataset_dir"))
    return chosen


def settings_for(args, model, searched, log):
    """The run's settings: the table's row, a search record's choice or main.py's defaults; then the data
    options, --smoke, --set, --epochs."""
    if model in searched:
        settings = dict(searched[model][0])
        table.check_settings(settings, "--settings %s" % searched[model][1])
    else:
        settings = table.table_settings(args.dataset, model)
        if settings is None:
            settings = {}
            log("%s: no search record (--settings) and no row of the table for %s: it runs with main.py's "
                "defaults" % (model, args.dataset))
    settings.update(table.data_settings(args))
    if args.smoke:
        settings.update(table.SMOKE)
    sets = dict(table.parse_set(item) for item in args.sets)
    table.check_settings(sets, "--set")
    settings.update(sets)
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    return settings


def planned_runs(args, log=print):
    """Every run of the command, as run specs, in the order they are sent."""
    searched = searched_settings(args.settings)
    unused = set(searched) - set(args.models)
    if unused:
        raise ConfigError("--settings gives settings for %s, which --models leaves out (add --models %s)"
                          % (", ".join(sorted(unused)), " ".join(args.models + sorted(unused))))
    recorded_dirs = [entry[2] for entry in searched.values() if entry[2]]
    dataset_dir = args.dataset_dir or (recorded_dirs[0] if recorded_dirs else table.table_dataset_dir(
        args.dataset))
    table.check_folds(args.dataset, dataset_dir, args.folds)
    specs = []
    for model in args.models:
        settings = settings_for(args, model, searched, log)
        for fold in args.folds:
            for seed in args.seeds:
                specs.append(runs.run_spec(args.dataset, model, fold, seed, settings, dataset_dir,
                                           args.runs_dir, args.cpus_per_run, smoke=args.smoke))
    return specs


def describe(spec):
    return "%s fold %d seed %d" % (spec["model"], spec["fold"], spec["seed"])


def run_on_ray(ray, args, specs, command, log):
    """Sends the runs, records each as it ends, re-renders the tables; returns the runs that failed."""
    failed = []

    def take(spec, result):
        if not result["failed"]:
            path = runs.write_record(args.out, result, command)
            log("finished %s (%s): valid AUC %.4f, test AUC %s; %s; recorded in %s" % (
                describe(spec), result["how"], result["summary"]["valid_auc"],
                fmt(result["summary"].get("test_auc")), result["run_dir"], path))
        else:
            error = ray_driver.bad_input(result)
            if error is not None:
                raise ConfigError("%s (from main.py; nothing was recorded by this run)" % error)
            failed.append(result)
            log("FAILED %s: %s; the end of its log %s:\n%s" % (
                describe(spec), result["error"] or "exit status %s" % result["exit_status"], result["log"],
                result["log_tail"]))
        render_tables(args.out, args.dataset, failed)

    ray_driver.run_tasks(ray, runs.run_and_record, specs, args.cpus_per_run, take)
    return failed


def damaged(log):
    return lambda path, why: log("record %s %s: it does not count; its run is run (or found finished) "
                                 "again" % (path, why))


def reproduce(argv, log=print):
    """The script; returns its exit status (0, or 1 when a run failed). Bad input raises ConfigError."""
    args = parse_args(argv)
    if args.render:
        if not runs.read_records(args.out, args.dataset):
            raise ConfigError("no records of %s in %s to render" % (
                args.dataset, os.path.join(args.out, "runs", args.dataset)))
        log(render_tables(args.out, args.dataset, warn=damaged(log)))
        return 0
    command = "python scripts/reproduce.py " + " ".join(shlex.quote(a) for a in argv)
    specs = planned_runs(args, log)
    todo = [s for s in specs if not runs.recorded(args.out, s, damaged(log))]
    log("%d run(s): %d already recorded in %s, %d to run" % (
        len(specs), len(specs) - len(todo), os.path.join(args.out, "runs", args.dataset), len(todo)))
    failed = []
    if todo:
        with ray_driver.ray_session(args.address, args.num_cpus, args.cpus_per_run, log,
                                    "scripts/reproduce.py") as ray:
            failed = run_on_ray(ray, args, todo, command, log)
    text = render_tables(args.out, args.dataset, failed)
    log(text)
    if failed:
        log("%d run(s) failed: %s (listed in %s.md); run the same command again to retry them"
            % (len(failed), ", ".join(describe(f) for f in failed), os.path.join(args.out, args.dataset)))
    return 1 if failed else 0


def main(argv):
    return ray_driver.script_status(lambda: reproduce(argv, log=lambda *a: print(*a, flush=True)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Search a model's settings on the validation fold with Ray Tune; the test split is never scored.

Each trial is `python main.py --score_test false` with the data set's settings (the table's row in
experiments/settings.py, or main.py's own values for a data set without one), then main.py's data options as
main.py spells them, then --set, then the trial's values
from the search space, in its own process. The trial reports its validation AUC after every epoch (read from
the run's epochs.csv); ASHA stops the poor trials early. The objective is the best validation AUC of a trial.
The search record <out>/<name>.json holds the space, every trial (settings, epochs run, validation AUC of
every epoch, the best and its epoch, how it stopped, run folder), the chosen settings (the best validation
AUC; none while a trial has failed, e.g. Ray lost under it) and the command; `scripts/reproduce.py DATASET
--settings <out>/<name>.json` then runs them on the test split. The same command again continues a stopped
search and retries its failed trials (<runs_dir>/tune/<name>/ keeps Tune's state and the trials' run
folders); another search under the same name is refused.

Usage (from the repo root):
    python scripts/tune.py assist2015 --model dkvmn --dataset_dir ../shared/data/dkvmn/assist2015 \
        --samples 16 --max_epochs 50 --grace 5
    python scripts/tune.py STATICS --model dkt --space '{"learning_rate": {"loguniform": [3e-4, 1e-2]},
        "hidden_size": [50, 100, 200], "dropout": {"uniform": [0, 0.4]}}'
    python scripts/tune.py csv --model dkvmn --dataset_dir logs --csv_file answers.csv --name my_log

The space (JSON text or a JSON file): name -> {"loguniform": [low, high]}, {"uniform": [low, high]},
{"randint": [low, high]} (high excluded), {"choice": [values]}, {"grid": [values]} (every value, times
--samples), a list (= choice), or one value (fixed). Names are main.py's constants in lower case.
Options: --samples N, --max_epochs N (per trial), --grace N (epochs before ASHA may stop a trial),
--fold K, --seed S, --set name=value, --smoke (tiny model, 2 epochs, 2 trials: a pipeline check; write it
elsewhere with --out), --name NAME (default <data set>-<model>), --out results/search, --runs_dir runs,
--cpus_per_run N, --num_cpus N (local Ray), --address HOST:PORT (an existing Ray cluster; also RAY_ADDRESS).
"""
import argparse
import json
import os
import shlex
import shutil
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from experiments import ray_driver, runs, settings as table  # noqa: E402
from experiments.search import read_space, searchable  # noqa: E402
from experiments.tables import fmt  # noqa: E402
from utils import model_registry, run_files  # noqa: E402
from utils.config import ConfigError  # noqa: E402
from utils.errors import RunFolderError  # noqa: E402
from utils.run_files import write_json  # noqa: E402

OUTCOME = "outcome.json"  # in a trial's folder: how its main.py ended (absent: stopped by the scheduler)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", help="main.py's DATASET: a data set of the table, or any other")
    parser.add_argument("--model", required=True, choices=model_registry.names())
    parser.add_argument("--space", help="the search space: JSON text or a JSON file (default: per model)")
    parser.add_argument("--samples", type=int, default=16, help="trials (times each grid value)")
    parser.add_argument("--max_epochs", type=int, help="most epochs of a trial (default: the table's)")
    parser.add_argument("--grace", type=int, default=5, help="epochs before ASHA may stop a trial")
    parser.add_argument("--fold", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset_dir", help="folder of the data set files (default: the table's)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="a fixed override of main.py's constants (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="tiny model, 2 epochs, 2 trials")
    parser.add_argument("--name", help="the search's name (default <data set>-<model>)")
    parser.add_argument("--out", default=os.path.join("results", "search"), help="folder of the record")
    parser.add_argument("--runs_dir", default="runs", help="trial run folders go to <runs_dir>/tune/<name>/")
    parser.add_argument("--cpus_per_run", type=int, default=1,
                        help="CPUs of a trial = its TensorFlow threads")
    parser.add_argument("--num_cpus", type=int, default=os.cpu_count() or 1, help="CPUs of the local Ray")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS", ""),
                        help="HOST:PORT of a running Ray head (default: $RAY_ADDRESS, else a local Ray)")
    table.add_data_options(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.samples = min(args.samples, 2)
        args.grace = 1
        args.max_epochs = args.max_epochs or 2
    for name in ("samples", "grace", "cpus_per_run", "num_cpus"):
        if getattr(args, name) < 1:
            parser.error("--%s must be at least 1" % name)
    if args.max_epochs is not None and args.max_epochs < args.grace:
        parser.error("--max_epochs %d is less than --grace %d" % (args.max_epochs, args.grace))
    args.name = args.name or "%s-%s" % (args.dataset, args.model)
    args.workdir = os.getcwd()
    return args


def tune_space(space, tune):
    """The declared space as Ray Tune's search space."""
    converted = {}
    for name, value in space.items():
        if isinstance(value, dict):
            kind, arguments = next(iter(value.items()))
            if kind == "choice":
                converted[name] = tune.choice(arguments)
            elif kind == "grid":
                converted[name] = tune.grid_search(arguments)
            else:
                converted[name] = getattr(tune, kind)(*arguments)
        elif isinstance(value, list):
            converted[name] = tune.choice(value)
        else:
            converted[name] = value
    return converted


def base_settings(args):
    """The fixed settings of every trial: the table's row (if any), --smoke, --set, the epochs."""
    settings = table.table_settings(args.dataset, args.model) or {}
    settings.update(table.data_settings(args))
    if args.smoke:
        settings.update(table.SMOKE)
    sets = dict(table.parse_set(item) for item in args.sets)
    if "score_test" in sets:
        raise ConfigError("--set score_test: a search never scores the test split (every trial runs with "
                          "--score_test false)")
    table.check_settings(sets, "--set")
    settings.update(sets)
    if args.max_epochs is None:
        args.max_epochs = int(settings.get("epochs", 0)) or 50
    settings["epochs"] = args.max_epochs
    return settings


def plain(value):
    """A sampled value as plain Python (Tune may hand numpy scalars)."""
    return value.item() if hasattr(value, "item") else value


def trial_spec(args, base, dataset_dir, config, trial_id):
    settings = dict(base, **dict((k, plain(v)) for k, v in config.items()))
    spec = runs.run_spec(args.dataset, args.model, args.fold, args.seed, settings, dataset_dir,
                              args.runs_dir, args.cpus_per_run, smoke=args.smoke)
    spec["home"] = os.path.join(args.runs_dir, "tune", args.name, trial_id)
    spec["workdir"] = args.workdir  # the driver's folder: Tune moves a trial's process elsewhere
    spec["extra_argv"] = ["--score_test", "false"]  # the test split is never scored in a search
    return spec


def make_trainable(args, base, dataset_dir):
    """The trial function: runs main.py, reports each finished epoch's validation AUC, ends the program
    when Tune stops the trial."""

    def trial(config):
        from ray import tune
        spec = trial_spec(args, base, dataset_dir, config, tune.get_context().get_trial_id())
        home = os.path.join(spec["workdir"], spec["home"])
        os.makedirs(home, exist_ok=True)
        # a restored search starts its unfinished trials again: their run folders are found and continued
        folder = runs.finished_folder(home) or runs.resumable_folder(home)
        process = None
        if folder is None or not run_files.is_finished(folder):
            resume = os.path.join(spec["home"], os.path.basename(folder)) if folder else None
            process = runs.start_program(runs.main_argv(spec, resume=resume), spec,
                                              os.path.join(home, "main.log"))
        reported = 0
        try:
            while True:
                ended = process is None or process.poll() is not None
                folders = [folder] if folder else runs.run_folders(home)[-1:]
                rows = run_files.read_epoch_rows(folders[-1]) if folders else []
                for row in rows[reported:]:
                    reported += 1
                    tune.report({"valid_auc": row["valid_auc"], "epoch": int(row["epoch"]),
                                 "run_dir": os.path.join(spec["home"], os.path.basename(folders[-1]))})
                if ended:
                    break
                time.sleep(0.5)
        finally:
            if process is not None:
                runs.stop_program(process)  # Tune stopped the trial, or the worker is going away
        if process is None:
            return
        tail = runs.log_tail(os.path.join(home, "main.log"))
        errors = [line for line in tail.splitlines() if line.startswith("error:")]
        write_json(os.path.join(home, OUTCOME), {"exit_status": process.returncode,
                                                 "error": errors[-1] if errors else None})
        if process.returncode != 0 and not folders:
            raise RuntimeError("main.py exited with status %d before its run began: %s"
                               % (process.returncode, errors[-1] if errors else tail))

    return trial


class Progress(object):
    """A Tune callback that prints one line per ended trial."""

    def __init__(self, tune, log):
        class Printer(tune.Callback):
            def on_trial_complete(self, iteration, trials, trial, **info):
                last = trial.last_result or {}
                log("trial %s ended after %s epoch(s), last valid AUC %s" % (
                    trial.trial_id, last.get("training_iteration", 0), fmt(last.get("valid_auc"))))

            def on_trial_error(self, iteration, trials, trial, **info):
                log("trial %s failed" % trial.trial_id)
        self.callback = Printer()


def trial_entry(result, args, workdir):
    """What the record keeps of one trial."""
    trial_id = result.metrics.get("trial_id") or os.path.basename(result.path)
    history = result.metrics_dataframe
    epochs = [] if history is None or "valid_auc" not in history else list(
        zip(history["epoch"].astype(int), history["valid_auc"].astype(float)))
    home = os.path.join(args.runs_dir, "tune", args.name, trial_id)
    entry = {"trial_id": trial_id, "values": dict((k, plain(v)) for k, v in result.config.items()),
             "epochs_run": len(epochs), "best_valid_auc": None, "best_epoch": None,
             "valid_auc_by_epoch": [auc for _, auc in sorted(epochs)],  # the curve: was it still rising?
             "run_dir": result.metrics.get("run_dir"), "home": home}
    if epochs:
        best_epoch, best = max(epochs, key=lambda pair: (pair[1], -pair[0]))
        entry.update(best_valid_auc=best, best_epoch=best_epoch)
    entry["stopped"] = how_it_stopped(entry, result, args, os.path.join(workdir, home))
    return entry


def how_it_stopped(entry, result, args, home):
    """Why a trial ended: it failed, main.py ended it (EPOCHS or its own early stop), or Tune did."""
    if result.error is not None:
        lines = str(result.error).strip().splitlines()
        errors = [line[line.index("error:"):] for line in lines if "error:" in line]
        return "failed: %s" % (errors[-1] if errors else lines[-1])
    try:
        with open(os.path.join(home, OUTCOME)) as f:
            outcome = json.load(f)
        if outcome["exit_status"] != 0:
            return "main.py exit status %s: %s" % (outcome["exit_status"], outcome["error"])
    except (OSError, ValueError, KeyError):
        pass  # Tune ended the trial before it could write how main.py ended
    try:
        return "main.py: %s" % run_files.read_summary(os.path.join(home, os.path.basename(entry["run_dir"])))[
            "stopped"]
    except (RunFolderError, KeyError, TypeError):
        pass
    if entry["epochs_run"] >= args.max_epochs:
        return "reached --max_epochs"
    return "stopped early by ASHA"


SEARCH_FILE = "search.json"  # in the search's folder: what it searches, to know it again


def identity(args, space, base):
    """What makes two commands the same search (not paths, threads or the cluster)."""
    return {"dataset": args.dataset, "model": args.model, "fold": args.fold, "seed": args.seed,
            "space": space, "fixed_settings": base, "samples": args.samples, "max_epochs": args.max_epochs,
            "grace": args.grace}


def same_search(experiment, wanted):
    """True when `experiment` holds this search; False when it holds none (the identity is then written).
    Another search under the same name is a ConfigError."""
    path = os.path.join(experiment, SEARCH_FILE)
    if os.path.exists(path):
        with open(path) as f:
            found = json.load(f)
        if found != json.loads(json.dumps(wanted)):
            differ = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
            raise ConfigError("%s holds another search named %s (it differs in %s): give another --name, or "
                              "delete that folder to start again" % (experiment, os.path.basename(experiment),
                                                                     ", ".join(differ)))
        return True
    os.makedirs(experiment, exist_ok=True)
    write_json(path, wanted)
    return False


def search(argv, log=print):
    """The script; returns its exit status. Bad input raises ConfigError before anything is written; a search
    that ends without a record leaves nothing under its --name (so it does not block that name)."""
    args = parse_args(argv)
    if not searchable(args.model):
        raise ConfigError("--model %s has no setting to search (its space in experiments/search.py is empty: "
                          "no setting changes what it learns); run it as it is: python scripts/reproduce.py "
                          "%s --models %s" % (args.model, args.dataset, args.model))
    space = read_space(args.space, args.model, args.smoke)
    base = base_settings(args)
    dataset_dir = args.dataset_dir or table.table_dataset_dir(args.dataset)
    table.check_folds(args.dataset, dataset_dir, [args.fold])
    if args.address:
        ray_driver.check_address(args.address)
    ray_driver.require_ray("scripts/tune.py")
    experiment = os.path.abspath(os.path.join(args.runs_dir, "tune", args.name))
    known = same_search(experiment, identity(args, space, base))
    began = time.time()
    try:
        with ray_driver.ray_session(args.address, args.num_cpus, args.cpus_per_run, log, "scripts/tune.py"):
            from ray import tune
            restore = known and tune.Tuner.can_restore(experiment)
            trials = fit(tune, args, space, base, dataset_dir, experiment, restore, log)
        return write_search(args, argv, space, base, dataset_dir, trials, time.time() - began, log)
    except ConfigError:
        if not known and not os.path.exists(os.path.join(args.out, args.name + ".json")):
            shutil.rmtree(experiment, ignore_errors=True)  # nothing came of it: the name stays free
        raise


def fit(tune, args, space, base, dataset_dir, experiment, restore, log):
    """Runs (or continues) the search; returns its trials as the record keeps them."""
    from ray.tune.schedulers import ASHAScheduler
    trainable = tune.with_resources(make_trainable(args, base, dataset_dir), {"cpu": args.cpus_per_run})
    if restore:  # the same search was stopped (or has ended): continue it, rerunning nothing finished
        log("search %s: continuing the search in %s" % (args.name, experiment))
        tuner = tune.Tuner.restore(experiment, trainable, resume_unfinished=True, restart_errored=True,
                                   param_space=tune_space(space, tune))
    else:
        scheduler = ASHAScheduler(time_attr="training_iteration", max_t=args.max_epochs,
                                  grace_period=args.grace, reduction_factor=3)
        tuner = tune.Tuner(
            trainable, param_space=tune_space(space, tune),
            tune_config=tune.TuneConfig(metric="valid_auc", mode="max", scheduler=scheduler,
                                        num_samples=args.samples),
            run_config=tune.RunConfig(name=args.name, verbose=0, storage_path=os.path.dirname(experiment),
                                      callbacks=[Progress(tune, log).callback]))
        log("search %s: %d trial(s) of at most %d epochs, ASHA grace %d; space %s"
            % (args.name, args.samples, args.max_epochs, args.grace, json.dumps(space, sort_keys=True)))
    results = tuner.fit()
    return [trial_entry(result, args, os.getcwd()) for result in results]


def next_step(args, path):
    """The reproduce.py command that runs the search's choice on the test split, as it runs when pasted."""
    words = ["python", "scripts/reproduce.py", args.dataset, "--models", args.model,
             "--dataset_dir", args.dataset_dir or table.table_dataset_dir(args.dataset), "--settings", path]
    if args.runs_dir != "runs":
        words += ["--runs_dir", args.runs_dir]
    return " ".join(shlex.quote(w) for w in words)


def write_search(args, argv, space, base, dataset_dir, trials, seconds, log):
    """Writes <out>/<name>.json (atomically) unless every trial ended on bad input; returns the status."""
    scored = [t for t in trials if t["best_valid_auc"] is not None]
    if not scored:
        raise ConfigError("no trial finished an epoch: %s" % "; ".join(sorted(set(t["stopped"]
                                                                                for t in trials))))
    best = max(scored, key=lambda t: t["best_valid_auc"])
    # a trial that failed (Ray lost under it, its worker killed) was cut short, not judged: a choice made
    # without it would be made on what the failure left; the same command retries it (Tune's restore)
    failed = [t for t in trials if t["stopped"].startswith("failed")]
    record = {
        "name": args.name, "dataset": args.dataset, "model": args.model, "fold": args.fold, "seed": args.seed,
        "dataset_dir": dataset_dir, "space": space, "fixed_settings": base, "samples": args.samples,
        "max_epochs": args.max_epochs, "grace": args.grace, "smoke": args.smoke,
        "scheduler": "ASHA (time = epochs, grace %d, reduction factor 3)" % args.grace,
        "objective": "valid_auc, the best over a trial's epochs (max)",
        "test split": "never scored (main.py --score_test false)",
        "command": "python scripts/tune.py " + " ".join(shlex.quote(a) for a in argv),
        "hardware": runs.hardware(), "seconds": seconds,
        "trials": sorted(trials, key=lambda t: t["trial_id"]),
        "chosen": None if failed else {
            "trial_id": best["trial_id"], "values": best["values"], "settings": dict(base, **best["values"]),
            "best_valid_auc": best["best_valid_auc"], "best_epoch": best["best_epoch"],
            "run_dir": best["run_dir"]},
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, args.name + ".json")
    write_json(path, record)
    for trial in record["trials"]:
        log("  %s: valid AUC %s (epoch %s of %d), %s; %s" % (
            trial["trial_id"], fmt(trial["best_valid_auc"]), trial["best_epoch"],
            trial["epochs_run"], trial["stopped"], json.dumps(trial["values"], sort_keys=True)))
    if failed:
        log("%d trial(s) failed (%s), so nothing is chosen; record %s; the same command again retries them "
            "and goes on" % (len(failed), ", ".join(t["trial_id"] for t in failed), path))
        return 1
    log("chosen: %s (valid AUC %.4f at epoch %d); record %s; run it on the test split with:\n    %s" % (
        json.dumps(best["values"], sort_keys=True), best["best_valid_auc"], best["best_epoch"], path,
        next_step(args, path)))
    return 0


def main(argv):
    from utils.commands import exit_status
    return exit_status(lambda: search(argv, log=lambda *a: print(*a, flush=True)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

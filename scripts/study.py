"""A study of your own log (or any data set main.py reads): every model, settings chosen on validation only,
every fold x seed run on Ray and recorded, a report with intervals, paired tests and figures.

Usage (from the repo root), main.py's data options spelled as main.py spells them:
    python scripts/study.py my_log --dataset csv --dataset_dir logs --csv_file answers.tsv \\
        --csv_student_column user_id --csv_skill_column skill_id --csv_correct_column correct \\
        --csv_order_column order_id
    python scripts/study.py my_log ... --smoke --out results/check     # the whole pipeline in minutes

What it does (experiments/study.py): per model a validation-only search (--trials N, the defaults always
trial 0; --trial MODEL JSON: a trial of your own; --no_search: the defaults; --space JSON: your own space;
--ids A B: the id column is a choice too; successive halving from epoch --halving_epochs),
then every model on every fold x seed with its choice, each run `python main.py` in its own process as one
Ray task (a local Ray on 127.0.0.1, or --address HOST:PORT). Every run is recorded as it ends in
<out>/runs/; the same command again runs only what is missing (a killed run resumes from its last epoch).
What the study decides (each rung's promotion, each model's choice) is logged and kept in decisions.txt.
The report (experiments/study_report.py) goes to <out> (default results/<name>): study.md and study.json
(the table: mean ± std, t interval and n per model; the headline paired bootstrap over all test students;
the t-test over folds; each fold's bootstrap; the failed runs; every command), differences.json, and
figures/ drawn in this process with the plot programs' library (plots/lib): the forest plot, the training
and validation curves, calibration, the clustering map. Bad input is one `error:` line and exit status 2
before anything runs; a run that fails is listed under the table and the others go on (exit status 1).
"""
import argparse
import json
import os
import shlex
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from experiments import ray_driver, runs, settings as table, study, study_report  # noqa: E402
from plots.lib import curves, forest  # noqa: E402
from plots.lib.calibration import draw_reliability_diagram  # noqa: E402
from plots.lib.cluster_map import draw_cluster_map  # noqa: E402
from plots.lib.run_logs import load_run  # noqa: E402
from utils import model_registry, run_files  # noqa: E402
from utils.config import ConfigError, main_constants  # noqa: E402
from utils.metrics import reliability_bins  # noqa: E402

DEFAULT_TRIALS = 6
COMMANDS = "commands.txt"
DECISIONS = "decisions.txt"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="the study's name: its report goes to results/<name>/")
    parser.add_argument("--dataset", required=True, nargs="+", help="main.py's DATASET: csv, assistments, "
                        "ednet, synthetic or a three-line prefix; several three-line prefixes (versions of "
                        "one data set, e.g. Synthetic-5's) are the study's folds, each its own fold 1")
    parser.add_argument("--dataset_dir", default="dataset", help="main.py's DATASET_DIR")
    parser.add_argument("--" + study.SPLIT_CONSTANTS["design"], choices=study.DESIGNS, default=None,
                        help="cross_validation (a log's default: every student tested once) or fixed_test")
    parser.add_argument("--" + study.SPLIT_CONSTANTS["folds"], type=int, default=None,
                        help="K folds (default %d; three-line files: their folds)" % study.DEFAULT_FOLDS)
    parser.add_argument("--" + study.SPLIT_CONSTANTS["split_seed"], type=int, default=0,
                        help="the seed of the split (never the models' seeds)")
    parser.add_argument("--search_folds", type=int, help="with one choice for all folds (fixed test, "
                        "versions): make it on the first N folds only; the others run the choice")
    parser.add_argument("--inner_folds", type=int, default=None, help="cross-validation: validation folds "
                        "per outer fold's search, each choice judged on their mean (default %d; --smoke 1)"
                        % study.DEFAULT_INNER_FOLDS)
    parser.add_argument("--models", nargs="+", choices=model_registry.names(),
                        default=list(model_registry.names()))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="models' seeds (SEED)")
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="search trials per model, the "
                        "defaults included (default %d)" % DEFAULT_TRIALS)
    parser.add_argument("--no_search", action="store_true", help="no search: every model with its defaults")
    parser.add_argument("--halving_epochs", type=int, default=study.DEFAULT_HALVING_EPOCHS,
                        help="successive halving: every trial trains to this epoch, then the best third "
                        "and the defaults to the end (default %d; 0: every trial to the end)"
                        % study.DEFAULT_HALVING_EPOCHS)
    parser.add_argument("--space", help="the search space (JSON text or file; scripts/tune.py's format)")
    parser.add_argument("--trial", nargs=2, action="append", default=[], metavar=("MODEL", "JSON"),
                        help="a trial of your own for MODEL (repeatable), after the defaults and before the "
                        "drawn ones, e.g. --trial dkvmn '{\"memory_size\": 50}'")
    parser.add_argument("--ids", nargs="+", metavar="ID", help="ids to choose from on validation (csv: "
                        "columns, e.g. skill_id problem_id; assistments: skill_id problem_id)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="a model constant of main.py for every run (repeatable)")
    parser.add_argument("--epochs", type=int, help="most epochs of every run")
    parser.add_argument("--table_row", action="store_true", help="start every model from its Table 3 row "
                        "(a data set of the table): the row is trial 0 instead of main.py's constants")
    parser.add_argument("--smoke", action="store_true", help="tiny model, 1 epoch, 2 trials, 2 folds, 1 seed")
    parser.add_argument("--render", action="store_true", help="only render the report from the records")
    parser.add_argument("--out", help="folder of the report and records (default results/<name>)")
    parser.add_argument("--runs_dir", default="runs", help="run folders go to <runs_dir>/study/<name>/")
    parser.add_argument("--resamples", type=int, default=1000, help="paired bootstrap resamples")
    parser.add_argument("--cpus_per_run", type=int, default=1, help="CPUs of a run = its TensorFlow threads")
    parser.add_argument("--num_cpus", type=int, default=os.cpu_count() or 1, help="CPUs of the local Ray")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS", ""),
                        help="HOST:PORT of a running Ray head (default: $RAY_ADDRESS, else a local Ray)")
    table.add_data_options(parser)
    args = parser.parse_args(argv)
    args.versions = args.dataset if len(args.dataset) > 1 else None
    args.dataset = args.dataset[0]
    for name in ("trials", "resamples", "cpus_per_run", "num_cpus"):
        if getattr(args, name) < 1:
            parser.error("--%s must be at least 1" % name)
    if args.halving_epochs < 0:
        parser.error("--halving_epochs must be 0 (no halving) or more")
    if not args.address and args.cpus_per_run > args.num_cpus:
        parser.error("--cpus_per_run %d is more than --num_cpus %d" % (args.cpus_per_run, args.num_cpus))
    if os.path.basename(args.name) != args.name or args.name in ("", ".", ".."):
        parser.error("the name %r must be a plain folder name (no /)" % args.name)
    args.out = args.out or os.path.join("results", args.name)
    return args


# --- the plan -----------------------------------------------------------------------------------------------

def folds_and_design(args):
    """(design, K, the folds that run) from the options, the data set and what main.py supports."""
    given_k = getattr(args, study.SPLIT_CONSTANTS["folds"])
    given_design = getattr(args, study.SPLIT_CONSTANTS["design"])
    if given_k is not None and given_k < 1:
        raise ConfigError("--%s must be at least 1, got %d" % (study.SPLIT_CONSTANTS["folds"], given_k))
    splits_itself = table.is_log_source(args.dataset) or args.dataset == "synthetic"
    if args.versions:
        return versions_design(args, given_design, given_k)
    if not splits_itself:  # three-line files: one test file, the folds are the train/valid files
        if given_design == "cross_validation":
            raise ConfigError("%s's files have one test split: its design is fixed_test" % args.dataset)
        found = table.available_folds(args.dataset_dir, args.dataset)
        k = given_k or len(found) or 1
        design = "fixed_test"
    elif study.split_designs_supported():
        k, design = given_k or study.DEFAULT_FOLDS, given_design or "cross_validation"
    else:
        if (given_k or 1) > 1 or given_design:
            raise ConfigError("this main.py has no split designs (its constants %s): it cuts one split by "
                              "SEED; run the study with one fold" % ", ".join(
                                  c.upper() for c in study.SPLIT_CONSTANTS.values()))
        k, design = 1, "fixed_test"
    folds = list(range(1, k + 1))
    return design, k, folds[:study.SMOKE_FOLDS] if args.smoke else folds


def versions_design(args, given_design, given_k):
    """(design, K, the folds that run) of a study whose folds are data sets (--dataset A B ...)."""
    versions = args.versions
    other = [v for v in versions if table.is_log_source(v) or v == "synthetic"]
    if other:
        raise ConfigError("--dataset %s: several data sets are the study's folds, each a three-line prefix "
                          "with its own train1 / valid1 / test files; %s splits its students itself: give it "
                          "alone" % (" ".join(versions), other[0]))
    repeated = sorted(set(v for v in versions if versions.count(v) > 1))
    if repeated:
        raise ConfigError("--dataset names %s twice: each data set is one fold" % repeated[0])
    if given_design:
        raise ConfigError("--%s: with several data sets the folds are the data sets (each one's fold 1)"
                          % study.SPLIT_CONSTANTS["design"])
    if given_k not in (None, len(versions)):
        raise ConfigError("--%s %d: %d data sets are %d folds" % (study.SPLIT_CONSTANTS["folds"], given_k,
                                                                   len(versions), len(versions)))
    folds = list(range(1, len(versions) + 1))
    return study.VERSIONS, len(versions), folds[:study.SMOKE_FOLDS] if args.smoke else folds


def search_folds(args, design, k):
    """--search_folds N, checked: the choice's folds where one choice serves all, else None."""
    if args.search_folds is None:
        return None
    if design == "cross_validation":
        raise ConfigError("--search_folds is for one choice for all folds (fixed test, versions); with "
                          "cross-validation each outer fold chooses on its own validation folds")
    if not 1 <= args.search_folds <= k:
        raise ConfigError("--search_folds must be in 1..%d, got %d" % (k, args.search_folds))
    return args.search_folds


def inner_folds(args, design, k):
    """How many validation folds each outer fold's search averages over (cross-validation), else None."""
    if design != "cross_validation":
        if args.inner_folds is not None:
            raise ConfigError("--inner_folds is for cross_validation; %s judges each trial on the mean over "
                              "its %d validation folds" % (design, k))
        return None
    count = args.inner_folds or (1 if args.smoke else min(study.DEFAULT_INNER_FOLDS, k - 1))
    study.inner_validation_folds(1, k, count)  # the ConfigError of a count that k folds cannot give
    return count


def make_plan(args, log):
    """Everything the study runs, checked before anything starts (ConfigError / DataError on bad input)."""
    design, k, folds = folds_and_design(args)
    data = table.data_settings(args)
    split_seed = getattr(args, study.SPLIT_CONSTANTS["split_seed"])
    data.update(study.split_settings(args.dataset, design, k, split_seed))
    id_constant = study.ID_CONSTANTS.get(args.dataset)
    if args.ids:
        if id_constant is None:
            raise ConfigError("--ids: %s has one kind of id; --ids is for %s" % (
                args.dataset, ", ".join(sorted(study.ID_CONSTANTS))))
        if args.no_search and len(args.ids) > 1:
            raise ConfigError("--ids %s is a choice made on validation: leave out --no_search, or give one id"
                              % " ".join(args.ids))
        data[id_constant] = args.ids[0]
    plan = {"name": args.name, "dataset": args.dataset, "dataset_dir": args.dataset_dir, "design": design,
            "k": k, "folds": folds, "inner_folds": inner_folds(args, design, k),
            "versions": args.versions, "search_folds": search_folds(args, design, k),
            "table_row": args.table_row,
            "seeds": args.seeds[:1] if args.smoke else args.seeds,
            "models": args.models, "runs_dir": args.runs_dir, "cpus_per_run": args.cpus_per_run,
            "smoke": args.smoke, "data": data, "ids": args.ids or [], "id_constant": id_constant}
    rows = dict((m, study.table_row(args.dataset, m) if args.table_row else None) for m in args.models)
    plan["base"] = dict((m, study.base_settings(data, args.sets, args.epochs, args.smoke, rows[m]))
                        for m in args.models)
    trials = 1 if args.no_search else (min(args.trials, study.SMOKE_TRIALS) if args.smoke else args.trials)
    candidates = [study.read_candidate(model, text, args.models) for model, text in args.trial]
    if candidates and args.no_search:
        raise ConfigError("--trial is a candidate of the search: leave out --no_search")
    plan["trials"], plan["spaces"], plan["halving_epochs"] = {}, {}, {}
    for model in args.models:
        space = study.space_for(model, args.space, args.smoke, id_constant, args.ids)
        own = [values for name, values in candidates if name == model]
        plan["trials"][model] = study.trials_for(space, max(trials, 1 + len(own)), split_seed, own)
        plan["spaces"][model] = space
        plan["halving_epochs"][model] = study.halving_epochs(
            args.halving_epochs, plan["base"][model].get("epochs", main_constants()["epochs"]),
            len(plan["trials"][model]))
    plan["search_text"] = ("no search: main.py's defaults" if args.no_search else
                           "%d trial(s) per model, the defaults first; %s%s" % (
                               trials, "each outer fold chooses on the mean validation AUC over %d "
                               "validation fold(s) of its own non-test students" % plan["inner_folds"]
                               if design == "cross_validation" else "judged on the mean validation AUC "
                               "over folds %s" % ", ".join(map(str, study.searched_folds(plan))),
                               halving_text(plan["halving_epochs"], trials)))
    if args.versions:
        for version in args.versions:
            table.check_folds(version, args.dataset_dir, [1])
    elif not table.is_log_source(args.dataset) and args.dataset != "synthetic":
        table.check_folds(args.dataset, args.dataset_dir, folds)
    return plan


def halving_text(rungs, trials):
    """The search text's words on successive halving."""
    rung = sorted(set(r for r in rungs.values() if r))
    if not rung:
        return ""
    return ("; successive halving: every trial to epoch %s, then the best %d and the defaults to the end"
            % (" / ".join(map(str, rung)), study.kept_trials(trials)))


def check_data(plan, log):
    """Loads fold 1 of the data with each id (as main.py will), before anything runs: a missing column or
    a bad value is one error line now, not a failure of every run; too few students for K folds too."""
    if not table.is_log_source(plan["dataset"]):
        return
    import data  # the data code, as main.py reads it (no TensorFlow)
    config = main_constants()
    config.update(plan["data"], dataset=plan["dataset"], dataset_dir=plan["dataset_dir"], fold=1,
                  seed=plan["seeds"][0])
    for identifier in plan["ids"] or [None]:
        if identifier is not None:
            config[plan["id_constant"]] = identifier
        dataset = data.load_from_config(config)
        students = len(dataset.train) + len(dataset.valid) + len(dataset.test)
        study.check_students(students, plan["k"], os.path.join(plan["dataset_dir"], str(config.get(
            "csv_file", plan["dataset"])) if plan["dataset"] == "csv" else plan["dataset_dir"]))
        log("data%s: %d students, %d ids; %s, %d folds" % (
            "" if identifier is None else " (id %s)" % identifier, students, dataset.n_skills,
            plan["design"].replace("_", " "), plan["k"]))


# --- running ------------------------------------------------------------------------------------------------

class Runner(object):
    """Sends runs to Ray (one session for the whole command), records each as it ends, keeps the failures."""

    def __init__(self, args, command, log):
        self.args, self.command, self.log = args, command, log
        self.failed, self.decisions, self.session, self.ray = [], [], None, None

    def decide(self, text):
        """Logs what the study decided (a rung's promotion, a choice) and keeps it in <out>/decisions.txt,
        so that a reader sees it while the runs it starts go on, without the log."""
        self.log(text)
        self.decisions.append(text)
        os.makedirs(self.args.out, exist_ok=True)
        run_files.write_text(os.path.join(self.args.out, DECISIONS), "\n".join(self.decisions) + "\n")

    def run(self, specs, what, task=runs.run_and_record):
        if self.args.render:  # the report from the records only: nothing runs
            return
        unrecorded = [s for s in specs if not runs.recorded(self.args.out, s, self.damaged)]
        todo = [s for s in unrecorded if not runs.at_rung(self.args.out, s)]  # at its rung: nothing to do
        paused = len(unrecorded) - len(todo)
        self.log("%s: %d run(s), %d recorded%s, %d to run" % (
            what, len(specs), len(specs) - len(unrecorded), ", %d paused at their rung" % paused if paused
            else "", len(todo)))
        if not todo:
            return
        if self.session is None:
            self.session = ray_driver.ray_session(self.args.address, self.args.num_cpus,
                                                  self.args.cpus_per_run, self.log, "scripts/study.py")
            self.ray = self.session.__enter__()
        began = time.time()
        ray_driver.run_tasks(self.ray, task, todo, self.args.cpus_per_run, self.take)
        self.log("%s: %d run(s) in %.0f s" % (what, len(todo), time.time() - began))

    def take(self, spec, result):
        what = "%s %s fold %d seed %d%s%s" % (
            spec["group"], spec["model"], spec["fold"], spec["seed"],
            " trial %d" % spec["trial"] if "trial" in spec else "",
            " validation fold %d" % spec["valid_fold"] if spec.get("valid_fold") else "")
        if result.get("paused"):  # at its rung: a rung record, and no run record until it runs to its end
            runs.write_rung_record(self.args.out, result, self.command)
            self.log("paused %s at epoch %d (%s): valid AUC so far %s" % (
                what, result["epochs"], result["how"], study_report.fmt(result["valid_auc"])))
            return
        if not result["failed"]:
            runs.write_record(self.args.out, result, self.command)
            self.log("finished %s (%s): valid AUC %s" % (what, result["how"], study_report.fmt(
                result["summary"].get("valid_auc"))))
            return
        error = ray_driver.bad_input(result)
        if error is not None:
            raise ConfigError("%s (from main.py; nothing was recorded by this run)" % error)
        why = result["error"] or "exit status %s" % result["exit_status"]
        self.failed.append({"what": what, "why": why, "log": result["log"]})
        self.log("FAILED %s: %s; the end of its log %s:\n%s" % (what, why, result["log"], result["log_tail"]))

    def damaged(self, path, why):
        self.log("record %s %s: it does not count; its run is run (or found finished) again" % (path, why))

    def close(self):
        if self.session is not None:
            began = time.time()
            self.session.__exit__(None, None, None)  # shuts Ray down whatever ended the command
            self.log("Ray stopped in %.0f s" % (time.time() - began))


def records_of(out, specs):
    """key -> sound record of the specs that have one."""
    found = {}
    for spec in specs:
        record, _ = runs.read_record(runs.record_path(out, spec["group"], spec["key"]), spec["key"])
        if record is not None:
            found[spec["key"]] = record
    return found


def conduct(plan, args, runner):
    """The search (unless --no_search) and the test runs; returns (choices, test specs)."""
    choices, tests = {}, []
    searches = dict((m, study.search_specs(plan, m, plan["trials"][m])) for m in plan["models"]
                    if len(plan["trials"][m]) > 1)
    if searches:
        search(plan, searches, runner)
    reused = {}
    for model in plan["models"]:
        found = records_of(args.out, searches.get(model, []))
        if model in searches:
            choices[model] = study.choose(plan, plan["trials"][model], searches[model], found)
            runner.decide(study.choice_text(model, choices[model]))
        else:
            choices[model] = dict((str(f), {"trial": 0, "values": {}, "valid_auc": None,
                                            "judged_on": "no search"}) for f in plan["folds"])
        specs = study.test_specs(plan, model, choices[model])
        reused.update(study.reused_search_runs(plan, specs, searches.get(model), found))
        tests += specs
    runner.run([dict(s, scored_from=reused[s["key"]]) for s in tests if s["key"] in reused],
               "test, the chosen search runs scored on the test split", runs.score_and_record)
    runner.run([s for s in tests if s["key"] not in reused], "test")
    return choices, tests


def search(plan, searches, runner):
    """Every model's search runs; with successive halving, first every run to its rung (paused there), then
    the promoted ones to their end."""
    rungs = plan.get("halving_epochs") or {}
    whole = [s for m in plan["models"] for s in searches.get(m, []) if not rungs.get(m)]
    first = whole + [dict(s, pause_after=rungs[m]) for m in plan["models"]
                     for s in study.screened(plan, searches.get(m, [])) if rungs.get(m)]
    runner.run(first, "search, each trial to its rung" if any(rungs.values()) else "search")
    going_on = []
    for model in plan["models"]:
        if rungs.get(model) and model in searches:
            aucs = dict((s["key"], runs.rung_figure(runner.args.out, s, rungs[model]))
                        for s in study.screened(plan, searches[model]))
            kept = study.promoted(plan, plan["trials"][model], searches[model], aucs)
            runner.decide(study.promotion_text(plan, model, searches[model], aucs, kept, rungs[model]))
            going_on += kept
    if going_on:
        runner.run(going_on, "search, the promoted trials to their end")


# --- the report ---------------------------------------------------------------------------------------------

def remember_command(out, command):
    """<out>/commands.txt: every study command used, once each, in order; returns them."""
    path = os.path.join(out, COMMANDS)
    known = open(path).read().splitlines() if os.path.isfile(path) else []
    if command not in known:
        known.append(command)
        run_files.write_text(path, "\n".join(known) + "\n")
    return known


def render(plan, args, choices, tests, failed, command, log):
    figures = os.path.join(args.out, "figures")
    os.makedirs(figures, exist_ok=True)  # <out> too: where every run failed, no record has made it
    records = records_of(args.out, tests)
    by_model = {}
    for spec in tests:
        if spec["key"] in records:
            by_model.setdefault(spec["model"], []).append(records[spec["key"]])
    pairs, predictions = study_report.comparisons(plan, by_model, args.resamples, 0)
    report = {"plan": dict((k, v) for k, v in plan.items() if k != "base"), "settings": plan["base"],
              "models": study_report.model_rows(plan, by_model, choices), "pairs": pairs, "failed": failed,
              "resamples": args.resamples, "commands": remember_command(args.out, command),
              "run_commands": sorted(set(r["command"] for r in records.values())), "figures": []}
    report["figures"] = draw_figures(plan, report, records, predictions, figures, args.out, log)
    run_files.write_json(os.path.join(args.out, "study.json"), report)
    text = study_report.markdown(report)
    run_files.write_text(os.path.join(args.out, "study.md"), text)
    return text


def draw_figures(plan, report, records, predictions, figures, out, log):
    """Draws the report's figures in this process with the plot programs' own library (plots/lib): the forest
    plot, the curves, calibration and the clustering map; returns [(what, path)]. A figure that cannot be
    drawn is said, and the report goes on."""
    drawn = []

    def draw(what, path, function, *args, **kwargs):
        try:
            function(*args, **kwargs)
        except Exception as error:  # a figure is not worth the report: it is said, the rest is drawn
            lines = str(error).strip().splitlines()
            log("%s could not be drawn: %s" % (what, lines[-1] if lines else type(error).__name__))
            return
        drawn.append((what, path))

    entries = study_report.forest_entries(plan, report["pairs"])
    differences = os.path.join(out, study_report.DIFFERENCES)
    run_files.write_json(differences, entries)
    if entries:
        path = os.path.join(figures, forest.FIGURE + ".png")
        draw("paired differences (forest plot)", path, forest.draw_files, [differences], path)
    run_dirs = sorted(set(r["run_dir"] for r in records.values() if os.path.isdir(r["run_dir"])))
    folder = os.path.join(figures, "curves")
    by_model = bool(plan.get("versions"))  # each version is a data set of its own
    if run_dirs:
        draw("training and validation curves, fold bands", folder, draw_curves, run_dirs, folder, by_model)
    for model, by_fold in sorted(predictions.items()):
        if not by_fold:
            continue
        pooled = study_report.headline_predictions(plan, by_fold, sorted(by_fold))
        path = os.path.join(figures, "calibration_%s.png" % model)
        title = "%s, %s: calibration on the test answers" % (plan["name"], model_registry.label(model))
        draw("calibration, %s" % model_registry.label(model), path, draw_reliability_diagram,
             reliability_bins(pooled["answer"], pooled["p"]), path, title)
    for model in plan["models"]:
        with_weights = [d for d in run_dirs if run_files.run_identity(d).get("model") == model
                        and os.path.isfile(os.path.join(d, run_files.CORRELATION_WEIGHTS))]
        folder = os.path.join(figures, "clusters_%s" % model)
        if with_weights:
            draw("clustering map, %s (%s)" % (model_registry.label(model), with_weights[0]), folder,
                 draw_cluster_map, with_weights[0], folder)
    return drawn


def draw_curves(run_dirs, folder, by_model):
    """plots/plot_results.py's figures of the run folders (by_model: one band per model)."""
    curves.make_figures([load_run(d) for d in run_dirs], folder, by_model=by_model)


# --- the command --------------------------------------------------------------------------------------------

def run_study(argv, log=print):
    """The script; returns its exit status (0, or 1 when a run failed). Bad input raises before any run."""
    args = parse_args(argv)
    command = "python scripts/study.py " + " ".join(shlex.quote(a) for a in argv)
    began = time.time()
    plan = make_plan(args, log)
    if args.address:
        ray_driver.check_address(args.address)
    if not args.render:
        ray_driver.require_ray("scripts/study.py")
        check_data(plan, log)
    runner = Runner(args, command, log)
    try:
        choices, tests = conduct(plan, args, runner)
    finally:
        runner.close()
    if not records_of(args.out, tests) and not runner.failed:
        raise ConfigError("no test runs of study %s are recorded in %s: run it without --render first"
                          % (args.name, os.path.join(args.out, "runs")))
    rendering = time.time()
    text = render(plan, args, choices, tests, runner.failed, command, log)
    log(text)
    log("the report and its figures: %.0f s" % (time.time() - rendering))
    log("study %s: %s/study.md (%.0f s)" % (args.name, args.out, time.time() - began))
    write_plan(args.out, plan)
    return 1 if runner.failed else 0


def write_plan(out, plan):
    run_files.write_json(os.path.join(out, "plan.json"), json.loads(json.dumps(plan)))


def main(argv):
    return ray_driver.script_status(lambda: run_study(argv, log=lambda *a: print(*a, flush=True)),
                                    writing="the study's report")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

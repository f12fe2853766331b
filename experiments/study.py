"""A study: every model on a data set, settings chosen on validation only, every fold x seed run and recorded.

The plan (what scripts/study.py runs), in two phases, each run an ordinary run of main.py
(experiments/runs.py):

1. Search, per model: trial 0 is the defaults (main.py's constants with the study's data options and --set),
   trials 1.. are drawn from the space (experiments/search.py). Every trial runs on every search fold with
   `--score_test false`: no test figure exists to choose by.
   - cross-validation: outer fold k's trials run on `inner_folds` train / validation cuts of fold k's
     non-test students (main.py's VALID_FOLD j = k+1, k+2, ... wrapping past K), and its choice is the trial
     with the best mean validation AUC over those cuts: a fold's choice never sees its own test students,
     and rests on more than one validation fold;
   - fixed test (one test split, K validation folds; the three-line files' design): one choice for all
     folds, the best mean validation AUC over the folds;
   - versions (several three-line data sets, e.g. Synthetic-5's 20 versions): each version's fold 1 is a
     fold of the study, with its own test split; one choice for all, as with a fixed test.
   With one choice for all folds, `search_folds` N makes it on the first N folds only (Synthetic-5: chosen
   on versions 0-4, then run on all 20); the other folds run the choice only.
   Ties go to the lower trial, so a search never loses to the defaults on validation.
   With successive halving (the default), every trial's run on each fold's first validation cut first
   trains to a rung (`halving_epochs`, paused there: main.py's PAUSE_AFTER_EPOCH); per choice (an outer
   fold, or all folds with a fixed test) only the best third of the trials by mean validation AUC at the
   rung, and the defaults always, go on to the end, on every validation cut.
   The choice is then made as above among the trials that finished: a trial stopped at the rung is never
   chosen, and the defaults are always among those that can be.
2. Test: each model, fold and seed with its choice; the test split is scored once. The first seed's run of
   a fold is the chosen trial's search run on the fold's first validation cut, which trained on the same
   students with the same settings and seed (cross-validation: the cut main.py validates on by default,
   fold k+1; fixed test: the fold itself): its selected checkpoint is scored on the test split once
   (evaluate.py) instead of training the same model again.

The split design is main.py's (its constants named in SPLIT_CONSTANTS, the only place that names them); a
main.py without them cuts one split by SEED, and then the study runs one fold. No Ray, no TensorFlow.
"""
import json
import math
import os

from experiments import runs, search
from experiments.settings import SMOKE, check_settings, is_log_source, parse_set, table_settings
from utils.config import ConfigError, main_constants

# main.py's split-design constants: the design, the number of folds K, the split's own seed.
SPLIT_CONSTANTS = {"design": "split_design", "folds": "folds", "split_seed": "split_seed",
                   "valid_fold": "valid_fold"}
DESIGNS = ("cross_validation", "fixed_test")
VERSIONS = "versions"  # the study's design when its folds are data sets of their own (not main.py's)
DEFAULT_FOLDS = 5
# Where a source can model different ids (skills or items), the constant that says which.
ID_CONSTANTS = {"csv": "csv_skill_column", "assistments": "skill_key", "ednet": "ednet_skill"}
SMOKE_TRIALS = 2
SMOKE_FOLDS = 2  # --smoke runs the first two folds: every part of the pipeline, in minutes
# Validation cuts per outer fold in a cross-validation search: two make the choice a mean over folds at twice
# one cut's cost; --smoke takes one.
DEFAULT_INNER_FOLDS = 2
MIN_STUDENTS_PER_FOLD = 3  # a test, a validation and a training student
# Successive halving: every trial trains to this epoch, then a third of them (and the defaults) to the end.
# Three epochs rank the trials of a log of ~100k answers as their full runs do often enough to cut the search
# to about half its cost; --halving_epochs 0 trains every trial to the end.
DEFAULT_HALVING_EPOCHS = 3
HALVING_KEEP = 1.0 / 3


def split_designs_supported():
    """True when main.py has the split-design constants (SPLIT_CONSTANTS)."""
    constants = main_constants()
    return all(name in constants for name in SPLIT_CONSTANTS.values())


def split_settings(dataset, design, folds, split_seed):
    """The data settings that make main.py cut fold k of `folds` with `design`: the split-design constants
    for a source that splits students itself, nothing for three-line files (their folds are files)."""
    if not (is_log_source(dataset) or dataset == "synthetic") or not split_designs_supported():
        return {}
    return {SPLIT_CONSTANTS["design"]: design, SPLIT_CONSTANTS["folds"]: folds,
            SPLIT_CONSTANTS["split_seed"]: split_seed}


def check_students(n_students, folds, where):
    """ConfigError when `n_students` cannot fill `folds` folds."""
    needed = MIN_STUDENTS_PER_FOLD * folds
    if n_students < needed:
        raise ConfigError("%s has %d students, too few for %d folds: each fold needs a test, a validation "
                          "and a training student, so at least %d students (%d x %d); give fewer folds "
                          "(--%s %d)" % (where, n_students, folds, needed, MIN_STUDENTS_PER_FOLD, folds,
                                         SPLIT_CONSTANTS["folds"],
                                         max(1, n_students // MIN_STUDENTS_PER_FOLD)))


def base_settings(data, sets, epochs, smoke, row=None):
    """What every run of a model starts from: its Table 3 row when given (`row`, --table_row), --smoke's
    tiny model, the data options, --set, --epochs."""
    settings = dict(row or {})
    settings.update(SMOKE if smoke else {})
    settings.update(data)
    given = dict(parse_set(item) for item in sets)
    check_settings(given, "--set")
    overlap = sorted(set(given) & set(data))
    if overlap:
        raise ConfigError("--set %s: give main.py's data options as main.py spells them (--%s VALUE)"
                          % (overlap[0], overlap[0]))
    settings.update(given)
    if epochs is not None:
        settings["epochs"] = epochs
    return settings


def table_row(dataset, model):
    """The settings of (data set, model)'s Table 3 row (experiments/settings.py); ConfigError without one."""
    row = table_settings(dataset, model)
    if row is None:
        raise ConfigError("--table_row: %s has no Table 3 row for %s (the rows: experiments/settings.py); "
                          "leave out --table_row to start from main.py's constants" % (dataset, model))
    return row


def space_for(model, text, smoke, id_constant, ids):
    """The model's declared space (checked), with the id's choices when there are several; a model with
    nothing to search (BKT) gets none of --space, only the id's choices."""
    space = search.read_space(text, model, smoke) if search.searchable(model) else {}
    if ids and len(ids) > 1:
        space[id_constant] = list(ids)
        search.check_space({id_constant: list(ids)}, "--ids")
    return space


def trials_for(space, n_trials, seed, candidates=()):
    """Trial 0 = the defaults (no values), then the candidates given (settings of the user's own, e.g. the
    authors' recipe), then drawn from the space up to n_trials in all (none from an empty space: they would
    all be the defaults again)."""
    trials = [{}] + [dict(c) for c in candidates]
    if not space:
        return trials
    return trials + search.sample(space, max(0, n_trials - len(trials)), seed)


def read_candidate(model, text, models):
    """One --trial MODEL JSON: (model, the settings it names), each a constant of main.py with one value that
    main.py would read; ConfigError otherwise."""
    source = "--trial %s" % model
    if model not in models:
        raise ConfigError("%s: %s is not one of the study's models (%s)" % (source, model, ", ".join(models)))
    try:
        values = json.loads(text)
    except ValueError as error:
        raise ConfigError("%s is not JSON (%s); write e.g. %s" % (source, error,
                                                                  """'{"learning_rate": 0.01}'"""))
    if not isinstance(values, dict) or not values:
        raise ConfigError("%s must be a JSON object of name -> value, got %r" % (source, values))
    several = sorted(name for name, value in values.items() if isinstance(value, (list, dict)))
    if several:
        raise ConfigError("%s: %s must be one value (a trial is one setting; --space draws)" % (
            source, several[0]))
    search.check_space(values, source)
    return model, values


def inner_validation_folds(fold, k, inner_folds):
    """The validation folds of outer fold `fold`'s search: the `inner_folds` folds after it, wrapping past
    `k` (never `fold` itself, whose students are its test split)."""
    if not 1 <= inner_folds <= k - 1:
        raise ConfigError("--inner_folds must be in 1..%d with %d folds (each is a validation fold other "
                          "than the test fold), got %d" % (k - 1, k, inner_folds))
    return [(fold - 1 + step) % k + 1 for step in range(1, inner_folds + 1)]


def search_cuts(plan, fold):
    """The validation folds of outer fold `fold`'s search runs: cross-validation, its inner validation folds;
    fixed test, [None] (one run, whose validation fold is `fold` itself)."""
    if plan["design"] != "cross_validation":
        return [None]
    return inner_validation_folds(fold, plan["k"], plan["inner_folds"])


def searched_folds(plan):
    """The folds that search runs: every fold with cross-validation (each chooses for itself), else the
    first `search_folds` of them (all when not given), whose mean makes the one choice."""
    if plan["design"] == "cross_validation":
        return list(plan["folds"])
    return list(plan["folds"][:plan.get("search_folds") or len(plan["folds"])])


def search_specs(plan, model, trials):
    """Every (trial, fold, validation cut) run of `model`: its settings with --score_test false, the first
    seed."""
    specs = []
    for index, values in enumerate(trials):
        for fold in searched_folds(plan):
            for valid_fold in search_cuts(plan, fold):
                cut = {} if valid_fold is None else {SPLIT_CONSTANTS["valid_fold"]: valid_fold}
                settings = dict(plan["base"][model], score_test=False, **dict(values, **cut))
                spec = make_spec(plan, model, fold, plan["seeds"][0], settings, "search")
                spec["trial"], spec["valid_fold"] = index, valid_fold
                specs.append(spec)
    return specs


def halving_epochs(requested, run_epochs, n_trials):
    """The rung of the search's successive halving, or None when there is none: asked off (0), one trial
    only, or a rung at or past the runs' last epoch (nothing would be saved)."""
    if not requested or n_trials < 2 or requested >= run_epochs:
        return None
    return requested


def kept_trials(n_trials):
    """How many trials (besides the defaults) go on past the rung: a third, at least one."""
    return max(1, int(math.ceil(n_trials * HALVING_KEEP)))


def choice_groups(plan):
    """The runs that one choice is made on: cross-validation, each outer fold's; fixed test, all folds'."""
    if plan["design"] == "cross_validation":
        return [[fold] for fold in plan["folds"]]
    return [searched_folds(plan)]


def screened(plan, specs):
    """The search specs that the rung screens: each trial's run on its fold's first validation cut (every
    run with a fixed test split, or one cut per outer fold). A trial's runs on the other cuts start only
    if it is promoted, so a second validation fold doubles the promoted runs alone."""
    return [spec for spec in specs if spec.get("valid_fold") == search_cuts(plan, spec["fold"])[0]]


def promoted(plan, trials, specs, rung_aucs):
    """The search specs that go on past the rung (every validation cut of a promoted trial), given
    rung_aucs (key -> the run's best validation AUC up to the rung, None for a run that failed): per choice
    group the kept_trials best trials by mean rung AUC over the group's screened runs (every run present;
    ties to the lower trial), and the defaults (trial 0) always."""
    chosen = set()
    for group, scores in rung_scores(plan, specs, rung_aucs):
        ranked = ranking(scores.items())
        for trial in [0] + ranked[:kept_trials(len(trials))]:
            chosen.update((trial, fold) for fold in group)
    return [spec for spec in specs if (spec["trial"], spec["fold"]) in chosen]


def rung_scores(plan, specs, rung_aucs):
    """[(choice group, {trial: the rung AUCs of its screened runs on the group's folds})]."""
    groups = []
    for group in choice_groups(plan):
        scores = {}
        for spec in screened(plan, specs):
            if spec["fold"] in group:
                scores.setdefault(spec["trial"], []).append(rung_aucs.get(spec["key"]))
        groups.append((group, scores))
    return groups


def promotion_text(plan, model, specs, rung_aucs, going_on, epochs):
    """What the rung decided, a line per choice group: each trial's mean validation AUC at the rung, and
    which trials go on (so that a long study's log shows the promotion before the runs it starts)."""
    on = set((spec["trial"], spec["fold"]) for spec in going_on)
    lines = []
    for group, scores in rung_scores(plan, specs, rung_aucs):
        cells = []
        for trial, values in sorted(scores.items()):
            mean = ("%.4f" % (sum(values) / len(values)) if values and None not in values
                    else "- (a run has no figure)")
            cells.append("trial %d %s%s" % (trial, mean, " (goes on)" if (trial, group[0]) in on else ""))
        lines.append("%s at the rung (epoch %d), mean validation AUC over fold(s) %s: %s" % (
            model, epochs, ", ".join(str(f) for f in group), ", ".join(cells)))
    return "\n".join(lines)


def distinct_choices(choices):
    """[(choice, [fold, ...])] of one model: each distinct choice once, with the folds (text) it serves, in
    fold order (one entry where one choice serves every fold)."""
    folds_of = {}
    for fold, choice in sorted(choices.items(), key=lambda item: int(item[0])):
        folds_of.setdefault(json.dumps(choice, sort_keys=True), (choice, []))[1].append(fold)
    return list(folds_of.values())


def choice_text(model, choices):
    """What the search chose for `model`, a line per distinct choice (logged before its test runs start)."""
    lines = []
    for choice, folds in distinct_choices(choices):
        auc = "-" if choice["valid_auc"] is None else "%.4f" % choice["valid_auc"]
        lines.append("%s, the choice for fold(s) %s: trial %d, validation AUC %s (%s): %s" % (
            model, ", ".join(folds), choice["trial"], auc, choice["judged_on"],
            json.dumps(choice["values"], sort_keys=True)))
    return "\n".join(lines)


def ranking(scores):
    """Trials with every value present, best mean first, the lower index first on a tie."""
    complete = [(-sum(values) / len(values), index) for index, values in scores
                if values and all(v is not None for v in values)]
    return [index for _, index in sorted(complete)]


def test_specs(plan, model, choices):
    """Every (fold, seed) run of `model` with the fold's chosen values; the test split scored once."""
    specs = []
    for fold in plan["folds"]:
        settings = dict(plan["base"][model], **choices[str(fold)]["values"])
        for seed in plan["seeds"]:
            specs.append(make_spec(plan, model, fold, seed, settings, "test"))
    return specs


def reused_search_runs(plan, tests, searches, records):
    """test key -> the record of the search run that is that test run: the first seed's run of each fold is
    the chosen trial's search run on the fold's first validation cut (same students, settings and seed; only
    SCORE_TEST differs). `searches`: the model's search specs, or None without a search; `records`: key ->
    record of the finished search runs. A test run whose search run is not recorded runs as it is."""
    found = {}
    if not searches:
        return found
    for test in tests:
        first_cut = search_cuts(plan, test["fold"])[0]
        test_cut = test["settings"].get(SPLIT_CONSTANTS["valid_fold"], 0) or first_cut  # 0: fold k+1
        if test["seed"] != plan["seeds"][0] or test_cut != first_cut:
            continue
        for spec in searches:
            same_cut = (spec["fold"], spec.get("valid_fold")) == (test["fold"], first_cut)
            if same_cut and spec["key"] in records and trained_alike(spec["settings"], test["settings"]):
                found[test["key"]] = records[spec["key"]]
    return found


def trained_alike(search_settings, test_settings):
    """True when two runs' settings differ at most in SCORE_TEST and the validation fold's spelling."""
    ignored = ("score_test", SPLIT_CONSTANTS["valid_fold"])
    strip = lambda settings: dict((k, v) for k, v in settings.items() if k not in ignored)
    return strip(search_settings) == strip(test_settings)


def make_spec(plan, model, fold, seed, settings, phase):
    dataset, data_fold = plan["dataset"], None
    if plan["design"] == VERSIONS:  # fold k is the k-th data set's own (and only) fold
        dataset, data_fold = plan["versions"][fold - 1], 1
    return runs.run_spec(dataset, model, fold, seed, settings, plan["dataset_dir"], plan["runs_dir"],
                         plan["cpus_per_run"], smoke=plan["smoke"],
                         home=os.path.join(plan["runs_dir"], "study", plan["name"], phase), group=phase,
                         data_fold=data_fold)


def choose(plan, trials, specs, records):
    """fold (text) -> the choice {trial, values, valid_auc, judged_on} of one model, from its search records.

    records: key -> record of the search runs that finished. Cross-validation: per fold k, the best mean
    validation AUC over fold k's validation cuts (its non-test students only); otherwise the best mean over
    the searched folds, for every fold. A trial that did not finish on every run it is judged on does not
    count; with none left, the defaults (trial 0) run, and say so."""
    valid = {}
    for spec in specs:
        record = records.get(spec["key"])
        if record is not None and record["summary"].get("valid_auc") is not None:
            run = (spec["trial"], spec["fold"], spec.get("valid_fold"))
            valid[run] = float(record["summary"]["valid_auc"])
    if plan["design"] == "cross_validation":
        choices = {}
        for fold in plan["folds"]:
            cuts = search_cuts(plan, fold)
            choices[str(fold)] = best(
                [(t, [valid.get((t, fold, j)) for j in cuts]) for t in range(len(trials))], trials,
                "mean validation AUC over validation folds %s of fold %d's non-test students"
                % (", ".join(map(str, cuts)), fold))
        return choices
    folds = searched_folds(plan)
    choice = best([(t, [valid.get((t, fold, None)) for fold in folds]) for t in range(len(trials))],
                  trials, "mean validation AUC over folds %s" % ", ".join(map(str, folds)))
    return dict((str(fold), choice) for fold in plan["folds"])


def best(scores, trials, judged_on):
    """The trial with the highest mean of its values (every value present), the lowest index on a tie."""
    scores = list(scores)
    ranked = ranking(scores)
    if not ranked:
        return {"trial": 0, "values": {}, "valid_auc": None, "judged_on": judged_on + "; no trial finished: "
                "the defaults"}
    values = dict(scores)[ranked[0]]
    return {"trial": ranked[0], "values": trials[ranked[0]], "valid_auc": sum(values) / len(values),
            "judged_on": judged_on}

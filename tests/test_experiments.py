"""experiments/ without Ray and without training: damaged records, the run home's lock, the clean-up of what
a killed driver left, the search space's checks and the study's choice on validation."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from experiments import ray_driver, runs, search, study
from utils.config import ConfigError

FAKE_MAIN = """import json, os, sys, time
runs_dir = sys.argv[sys.argv.index("--runs_dir") + 1]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls"), "a") as f:
    f.write("ran\\n")
time.sleep(1.5)
folder = os.path.join(runs_dir, "run-1")
os.makedirs(folder)
json.dump({"constants": {}}, open(os.path.join(folder, "config.json"), "w"))
json.dump({"valid_auc": 0.6, "test_auc": 0.7}, open(os.path.join(folder, "summary.json"), "w"))
"""


def fake_spec(tmp_path):
    """A run spec whose main.py is a stand-in that counts its calls and takes 1.5 s."""
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "main.py").write_text(FAKE_MAIN)
    spec = runs.run_spec("my_log", "dkt", 1, 0, {"epochs": 1}, "data", "runs", 1)
    return dict(spec, repo=str(repo), workdir=str(tmp_path))


def test_two_drivers_given_the_same_run_at_once_run_it_once(tmp_path):
    spec = fake_spec(tmp_path)
    results = []
    threads = [threading.Thread(target=lambda: results.append(runs.run_and_record(spec))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert (tmp_path / "repo" / "calls").read_text() == "ran\n"  # one main.py, not two
    assert sorted(r["how"] for r in results) == ["found finished", "ran"]
    assert results[0]["run_dir"] == results[1]["run_dir"]


@pytest.mark.parametrize("content, why", [
    ('{"dataset": "my_log", "model": "dk', "cannot be read"),           # truncated by a full disk or a kill
    ("[1, 2]", "not a JSON object"),
    ('{"name": "a search record"}', "lacks"),                          # a foreign JSON file
])
def test_a_damaged_or_foreign_record_is_reported_and_its_run_counts_as_not_done(tmp_path, content, why):
    spec = fake_spec(tmp_path)
    path = runs.record_path(str(tmp_path / "results"), spec["group"], spec["key"])
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write(content)
    told = []
    assert not runs.recorded(str(tmp_path / "results"), spec, lambda p, w: told.append((p, w)))
    assert told and told[0][0] == path and why in told[0][1]
    assert runs.read_records(str(tmp_path / "results"), spec["group"]) == []


def test_a_record_of_another_run_does_not_count_for_this_one(tmp_path):
    spec = fake_spec(tmp_path)
    other = runs.run_spec("my_log", "dkt", 2, 0, {"epochs": 1}, "data", "runs", 1)
    record = runs.run_and_record(spec)
    path = runs.write_record(str(tmp_path / "results"), dict(record, key=other["key"]), "cmd")
    os.rename(path, runs.record_path(str(tmp_path / "results"), spec["group"], spec["key"]))
    told = []
    assert not runs.recorded(str(tmp_path / "results"), spec, lambda p, w: told.append(w))
    assert "another run" in told[0]
    runs.write_record(str(tmp_path / "results"), record, "cmd")  # the run recorded again: now it counts
    assert runs.recorded(str(tmp_path / "results"), spec)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds processes through /proc")
def test_what_a_killed_driver_left_is_stopped_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setattr(ray_driver, "drivers_folder", lambda: str(tmp_path / "drivers"))
    folder = ray_driver.new_driver_folder()
    with open(os.path.join(folder, ray_driver.DRIVER_FILE), "w") as f:
        json.dump({"pid": 999999999, "start": 1}, f)  # a driver that is gone
    # one process holds a file in the dead driver's folder and ignores SIGTERM, as Ray's agents do
    ours = subprocess.Popen([sys.executable, "-c", "import signal, time, sys; signal.signal(signal.SIGTERM, "
                             "signal.SIG_IGN); f = open(sys.argv[1], 'w'); print('up', flush=True); "
                             "time.sleep(60)", os.path.join(folder, "agent.log")], stdout=subprocess.PIPE)
    other = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE)
    try:
        ours.stdout.readline(), other.stdout.readline()
        alive_folder = ray_driver.new_driver_folder()  # this driver's own: alive, so left alone
        said = []
        ray_driver.clean_left_behind(said.append)
        assert ours.wait(timeout=10) is not None
        assert other.poll() is None and os.path.isdir(alive_folder) and not os.path.exists(folder)
        assert said and "stopped 1 Ray process(es) left by a driver that was killed" in said[0]
    finally:
        for process in (ours, other):
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("space, message", [
    ({"memory_size": ["abc", 5]}, "memory_size takes number values"),
    ({"memory_sise": [5]}, "memory_sise is not a constant of main.py"),
    ({"memory_size": [5.5]}, "memory_size takes whole numbers"),
    ({"key_projection": {"choice": [True, "yes"]}}, "key_projection takes true/false values"),
    ({"learning_rate": {"loguniform": [0, 1]}}, "needs low > 0"),
])
def test_every_value_of_a_space_is_checked_as_main_py_reads_it(space, message):
    with pytest.raises(ConfigError, match=message):
        search.read_space(json.dumps(space), "dkvmn", smoke=False)


def test_trials_start_with_the_defaults_and_are_drawn_the_same_way_again():
    space = search.default_space("dkvmn")
    trials = study.trials_for(space, 4, seed=3)
    assert trials[0] == {} and len(trials) == 4 and trials == study.trials_for(space, 4, seed=3)
    for values in trials[1:]:
        assert 3e-4 <= values["learning_rate"] <= 1e-2 and values["memory_size"] in (10, 20, 50)


def test_trials_of_the_user_s_own_come_after_the_defaults_and_before_the_drawn_ones():
    space = search.default_space("dkvmn")
    recipe = {"optimizer": "sgd", "learning_rate": 0.05, "memory_size": 20}
    assert study.read_candidate("dkvmn", json.dumps(recipe), ["dkvmn", "dkt"]) == ("dkvmn", recipe)
    trials = study.trials_for(space, 4, seed=3, candidates=[recipe])
    assert trials[:2] == [{}, recipe] and trials[2:] == study.trials_for(space, 3, seed=3)[1:]
    assert study.trials_for({}, 6, seed=0, candidates=[recipe]) == [{}, recipe]   # nothing to draw
    for text, message in (('{"memory_sise": 5}', "memory_sise is not a constant"),
                          ('{"memory_size": [5, 10]}', "memory_size must be one value"),
                          ('{"learning_rate": "fast"}', "learning_rate"), ("[1]", "JSON object"),
                          ("{", "not JSON")):
        with pytest.raises(ConfigError, match=message):
            study.read_candidate("dkvmn", text, ["dkvmn"])
    with pytest.raises(ConfigError, match="lstm is not one of the study's models"):
        study.read_candidate("lstm", "{}", ["dkvmn"])


def test_a_study_can_start_from_the_table_row_and_the_user_s_options_still_win():
    from experiments import settings
    row = study.table_row("STATICS", "dkvmn")
    assert row == settings.table_settings("STATICS", "dkvmn")
    base = study.base_settings({"fold": 2}, ["learning_rate=0.02"], 7, False, row)
    assert base == dict(row, fold=2, learning_rate=0.02, epochs=7)
    with pytest.raises(ConfigError, match="csv has no Table 3 row for dkvmn"):
        study.table_row("csv", "dkvmn")


def test_bkt_has_nothing_to_search_and_the_regressions_search_their_penalty():
    """BKT's only choice (forgetting) is made within its run: a study runs its defaults once, not N equal
    trials, whatever --space says; the regressions read no dropout, so their space is the rate and the L2."""
    assert not search.searchable("bkt") and search.default_space("bkt", smoke=True) == {}
    assert study.trials_for(study.space_for("bkt", '{"learning_rate": [0.01, 0.1]}', False, None, None), 6,
                            seed=0) == [{}]
    assert study.space_for("bkt", None, False, "csv_skill_column", ["kc", "item"]) == {
        "csv_skill_column": ["kc", "item"]}  # the id is still a choice
    for model in ("irt", "pfa", "best_lr"):
        assert search.searchable(model) and sorted(search.default_space(model)) == ["baseline_l2",
                                                                                    "learning_rate"]


def test_a_baseline_takes_the_shared_settings_of_a_table_row():
    """The same SEQ_LEN cut and batches as the deep models of the row: the same histories."""
    from experiments import settings
    shared = settings.SETTINGS["synthetic"]["all"]
    assert settings.table_settings("synthetic", "bkt") == shared
    for model in ("irt", "pfa", "best_lr"):  # a step and a budget of their own, a row's override on top
        assert settings.table_settings("synthetic", model) == dict(shared, **settings.REGRESSION_TRAINING)
        statics = settings.table_settings("STATICS", model)
        assert statics["learning_rate"] == settings.SETTINGS["STATICS"]["regressions"]["learning_rate"]
        assert statics["seq_len"] == settings.SETTINGS["STATICS"]["all"]["seq_len"]
    assert settings.table_settings("synthetic", "lstm") is None
    assert settings.table_settings("csv", "pfa") is None


def choice_of(design, valid):
    """The study's choice from {(trial, fold, valid_fold or None): valid AUC} over 3 trials and folds 1, 2
    (of K = 3; cross-validation: two validation folds each)."""
    plan = {"design": design, "folds": [1, 2], "k": 3, "inner_folds": 2}
    trials = [{}, {"learning_rate": 0.01}, {"learning_rate": 0.001}]
    specs, records = [], {}
    for (trial, fold, valid_fold), auc in valid.items():
        key = "t%d-f%d-v%s" % (trial, fold, valid_fold)
        specs.append({"trial": trial, "fold": fold, "valid_fold": valid_fold, "key": key})
        if auc is not None:
            records[key] = {"summary": {"valid_auc": auc}}
    return study.choose(plan, trials, specs, records)


def test_a_cross_validation_search_validates_each_outer_fold_on_its_own_non_test_folds():
    assert study.inner_validation_folds(1, 5, 2) == [2, 3] and study.inner_validation_folds(5, 5, 2) == [1, 2]
    assert study.inner_validation_folds(3, 3, 2) == [1, 2]
    with pytest.raises(ConfigError, match="--inner_folds must be in 1..2 with 3 folds"):
        study.inner_validation_folds(1, 3, 3)
    plan = {"design": "cross_validation", "folds": [1, 2, 3], "k": 3, "inner_folds": 2, "seeds": [0],
            "base": {"dkt": {"epochs": 2}}, "dataset": "csv", "dataset_dir": "logs", "runs_dir": "runs",
            "cpus_per_run": 1, "smoke": False, "name": "mine"}
    specs = study.search_specs(plan, "dkt", [{}, {"learning_rate": 0.01}])
    assert len(specs) == 2 * 3 * 2 and len(set(s["key"] for s in specs)) == len(specs)
    for spec in specs:
        assert spec["valid_fold"] != spec["fold"] and spec["settings"]["valid_fold"] == spec["valid_fold"]
        assert spec["settings"]["score_test"] is False


def test_cross_validation_chooses_per_fold_on_the_mean_over_its_validation_folds():
    # fold 1 validates on folds 2, 3; fold 2 on folds 3, 1. Trial 1 is best on fold 1's cut 2 alone, trial 2
    # on the mean of its cuts
    chosen = choice_of("cross_validation", {
        (0, 1, 2): 0.70, (0, 1, 3): 0.70, (1, 1, 2): 0.80, (1, 1, 3): 0.60, (2, 1, 2): 0.75, (2, 1, 3): 0.70,
        (0, 2, 3): 0.72, (0, 2, 1): 0.72, (1, 2, 3): 0.60, (1, 2, 1): 0.90, (2, 2, 3): 0.73, (2, 2, 1): 0.73})
    assert chosen["1"]["trial"] == 2 and chosen["1"]["valid_auc"] == pytest.approx(0.725)
    assert chosen["2"]["trial"] == 1 and chosen["2"]["values"] == {"learning_rate": 0.01}
    assert "validation folds 3, 1 of fold 2" in chosen["2"]["judged_on"]
    missing = choice_of("cross_validation", {(0, 1, 2): 0.70, (0, 1, 3): 0.70, (1, 1, 2): 0.90,
                                             (1, 1, 3): None})
    assert missing["1"]["trial"] == 0  # a trial without every cut does not count


def test_a_fixed_test_split_chooses_once_on_the_mean_over_folds_and_ties_go_to_the_defaults():
    # trial 1 is best on fold 1 alone, but its mean ties the defaults' (0.75): the defaults stay
    chosen = choice_of("fixed_test", {(0, 1, None): 0.75, (1, 1, None): 0.875, (2, 1, None): 0.5,
                                      (0, 2, None): 0.75, (1, 2, None): 0.625, (2, 2, None): 0.75})
    assert chosen["1"] == chosen["2"] and chosen["1"]["trial"] == 0 and chosen["1"]["valid_auc"] == 0.75
    better = choice_of("fixed_test", {(0, 1, None): 0.75, (1, 1, None): 0.875, (2, 1, None): 0.5,
                                      (0, 2, None): 0.75, (1, 2, None): 0.75, (2, 2, None): 0.75})
    assert better["1"]["trial"] == 1 and better["2"]["values"] == {"learning_rate": 0.01}


def test_a_trial_missing_a_fold_does_not_count_and_none_left_means_the_defaults():
    chosen = choice_of("fixed_test", {(0, 1, None): 0.70, (0, 2, None): 0.70, (1, 1, None): 0.90,
                                      (1, 2, None): None})
    assert chosen["1"]["trial"] == 0
    nothing = choice_of("fixed_test", {(0, 1, None): None, (0, 2, None): None})
    assert nothing["1"]["trial"] == 0 and "no trial finished" in nothing["1"]["judged_on"]


def rung_specs(plan, aucs):
    """Search specs of 6 trials on folds 1, 2 (of K = 3) on every validation cut of the plan, and the rung
    AUCs of the screened ones (each fold's first cut) from {(trial, fold): AUC or None}."""
    specs, found = [], {}
    for (trial, fold), auc in aucs.items():
        for number, cut in enumerate(study.search_cuts(plan, fold)):
            key = "t%d-f%d-v%s" % (trial, fold, cut)
            specs.append({"trial": trial, "fold": fold, "valid_fold": cut, "key": key})
            found[key] = auc if number == 0 else 0.99   # a later cut never counts at the rung
    return specs, found


def test_halving_promotes_the_best_third_and_the_defaults_per_choice():
    plan = {"design": "cross_validation", "folds": [1, 2], "k": 3, "inner_folds": 2}
    trials = [{}] * 6
    fold_1 = {0: 0.60, 1: 0.70, 2: 0.65, 3: 0.70, 4: 0.50, 5: None}  # 5 failed: never promoted
    fold_2 = {0: 0.80, 1: 0.60, 2: 0.61, 3: 0.62, 4: 0.63, 5: 0.64}
    aucs = dict([((t, 1), a) for t, a in fold_1.items()] + [((t, 2), a) for t, a in fold_2.items()])
    specs, found = rung_specs(plan, aucs)
    assert sorted((s["fold"], s["valid_fold"]) for s in study.screened(plan, specs) if s["trial"] == 0) == [
        (1, 2), (2, 3)]   # the rung screens each outer fold's first cut only
    going_on = study.promoted(plan, trials, specs, found)
    # fold 1: trials 1 and 3 tie at the top, and the defaults; fold 2: the defaults are among the best two;
    # a promoted trial goes on on both of its validation cuts
    assert sorted(set((s["fold"], s["trial"]) for s in going_on)) == [(1, 0), (1, 1), (1, 3), (2, 0), (2, 5)]
    assert len(going_on) == 2 * 5
    # a fixed test split: one promotion for all folds, on the mean over them
    fixed = {"design": "fixed_test", "folds": [1, 2], "k": 3}
    specs, found = rung_specs(fixed, aucs)
    going_on = sorted((s["fold"], s["trial"]) for s in study.promoted(fixed, trials, specs, found))
    assert going_on == [(f, t) for f in (1, 2) for t in (0, 3)]   # means 0.70, 0.66, 0.65, ...; 5 lacks one
    said = study.promotion_text(fixed, "dkt", specs, found, study.promoted(fixed, trials, specs, found), 3)
    assert said == ("dkt at the rung (epoch 3), mean validation AUC over fold(s) 1, 2: "
                    "trial 0 0.7000 (goes on), trial 1 0.6500, trial 2 0.6300, trial 3 0.6600 (goes on), "
                    "trial 4 0.5650, trial 5 - (a run has no figure)")


def test_halving_is_off_where_it_would_save_nothing():
    assert study.halving_epochs(3, 15, 6) == 3
    assert study.halving_epochs(0, 15, 6) is None          # asked off
    assert study.halving_epochs(3, 3, 6) is None           # the rung is the last epoch
    assert study.halving_epochs(3, 15, 1) is None          # the defaults alone
    assert [study.kept_trials(n) for n in (2, 3, 4, 6, 7)] == [1, 1, 2, 2, 3]


def test_a_run_paused_at_its_rung_is_found_there_and_then_runs_to_its_end(tmp_path):
    """The real main.py on a tiny synthetic set: a spec with pause_after stops unfinished at that epoch and
    writes no record; asked again it is found paused without starting main.py; without the pause it resumes
    to its end, in the same run folder."""
    settings = {"synthetic_students": 60, "synthetic_exercises": 6, "synthetic_concepts": 2, "seq_len": 10,
                "epochs": 3, "early_stop_patience": 0, "hidden_size": 8, "batch_size": 16}
    spec = dict(runs.run_spec("synthetic", "dkt", 1, 0, settings, "data", "runs", 1), workdir=str(tmp_path))
    paused = runs.run_and_record(dict(spec, pause_after=2))
    assert not paused["failed"] and paused["paused"] and paused["epochs"] == 2 and paused["how"] == "ran"
    assert 0 < paused["valid_auc"] < 1 and "summary" not in paused
    record = runs.read_record(runs.write_rung_record(str(tmp_path / "out"), paused, "study"), spec["key"])[0]
    assert record["hardware"] == runs.hardware() and record["summary"]["valid_auc"] == paused["valid_auc"]
    assert runs.rung_auc(spec, 2) == paused["valid_auc"] and runs.rung_auc(spec, 1) <= paused["valid_auc"]
    log = tmp_path / spec["home"] / "main.log"
    starts = log.read_text().count("=== ")
    again = runs.run_and_record(dict(spec, pause_after=2))
    assert again["paused"] and again["how"] == "found paused" and log.read_text().count("=== ") == starts
    finished = runs.run_and_record(spec)
    assert not finished["failed"] and finished["how"] == "resumed" and "paused" not in finished
    assert finished["run_dir"] == paused["run_dir"] and finished["summary"]["epochs_run"] == 3
    assert runs.rung_auc(spec, 2) == paused["valid_auc"]   # the rung's figure does not move afterwards


def test_the_first_seed_s_test_run_is_the_chosen_trial_s_search_run_on_the_first_cut():
    """Same students, settings and seed: only SCORE_TEST differs, so the search run is scored on the test
    split instead of training the same model again; later seeds, other cuts and unrecorded runs are not
    reused."""
    for design, cuts in (("cross_validation", {1: 2, 2: 3, 3: 1}),
                         ("fixed_test", {1: None, 2: None, 3: None})):
        plan = {"design": design, "folds": [1, 2, 3], "k": 3, "inner_folds": 2, "seeds": [0, 1],
                "base": {"dkt": {"epochs": 2}}, "dataset": "csv", "dataset_dir": "logs", "runs_dir": "runs",
                "cpus_per_run": 1, "smoke": False, "name": "mine"}
        trials = [{}, {"learning_rate": 0.01}]
        searches = study.search_specs(plan, "dkt", trials)
        choices = {"1": {"values": trials[1]}, "2": {"values": {}}, "3": {"values": trials[1]}}
        tests = study.test_specs(plan, "dkt", choices)
        records = dict((s["key"], {"key": s["key"]}) for s in searches if s["fold"] != 3)  # fold 3 not run
        reused = study.reused_search_runs(plan, tests, searches, records)
        by_test = dict((t["key"], t) for t in tests)
        by_search = dict((s["key"], s) for s in searches)
        assert sorted((by_test[k]["fold"], by_test[k]["seed"]) for k in reused) == [(1, 0), (2, 0)]
        for test_key, record in reused.items():
            search, test = by_search[record["key"]], by_test[test_key]
            assert search["valid_fold"] == cuts[test["fold"]] and search["fold"] == test["fold"]
            assert search["trial"] == (1 if test["fold"] == 1 else 0)
        assert study.reused_search_runs(plan, tests, None, records) == {}   # no search: nothing to reuse


def test_too_few_students_for_k_folds_says_how_many_are_needed():
    with pytest.raises(ConfigError, match="has 10 students, too few for 5 folds.*at least 15 students"):
        study.check_students(10, 5, "logs/answers.tsv")
    study.check_students(15, 5, "logs/answers.tsv")


def test_a_local_ray_token_never_goes_to_the_home_folder(monkeypatch):
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    ray_driver.local_token()
    assert os.environ["RAY_AUTH_MODE"] == "token" and len(os.environ["RAY_AUTH_TOKEN"]) == 64
    assert ray_driver.ray_init_options("", 2, "/x")["_node_ip_address"] == "127.0.0.1"


def test_a_lock_held_by_another_driver_makes_the_second_wait(tmp_path):
    order = []

    def hold():
        with runs.home_lock(str(tmp_path)):
            order.append("first in")
            time.sleep(1.0)
            order.append("first out")

    thread = threading.Thread(target=hold)
    thread.start()
    while not order:
        time.sleep(0.01)
    with runs.home_lock(str(tmp_path)):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]


def reproduce_script():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
    import reproduce
    return reproduce


def test_reproduce_takes_main_py_s_data_flags_and_runs_a_model_without_a_record_with_its_defaults(
        tmp_path, monkeypatch):
    reproduce = reproduce_script()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs").mkdir()
    search_record = tmp_path / "my_log-dkvmn.json"
    search_record.write_text(json.dumps({"model": "dkvmn", "dataset_dir": "logs", "chosen": {"settings": {
        "learning_rate": 0.004, "csv_file": "answers.tsv", "epochs": 3}}}))
    said = []
    args = reproduce.parse_args(["csv", "--csv_student_column", "user_id", "--settings", str(search_record),
                                 "--models", "dkvmn", "dkt"])
    specs = reproduce.planned_runs(args, said.append)
    by_model = dict((spec["model"], spec) for spec in specs)
    assert by_model["dkvmn"]["settings"] == {"learning_rate": 0.004, "csv_file": "answers.tsv", "epochs": 3,
                                             "csv_student_column": "user_id"}
    assert by_model["dkt"]["settings"] == {"csv_student_column": "user_id"}
    assert by_model["dkt"]["dataset_dir"] == "logs"  # the search record's folder, without --dataset_dir
    assert said == ["dkt: no search record (--settings) and no row of the table for csv: it runs with "
                    "main.py's defaults"]


def versions_plan(search_folds=None):
    """A study whose three folds are three data sets (each its own fold 1), one choice for all."""
    return {"design": study.VERSIONS, "folds": [1, 2, 3], "k": 3, "inner_folds": None, "seeds": [0],
            "versions": ["toy_v0", "toy_v1", "toy_v2"], "search_folds": search_folds,
            "base": {"dkt": {"epochs": 2}}, "dataset": "toy_v0", "dataset_dir": "data", "runs_dir": "runs",
            "cpus_per_run": 1, "smoke": False, "name": "mine"}


def test_data_versions_as_folds_run_each_version_s_own_fold_and_choose_on_the_searched_ones():
    plan = versions_plan(search_folds=2)
    specs = study.search_specs(plan, "dkt", [{}, {"learning_rate": 0.01}])
    assert sorted((s["trial"], s["fold"], s["dataset"]) for s in specs) == [
        (t, f, "toy_v%d" % (f - 1)) for t in (0, 1) for f in (1, 2)]   # fold 3 only runs the choice
    argv = runs.main_argv(specs[0])
    assert argv[argv.index("--dataset") + 1] == "toy_v0" and argv[argv.index("--fold") + 1] == "1"
    assert runs.identity_of(specs[1])["data_fold"] == 1 and specs[1]["fold"] == 2
    assert "data_fold" not in runs.identity_of(runs.run_spec("my_log", "dkt", 2, 0, {}, "d", "runs", 1))
    records = dict((s["key"], {"summary": {"valid_auc": {(0, 1): 0.7, (0, 2): 0.7, (1, 1): 0.9,
                                                          (1, 2): 0.6}[(s["trial"], s["fold"])]}})
                   for s in specs)
    chosen = study.choose(plan, [{}, {"learning_rate": 0.01}], specs, records)
    assert sorted(chosen) == ["1", "2", "3"] and chosen["3"]["trial"] == 1    # mean 0.75 against 0.7
    assert chosen["3"]["judged_on"] == "mean validation AUC over folds 1, 2"
    tests = study.test_specs(plan, "dkt", chosen)
    assert [(t["dataset"], t["fold"], t.get("data_fold")) for t in tests] == [
        ("toy_v0", 1, 1), ("toy_v1", 2, 1), ("toy_v2", 3, 1)]
    reused = study.reused_search_runs(plan, tests, specs, records)
    assert sorted(t["fold"] for t in tests if t["key"] in reused) == [1, 2]   # fold 3 trains its test run


def test_halving_over_versions_screens_the_searched_folds_only():
    plan = versions_plan(search_folds=2)
    trials = [{}] + [{"learning_rate": rate} for rate in (0.1, 0.01, 0.001)]
    specs = study.search_specs(plan, "dkt", trials)
    # trial 3 is the best on fold 1 alone and the worst on the mean of folds 1 and 2 (0.55, 0.6, 0.65, 0.4)
    aucs = dict((s["key"], 0.5 + 0.1 * s["trial"] if s["fold"] == 1 else (0.1 if s["trial"] == 3 else 0.6))
                for s in specs)
    going_on = study.promoted(plan, trials, specs, aucs)
    assert sorted(set(s["trial"] for s in going_on)) == [0, 1, 2]
    assert set(s["fold"] for s in going_on) == {1, 2}


def test_a_versions_study_pools_its_test_splits_and_a_fixed_test_averages_them():
    from experiments import study_report
    assert not study_report.shares_one_test_split({"design": study.VERSIONS})
    assert not study_report.shares_one_test_split({"design": "cross_validation"})
    assert study_report.shares_one_test_split({"design": "fixed_test"})
    a = {"student": ["s1", "s2"], "position": [1, 1], "skill": [1, 1], "answer": [1, 0], "p": [0.9, 0.2]}
    pooled = study_report.headline_predictions({"design": study.VERSIONS}, {1: (a, []), 2: (a, [])}, [1, 2])
    assert len(pooled["p"]) == 4 and len(set(pooled["student"])) == 4   # the same ids of two data sets


def test_the_report_lists_each_distinct_choice_once_with_its_folds():
    from experiments import study_report
    shared = {"trial": 3, "valid_auc": 0.81, "judged_on": "validation fold 2", "values": {"memory_size": 10}}
    row = {"label": "DKVMN", "choices": {"3": shared, "1": dict(shared),
                                        "2": dict(shared, trial=0, values={}, valid_auc=0.8)}}
    lines = study_report.choice_lines({"plan": {"table_row": True}, "models": [row]})
    assert lines[2:-1] == [
        '- DKVMN, folds 1, 3: trial 3, validation AUC 0.8100 (validation fold 2): `{"memory_size": 10}`',
        "- DKVMN, fold 2: trial 0 (the Table 3 row), validation AUC 0.8000 (validation fold 2): "
        "`the Table 3 row`"]
    assert study.choice_text("dkvmn", row["choices"]).splitlines() == [  # the log's line, before the tests
        'dkvmn, the choice for fold(s) 1, 3: trial 3, validation AUC 0.8100 (validation fold 2): '
        '{"memory_size": 10}',
        "dkvmn, the choice for fold(s) 2: trial 0, validation AUC 0.8000 (validation fold 2): {}"]

"""scripts/table3.py on tiny run records and run folders this test writes (no training, no Ray)."""
import json
import os
import shutil
import sys

import numpy as np
import pytest

from experiments import runs, scored, settings
from utils import run_files, stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import table3  # noqa: E402

from experiments import table3 as table3_rendering  # noqa: E402

RESAMPLES = 200
ASSIST = "assist2009_updated"


def answers_of_students(n_students=40, per_student=12, seed=0):
    """Answers of students of different ability and two models' P(correct): dkvmn knows the ability well,
    dkt less well."""
    random = np.random.RandomState(seed)
    ability = np.repeat(random.normal(size=n_students), per_student)
    sigmoid = lambda x: 1 / (1 + np.exp(-x))
    return {"student": np.repeat(["s%02d" % i for i in range(n_students)], per_student),
            "position": np.tile(np.arange(per_student), n_students),
            "skill": random.randint(0, 4, size=ability.size),
            "answer": (random.uniform(size=ability.size) < sigmoid(2 * ability)).astype(int),
            "dkvmn": sigmoid(2 * ability + 0.3 * random.normal(size=ability.size)),
            "dkt": sigmoid(0.7 * ability + 1.2 * random.normal(size=ability.size))}


def write_record(results, dataset, model, fold, seed, auc, from2, ci=None):
    """A record as scripts/reproduce.py writes it, with the table's settings; returns it."""
    digest = settings.settings_hash(settings.table_settings(dataset, model))
    key = runs.run_key(model, fold, seed, digest)
    summary = {"test_auc": auc, "test_auc_from2": from2, "valid_auc": auc + 0.001, "best_epoch": 3}
    if ci:
        summary.update(test_auc_ci_low=ci[0], test_auc_ci_high=ci[1], test_auc_ci_resamples=1000)
    home = os.path.join("runs", "reproduce", dataset, key)
    record = {"dataset": dataset, "model": model, "fold": fold, "seed": seed, "key": key,
              "settings_hash": digest, "smoke": False, "summary": summary,
              "run_dir": os.path.join(home, "%s-%s-20260101-000000" % (dataset, model)),
              "driver_command": "python scripts/reproduce.py %s" % dataset}
    path = runs.record_path(str(results), dataset, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run_files.write_json(path, record)
    return record


def write_run_folder(runs_dir, record, data, rows=None):
    """The record's run folder under runs_dir: config.json and predictions.csv (p of data[model])."""
    name = os.path.basename(record["run_dir"])
    folder = os.path.join(str(runs_dir), "reproduce", record["dataset"], record["key"], name)
    os.makedirs(folder)
    run_files.write_json(os.path.join(folder, "config.json"), {"constants": dict(
        (k, record[k]) for k in ("dataset", "model", "fold", "seed"))})
    rows = np.arange(data["answer"].size) if rows is None else rows
    run_files.write_predictions(folder, dict((name, data[record["model"] if name == "p" else name][rows])
                                             for name in ("student", "position", "skill", "answer", "p")))


# fold -> seed -> (dkvmn AUC, dkt AUC); fold 1 has two seeds, averaged into the fold's value
ASSIST_AUCS = {1: {0: (0.8150, 0.8175), 1: (0.8160, 0.8190)}, 2: {0: (0.8150, 0.8180)},
               3: {0: (0.8155, 0.8185)}}


@pytest.fixture
def tiny(tmp_path):
    """Records of ASSIST2009 (folds 1-3) and Synthetic-5 v0 and v3, run folders for every ASSIST2009 run."""
    results, runs = tmp_path / "results", tmp_path / "runs"
    records = {}
    for fold, seeds in ASSIST_AUCS.items():
        for seed, aucs in seeds.items():
            data = answers_of_students(seed=10 * fold + seed)
            for model, auc in zip(("dkvmn", "dkt"), aucs):
                ci = (auc - 0.003, auc + 0.003) if fold == 2 else None
                record = write_record(results, ASSIST, model, fold, seed, auc, auc + 0.002, ci)
                write_run_folder(runs, record, data)
                records[(model, fold, seed)] = (record, data)
    for version, aucs in ((0, (0.829, 0.816)), (3, (0.825, 0.815))):
        for model, auc in zip(("dkvmn", "dkt"), aucs):
            write_record(results, "naive_c5_q50_s4000_v%d" % version, model, 1, 0, auc, auc + 0.001)
    return {"results": results, "runs": runs, "docs": tmp_path / "docs", "records": records}


def run_table(tiny):
    argv = ["--results", str(tiny["results"]), "--runs_dir", str(tiny["runs"]), "--docs", str(tiny["docs"]),
            "--resamples", str(RESAMPLES)]
    assert table3.main(argv) == 0
    with open(str(tiny["results"] / "table3.json")) as f:
        table = json.load(f)
    return dict((row["name"], row) for row in table["rows"]), (tiny["results"] / "table3.md").read_text()


def expected_bootstrap(data):
    """What the table must hold for one fold: utils.stats on the predictions as written (p to 6 decimals)."""
    return stats.paired_bootstrap_auc_difference(data["answer"], np.round(data["dkvmn"], 6),
                                                 np.round(data["dkt"], 6), data["student"],
                                                 n_resamples=RESAMPLES, seed=0)


def test_the_table_holds_utils_stats_of_the_records_and_the_predictions(tiny, capsys):
    rows, text = run_table(tiny)
    assist = rows[ASSIST]
    fold_values = dict((model, [np.mean([a[i] for a in ASSIST_AUCS[fold].values()]) for fold in (1, 2, 3)])
                       for i, model in enumerate(("dkvmn", "dkt")))
    for model in ("dkvmn", "dkt"):
        c = assist["cells"][model]
        expected = stats.mean_std_t_ci(fold_values[model])
        for name in ("mean", "std", "low", "high", "n"):
            assert c["test_auc"][name] == pytest.approx(expected[name]), (model, name)
        assert c["test_auc_from2"]["mean"] == pytest.approx(expected["mean"] + 0.002)
        assert c["paper_auc"] == settings.SETTINGS[ASSIST]["paper"][model]
        assert c["reaches_paper"] == (expected["mean"] >= c["paper_auc"])
        assert c["averaged_seeds"] == ["fold 1: mean of seeds 0, 1"]
        assert [(r["fold"], r["seed"]) for r in c["runs"]] == [(1, 0), (1, 1), (2, 0), (3, 0)]
        cis = [r["ci"] for r in c["runs"]]
        assert cis[2]["low"] == pytest.approx(ASSIST_AUCS[2][0][model == "dkt"] - 0.003)
        assert cis[0] is None and cis[3] is None
    t_test = stats.paired_t_test(fold_values["dkvmn"], fold_values["dkt"])
    for name in ("mean_difference", "low", "high", "p_value"):
        assert assist["t_test"][name] == pytest.approx(t_test[name])
    assert assist["t_test"]["n"] == 3 and assist["t_test"]["units"] == ["fold 1", "fold 2", "fold 3"]

    assert [(p["fold"], p["seed"]) for p in assist["per_fold"]] == [(1, 0), (1, 1), (2, 0), (3, 0)]
    for pair in assist["per_fold"]:
        expected = expected_bootstrap(tiny["records"][("dkvmn", pair["fold"], pair["seed"])][1])
        result = pair["result"]
        assert pair["note"] == "stored" and result["difference"] > 0 and result["p_value"] < 0.05
        for name in ("difference", "low", "high", "p_value"):
            assert result[name] == pytest.approx(expected[name]), name
        data = tiny["records"][("dkvmn", pair["fold"], pair["seed"])][1]
        delong = stats.delong_test(data["answer"], np.round(data["dkvmn"], 6), np.round(data["dkt"], 6))
        assert result["delong"]["p_value"] == pytest.approx(delong["p_value"])
        assert result["keys"] == {"dkvmn": tiny["records"][("dkvmn", pair["fold"], pair["seed"])][0]["key"],
                                  "dkt": tiny["records"][("dkt", pair["fold"], pair["seed"])][0]["key"]}
        stored = tiny["results"] / "paired" / ASSIST / ("%d-s%d.json" % (pair["fold"], pair["seed"]))
        assert json.loads(stored.read_text())["difference"] == pytest.approx(expected["difference"])

    versions = rows["synthetic5_versions"]
    assert versions["cells"]["dkvmn"]["units"] == [0, 3]
    expected = stats.mean_std_t_ci([0.829, 0.825])
    assert versions["cells"]["dkvmn"]["test_auc"]["std"] == pytest.approx(expected["std"])
    assert versions["t_test"]["mean_difference"] == pytest.approx(((0.829 - 0.816) + (0.825 - 0.815)) / 2)
    assert rows["assist2015"]["cells"]["dkt"]["test_auc"]["n"] == 0

    # the Markdown, the figure's entries and the figure
    mean = rows[ASSIST]["cells"]["dkvmn"]["test_auc"]
    assert ("| ASSIST2009 | DKVMN | %.4f ± %.4f | [%.4f, %.4f] | 3 (folds 1, 2, 3 of 5; fold 1: mean of "
            "seeds 0, 1) | 0.8157 |" % (mean["mean"], mean["std"], mean["low"], mean["high"])) in text
    assert "%+.4f" % t_test["mean_difference"] in text and "fold 2 s0 [" in text
    assert t_test["p_value"] < 0.05 and "(paired t over the row's values): ASSIST2009 (DKT higher, p %s)" % (
        table3_rendering.p_text(t_test["p_value"])) in text
    entries = json.loads((tiny["results"] / "table3_differences.json").read_text())
    assert [e["kind"] for e in entries if e["dataset"] == "ASSIST2009"] == [
        "paired t over 3 folds", "paired bootstrap, fold 1 seed 0", "paired bootstrap, fold 1 seed 1",
        "paired bootstrap, fold 2 seed 0", "paired bootstrap, fold 3 seed 0"]
    assert (tiny["docs"] / "7_model_difference.png").stat().st_size > 1000
    assert "| ASSIST2009 | DKVMN |" in capsys.readouterr().out


def test_the_baselines_stand_beside_both_deep_models_with_paired_differences(tiny):
    """A baseline's records (the row's shared settings) give its cell, its paired t against DKT and DKVMN
    over the folds both have, its time per run, and the verdict lines: above, level with or below."""
    pfa = {1: 0.8300, 2: 0.8320, 3: 0.8310}   # above both deep models on every fold
    irt = {1: 0.6200, 2: 0.6190}              # far below, two folds only
    for model, values in (("pfa", pfa), ("irt", irt)):
        for fold, auc in values.items():
            record = write_record(tiny["results"], ASSIST, model, fold, 0, auc, auc)
            record["wall_seconds"] = 20.0 + fold
            run_files.write_json(runs.record_path(str(tiny["results"]), ASSIST, record["key"]), record)
            if model == "pfa" and fold < 3:  # scored over whole histories too (fold 3 not: left out)
                path = scored.path(str(tiny["results"]), ASSIST, record["key"], "test", "carried")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                run_files.write_json(path, {"auc": auc + 0.01})
    rows, text = run_table(tiny)
    assist = rows[ASSIST]
    assert sorted(assist["baselines"]) == ["irt", "pfa"]
    deep_values = dict((model, [np.mean([a[i] for a in ASSIST_AUCS[fold].values()]) for fold in (1, 2, 3)])
                       for i, model in enumerate(("dkvmn", "dkt")))
    expected = stats.paired_t_test([pfa[f] for f in (1, 2, 3)], deep_values["dkt"])
    for name in ("mean_difference", "low", "high", "p_value", "n"):
        assert assist["baselines"]["pfa"]["dkt"][name] == pytest.approx(expected[name]), name
    assert assist["baselines"]["irt"]["dkvmn"]["n"] == 2
    assert assist["cells"]["pfa"]["seconds_per_run"] == pytest.approx(22.0)
    assert assist["cells"]["pfa"]["paper_auc"] is None
    assert "| ASSIST2009 | PFA | %.4f ± %.4f |" % (np.mean(list(pfa.values())),
                                                  np.std(list(pfa.values()), ddof=1)) in text
    assert "| 22 |" in text
    whole = assist["cells"]["pfa"]["whole_history_auc"]
    assert whole["n"] == 2 and whole["mean"] == pytest.approx(np.mean([pfa[1], pfa[2]]) + 0.01)
    assert "| %.4f ± %.4f (2) | 22 |" % (whole["mean"], whole["std"]) in text
    assert assist["cells"]["irt"]["whole_history_auc"]["n"] == 0
    above = text.split("- A classical model above a deep one (interval above 0): ")[1].splitlines()[0]
    assert "ASSIST2009 PFA vs DKT (+" in above and "ASSIST2009 PFA vs DKVMN (+" in above
    assert "IRT" not in above
    assert "ASSIST2015" not in text.split("## The classical baselines")[1].split("## Notes")[0]


def test_a_missing_run_folder_gives_no_bootstrap_but_keeps_the_t_test(tiny):
    record = tiny["records"][("dkt", 3, 0)][0]
    shutil.rmtree(os.path.join(str(tiny["runs"]), "reproduce", ASSIST, record["key"]))
    rows, text = run_table(tiny)
    fold3 = [p for p in rows[ASSIST]["per_fold"] if p["fold"] == 3][0]
    assert fold3["result"] is None and fold3["note"] == "run folder not under %s: %s" % (tiny["runs"],
                                                                                      record["key"])
    assert "| ASSIST2009 | fold 3 s0 | - | - | - | - | - | - | - | run folder not under" in text
    assert rows[ASSIST]["t_test"]["n"] == 3 and rows[ASSIST]["t_test"]["p_value"] is not None
    assert not (tiny["results"] / "paired" / ASSIST / "3-s0.json").exists()


def test_a_pair_scored_on_different_positions_is_skipped_with_a_note(tiny):
    record, data = tiny["records"][("dkt", 2, 0)]
    shutil.rmtree(os.path.join(str(tiny["runs"]), "reproduce", ASSIST, record["key"]))
    write_run_folder(tiny["runs"], record, data, rows=np.arange(12, data["answer"].size))  # one student less
    rows, text = run_table(tiny)
    fold2 = [p for p in rows[ASSIST]["per_fold"] if p["fold"] == 2][0]
    assert fold2["result"] is None and "did not score the same test answers" in fold2["note"]
    assert "| ASSIST2009 | fold 2 s0 | - |" in text and "skipped: the runs did not score the same" in text
    assert not (tiny["results"] / "paired" / ASSIST / "2-s0.json").exists()
    assert [p["result"] is not None for p in rows[ASSIST]["per_fold"]] == [True, True, False, True]


def test_stored_fold_results_are_reused_once_the_run_folders_are_gone(tiny):
    first, _ = run_table(tiny)
    shutil.rmtree(str(tiny["runs"]))
    second, text = run_table(tiny)
    for before, after in zip(first[ASSIST]["per_fold"], second[ASSIST]["per_fold"]):
        assert after["note"] == "stored" and after["result"] == before["result"]
    assert "paired/%s/1-s0.json" % ASSIST in text

    # a stored result of other records (e.g. a rerun with new settings) is not taken for this pair
    stored = tiny["results"] / "paired" / ASSIST / "1-s0.json"
    content = json.loads(stored.read_text())
    content["keys"]["dkt"] = "dkt-f1-s0-0000000000"
    stored.write_text(json.dumps(content))
    third, _ = run_table(tiny)
    assert third[ASSIST]["per_fold"][0]["result"] is None


def test_no_records_is_one_error_line_and_nothing_written(tmp_path, capsys):
    assert table3.main(["--results", str(tmp_path / "empty"), "--docs", str(tmp_path / "docs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no run records") and "reproduce.py" in err[0]
    assert not (tmp_path / "empty").exists() and not (tmp_path / "docs").exists()


def test_a_gap_to_the_paper_below_half_a_unit_of_the_4th_digit_keeps_its_sign_and_size():
    assert table3_rendering.gap_text(0.0016) == "+0.0016"
    assert table3_rendering.gap_text(-0.00003) == "-0.00003"     # 4 digits would print -0.0000, as if no gap
    assert table3_rendering.gap_text(None) == "-"


def test_a_pair_is_named_by_its_unit_and_by_its_seed_once():
    assert table3_rendering.pair_name({"unit": "fold"}, {"unit": "fold 2", "seed": 0}) == "fold 2 seed 0"
    assert table3_rendering.pair_name({"unit": "seed"}, {"unit": "seed 1", "seed": 1}) == "seed 1"


def same_figures(a, b):
    """a == b, numbers to 1e-9 relative (the legacy leg's scipy differs in the last digits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return sorted(a) == sorted(b) and all(same_figures(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_figures(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == pytest.approx(b, rel=1e-9)
    return a == b


def test_the_rows_rendered_from_the_repository_s_records_equal_results_table3_json(tmp_path):
    """The one renderer (experiments/table3.py) re-renders today's Table 3 from results/runs/ and the stored
    per-fold results in results/paired/ (the run folders are not in the repository): the same figures."""
    results = os.path.join(ROOT, "results")
    for name in ("runs", "paired", "scored"):
        if os.path.isdir(os.path.join(results, name)):
            shutil.copytree(os.path.join(results, name), str(tmp_path / name))
    with open(os.path.join(results, "table3.json")) as f:
        published = json.load(f)
    args = type("Args", (), {"results": str(tmp_path), "runs_dir": str(tmp_path / "no_run_folders"),
                             "resamples": published["args"]["resamples"], "seed": published["args"]["seed"]})
    rendered = json.loads(json.dumps(table3_rendering.build(args, [])))
    assert [row["name"] for row in rendered["rows"]] == [row["name"] for row in published["rows"]]
    for new, old in zip(rendered["rows"], published["rows"]):
        assert same_figures(new, old), new["name"]
    assert rendered["n_records"] == published["n_records"]
    with open(os.path.join(results, "table3.md")) as f:
        assert table3_rendering.markdown(dict(rendered, command=published["command"])) == f.read()


# --- the fair round: the table from one study per data set --------------------------------------------------

STATICS_AUCS = {1: (0.830, 0.827), 2: (0.826, 0.828), 3: (0.829, 0.826)}  # fold -> (dkvmn, dkt)


def write_study_record(study, phase, model, fold, summary, wall_seconds, threads=1, predictions_dir=None):
    """A record as scripts/study.py writes it in <study>/runs/<phase>/ (a rung record has only the rung's
    validation AUC); returns it."""
    key = runs.run_key(model, fold, 0, "%010d" % (fold * 7 + len(phase)))
    record = {"dataset": "STATICS", "model": model, "fold": fold, "seed": 0, "key": key, "group": phase,
              "settings_hash": key[-10:], "smoke": False, "summary": summary, "threads": threads,
              "run_dir": os.path.join("runs", "study", "fair_STATICS", "search", key, "STATICS-%s" % model),
              "wall_seconds": wall_seconds}
    if predictions_dir:
        record["predictions_dir"] = predictions_dir
    runs.write_record(str(study), record, "python scripts/study.py fair_STATICS")
    return record


@pytest.fixture
def fair_round(tmp_path):
    """A round folder with the STATICS study's records (rung, search, test) and its study.json."""
    study = tmp_path / "fair_round" / "STATICS"
    data = {}
    for fold, aucs in STATICS_AUCS.items():
        data[fold] = answers_of_students(seed=fold)
        for model, auc in zip(("dkvmn", "dkt"), aucs):
            write_study_record(study, "rung", model, fold, {"valid_auc": 0.8, "epochs_run": 5}, 100.0)
            write_study_record(study, "search", model, fold, {"valid_auc": auc + 0.001}, 900.0)
            evaluation = tmp_path / "evaluations" / ("%s-%d" % (model, fold))
            evaluation.mkdir(parents=True)
            run_files.write_predictions(str(evaluation), dict(
                (name, data[fold][model if name == "p" else name])
                for name in ("student", "position", "skill", "answer", "p")))
            write_study_record(study, "test", model, fold, {"valid_auc": auc + 0.001, "test_auc": auc,
                                                            "test_auc_from2": auc}, 20.0, threads=2,
                               predictions_dir=str(evaluation))
    choice = {"trial": 2, "values": {"carry_state": True}, "valid_auc": 0.8291,
              "judged_on": "mean validation AUC over folds 1, 2, 3"}
    run_files.write_json(str(study / "study.json"), {"models": [
        {"model": "dkvmn", "choices": dict((str(f), choice) for f in STATICS_AUCS)},
        {"model": "dkt", "choices": dict((str(f), dict(choice, trial=0, values={})) for f in STATICS_AUCS)}]})
    return tmp_path / "fair_round", data


def test_the_round_s_table_is_its_studies_test_runs_with_their_choices_and_cpu_hours(fair_round, tmp_path):
    round_dir, data = fair_round
    results = tmp_path / "results"  # Table 3 as it stood: the round writes nothing there
    assert table3.main(["--round", str(round_dir), "--resamples", str(RESAMPLES)]) == 0
    table = json.loads((round_dir / "table3.json").read_text())
    rows = dict((row["name"], row) for row in table["rows"])
    statics = rows["STATICS"]
    for index, model in enumerate(("dkvmn", "dkt")):
        values = [STATICS_AUCS[fold][index] for fold in sorted(STATICS_AUCS)]
        expected = stats.mean_std_t_ci(values)
        assert statics["cells"][model]["test_auc"]["mean"] == pytest.approx(expected["mean"])
        assert statics["cells"][model]["test_auc"]["high"] == pytest.approx(expected["high"])
        assert statics["cells"][model]["units"] == sorted(STATICS_AUCS)
    assert statics["t_test"]["mean_difference"] == pytest.approx(
        np.mean([a - b for a, b in STATICS_AUCS.values()]))
    for pair in statics["per_fold"]:  # from each test run's evaluation folder
        expected = expected_bootstrap(data[pair["fold"]])
        assert pair["result"]["difference"] == pytest.approx(expected["difference"])
    assert all(not rows[name]["cells"]["dkvmn"]["units"] for name in rows if name != "STATICS")
    hours = (3 * 2 * (100.0 + 900.0 + 2 * 20.0)) / 3600.0   # every sitting of every record, times its threads
    assert table["round"]["cpu_hours"] == pytest.approx(hours)
    text = (round_dir / "table3.md").read_text()
    assert "# Table 3 from the fair round" in text and "DKVMN: trial 2 {\"carry_state\": true}" in text
    assert "DKT: trial 0 (the row)" in text and "in all %.1f" % hours in text
    assert (round_dir / "figures" / "7_model_difference.png").is_file() and not results.exists()


def test_a_round_without_test_runs_is_one_error_line(tmp_path, capsys):
    assert table3.main(["--round", str(tmp_path / "fair_round")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no test runs in the round's studies" in err[0] and "NOTES.md" in err[0]

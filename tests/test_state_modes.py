"""The round of cut against carried training (experiments/state_modes.py, scripts/state_modes.py) and the
scoring of recorded runs both ways (experiments/scored.py, scripts/score_runs.py)."""
import os
import sys

import numpy as np
import pytest

from experiments import runs, scored, settings, state_modes
from tiny_runs import tiny_run
from utils import run_files, stats
from utils.commands import exit_status

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import score_runs  # noqa: E402
import state_modes as state_modes_script  # noqa: E402

DATASET = "STATICS"
SEQ_LEN = settings.table_settings(DATASET, "dkt")["seq_len"]


def write_record(results, model, mode, fold, seed=0):
    digest = settings.settings_hash(state_modes.mode_settings(DATASET, model, mode))
    key = runs.run_key(model, fold, seed, digest)
    record = {"dataset": DATASET, "model": model, "fold": fold, "seed": seed, "key": key,
              "settings_hash": digest, "smoke": False, "summary": {"test_auc": 0.8},
              "constants": {"carry_state": mode == "carried"}, "run_dir": os.path.join("runs", key)}
    path = runs.record_path(str(results), DATASET, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run_files.write_json(path, record)
    return record


def write_scored(results, record, split, state, auc, ece=0.02, past=None):
    figures = {"auc": auc, "ece": ece, "auc_by_position": [
        {"positions": "51-%d" % SEQ_LEN, "first": 51, "last": SEQ_LEN, "auc": auc - 0.01},
        {"positions": ">%d" % SEQ_LEN, "first": SEQ_LEN + 1, "last": None, "auc": past}]}
    scored.keep(str(results), record, split, state, figures)


# fold -> (cut training, carried training) -> {(split, state): AUC}; carried training wins on validation
# scored carried but loses on test scored carried: the criterion must pick it all the same
VALID_CARRIED = {"cut": [0.810, 0.812, 0.808], "carried": [0.815, 0.816, 0.813]}
TEST_CARRIED = {"cut": [0.830, 0.829, 0.831], "carried": [0.820, 0.822, 0.819]}


@pytest.fixture
def round_results(tmp_path):
    results = tmp_path / "results"
    for mode in state_modes.TRAINING_MODES:
        for i, fold in enumerate((1, 2, 3)):
            record = write_record(results, "dkt", mode, fold)
            write_scored(results, record, "valid", "carried", VALID_CARRIED[mode][i])
            write_scored(results, record, "valid", "cut", 0.80)
            write_scored(results, record, "test", "carried", TEST_CARRIED[mode][i], past=0.70 + 0.01 * i)
            if not (mode == "carried" and fold == 3):  # one scoring left out: listed as missing
                write_scored(results, record, "test", "cut", 0.81 + 0.001 * i, ece=0.01 * fold)
    other = dict(settings.table_settings(DATASET, "dkt"), learning_rate=0.1)  # another row: not counted
    digest = settings.settings_hash(other)
    run_files.write_json(runs.record_path(str(results), DATASET, runs.run_key("dkt", 1, 0, digest)), {
        "dataset": DATASET, "model": "dkt", "fold": 1, "seed": 0, "key": runs.run_key("dkt", 1, 0, digest),
        "settings_hash": digest, "smoke": False, "summary": {}})
    return results


def test_the_criterion_is_validation_scored_carried_and_the_test_figures_are_reported(round_results):
    report = state_modes.build(str(round_results), [DATASET], ["dkvmn", "dkt"])
    (entry,) = report["entries"]  # no DKVMN records: no entry
    assert entry["chosen"] == "carried"  # though the test split, scored carried, prefers cut
    cut, carried = entry["cells"]["cut"], entry["cells"]["carried"]
    assert cut["folds"] == [1, 2, 3] and carried["folds"] == [1, 2, 3]
    expected = stats.mean_std_t_ci(TEST_CARRIED["carried"])
    for name in ("mean", "std", "low", "high", "n"):
        assert carried["test_carried"]["auc"][name] == pytest.approx(expected[name]), name
    assert carried["test_carried"]["auc_past_seq_len"]["mean"] == pytest.approx(0.71)
    assert carried["test_cut"]["ece"]["n"] == 2  # fold 3 was never scored so
    diff = entry["carried_minus_cut"]["test_carried"]
    paired = stats.paired_t_test(TEST_CARRIED["carried"], TEST_CARRIED["cut"])
    assert diff["mean_difference"] == pytest.approx(paired["mean_difference"]) and diff["n"] == 3
    assert entry["carried_minus_cut"]["test_cut"]["n"] == 2  # only the folds both have
    assert carried["missing"] == ["fold 3 test cut"] and cut["missing"] == []
    text = state_modes.markdown(report, "python scripts/state_modes.py")
    assert "**the criterion picks: carried training**" in text
    assert "| carried | carried | %.4f |" % np.mean(VALID_CARRIED["carried"]) in text


def test_nothing_is_chosen_until_both_modes_are_scored_on_the_same_folds(round_results):
    record = write_record(round_results, "dkt", "carried", 4)  # carried training's fold 4, not scored yet
    (entry,) = state_modes.build(str(round_results), [DATASET], ["dkt"])["entries"]
    assert entry["chosen"] is None and "fold 4 valid carried" in entry["cells"]["carried"]["missing"]
    write_scored(round_results, record, "valid", "carried", 0.70)  # cut training has no fold 4
    (entry,) = state_modes.build(str(round_results), [DATASET], ["dkt"])["entries"]
    assert entry["chosen"] is None


def test_a_tie_on_validation_keeps_the_papers_cut(round_results):
    for record in runs.read_records(str(round_results), DATASET):
        if record.get("constants", {}).get("carry_state") is not None:
            write_scored(round_results, record, "valid", "carried", 0.81)
    (entry,) = state_modes.build(str(round_results), [DATASET], ["dkt"])["entries"]
    assert entry["chosen"] == "cut"


def test_the_report_program_renders_and_refuses_an_empty_round(round_results, tmp_path, capsys):
    assert state_modes_script.main(["--results", str(round_results), "--datasets", DATASET, "--render"]) == 0
    assert "the criterion picks: carried training" in (round_results / "state_modes.md").read_text()
    assert run_files.read_json(str(round_results / "state_modes.json"))["entries"][0]["chosen"] == "carried"
    argv = ["--results", str(tmp_path / "empty"), "--datasets", DATASET]
    assert exit_status(lambda: state_modes_script.main(argv)) == 2
    assert "no records of the rows of STATICS" in capsys.readouterr().err


def test_a_run_scored_cut_reproduces_its_summary_and_is_not_scored_twice(tmp_path, capsys):
    run_dir = tiny_run(tmp_path / "runs", "dkt")
    saved = run_files.read_config(run_dir)
    summary = run_files.read_summary(run_dir)
    results = tmp_path / "results"
    record = {"dataset": saved["constants"]["dataset"], "model": "dkt", "fold": 1, "seed": 0,
              "key": "dkt-tiny", "settings_hash": "tiny", "summary": summary, "constants": saved["constants"],
              "run_dir": run_dir}
    path = runs.record_path(str(results), record["dataset"], record["key"])
    os.makedirs(os.path.dirname(path))
    run_files.write_json(path, record)
    argv = [record["dataset"], "--models", "dkt", "--results", str(results), "--states", "cut"]
    assert exit_status(lambda: score_runs.main(argv)) == 2  # not a record of Table 3's settings
    assert scored.read(str(results), record, "test", "cut") is None
    argv.append("--all")
    assert score_runs.main(argv) == 0
    kept = scored.read(str(results), record, "test", "cut")
    # TensorFlow 1.14 scores a restored checkpoint up to ~5e-5 away (tests/test_evaluate.py); another split or
    # state would be further off than that
    assert kept["auc"] == pytest.approx(summary["test_auc"], abs=1e-4)
    assert kept["training_state"] == "cut" and "--carry_state false" in kept["command"]
    capsys.readouterr()
    assert score_runs.main(argv) == 0
    assert capsys.readouterr().out == ""  # already scored: nothing runs

"""Items beside skills: the data reads an item id per answer where the source has one (a csv log's
CSV_ITEM_COLUMN, the raw ASSISTments file's problem_id), and the models that declare READS_ITEMS read it
(IRT: one difficulty per item; Best-LR: the item's bias beside the skill's); the others, and every model on
data without items, read the skill alone as before."""
import json
import os
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import evaluate
import export
import main
import models
import predict
from utils.serving import ServingModel
from utils.trained_model import TrainedModel
from data import (DATA_OPTIONS, DataError, StudentSplit, load_dataset, make_batches, make_sequence,
                  response_log)
from data.dataset import Dataset, unseen_in_training
from utils import run_files
from utils.config import main_constants
from utils.errors import ConfigError
from tiny_runs import load_data

N_SKILLS, ITEMS_PER_SKILL = 3, 4
N_ITEMS = N_SKILLS * ITEMS_PER_SKILL


def log_text(n_students=120, length=15, seed=0):
    """A response log whose items (q<skill>_<i>) differ in easiness inside their skill: the item tells more
    than its skill, and earlier successes on the skill help a little."""
    rng = np.random.RandomState(seed)
    easiness = np.linspace(-2.0, 2.0, N_ITEMS)[rng.permutation(N_ITEMS)].reshape(N_SKILLS, ITEMS_PER_SKILL)
    lines = ["student,skill,item,correct,order"]
    for student in range(n_students):
        successes = np.zeros(N_SKILLS)
        for position in range(length):
            skill, item = rng.randint(N_SKILLS), rng.randint(ITEMS_PER_SKILL)
            p = 1.0 / (1.0 + np.exp(-(easiness[skill, item] + 0.3 * successes[skill] - 0.5)))
            answer = int(rng.rand() < p)
            successes[skill] += answer
            lines.append("u%d,k%d,q%d_%d,%d,%d" % (student, skill, skill, item, answer, position))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("item_log")
    (folder / "log.csv").write_text(log_text())
    return str(folder)


def csv_options(**overrides):
    options = dict(csv_file="log.csv", csv_item_column="item", split_design="holdout", valid_fraction=0.2,
                   test_fraction=0.2)
    options.update(overrides)
    return options


def run_config(log_dir, runs_dir, model, **overrides):
    config = main.constants()
    config.update(dataset="csv", dataset_dir=log_dir, model=model, runs_dir=runs_dir, seq_len=20,
                  batch_size=32, epochs=6, learning_rate=0.1, early_stop_patience=0, threads=1,
                  data_cache=False, **csv_options())
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def runs(log_dir, tmp_path_factory):
    """name -> (run folder, summary): IRT, Best-LR and PFA on the log with its item column, IRT without."""
    runs_dir = str(tmp_path_factory.mktemp("runs"))
    settings = {"irt": ("irt", {}), "best_lr": ("best_lr", {}), "pfa": ("pfa", {}),
                "irt_on_skills": ("irt", {"csv_item_column": ""})}
    return dict((name, main.run(run_config(log_dir, runs_dir, model, **overrides), log=lambda *a: None))
                for name, (model, overrides) in settings.items())


def saved_shapes(run_dir):
    """{variable name: shape} of a run's selected checkpoint."""
    state = run_files.read_json(os.path.join(run_dir, run_files.STATE))
    return dict(tf.train.list_variables(os.path.join(run_dir, state["best_checkpoint"])))


def read_config(run_dir):
    with open(os.path.join(run_dir, run_files.CONFIG)) as handle:
        return json.load(handle)


# -- the data ----------------------------------------------------------------------------------------------

def test_the_item_column_is_read_beside_the_skill(log_dir):
    dataset = load_data("csv", log_dir, **csv_options())
    assert (dataset.n_skills, dataset.n_items) == (N_SKILLS, N_ITEMS)
    assert dataset.item_ids[:5] == ["q0_0", "q0_1", "q0_2", "q0_3", "q1_0"]
    for seq in dataset.train + dataset.valid + dataset.test:
        skills = np.array(dataset.skill_ids)[seq.skills]
        items = np.array(dataset.item_ids)[seq.items]
        assert all(item.startswith("q%s_" % skill[1:]) for skill, item in zip(skills, items))
    assert any(line.startswith("  items: 12 (keyed by column item)") for line in dataset.report)
    without = load_data("csv", log_dir, **csv_options(csv_item_column=""))
    assert without.n_items == 0 and all(seq.items is None for seq in without.train)
    for mine, theirs in zip(dataset.train, without.train):
        np.testing.assert_array_equal(mine.skills, theirs.skills)
        np.testing.assert_array_equal(mine.answers, theirs.answers)


@pytest.mark.parametrize("multi_skill", ["first", "drop", "expand"])
def test_the_fast_path_reads_the_items_the_reference_reads(tmp_path, multi_skill):
    (tmp_path / "log.csv").write_text("student,skill,correct,order,item\n"
                                      "s1,a,1,3,q1\ns1,b,0,1, q3 \ns1,a_b,1,2,q2\ns2,a,0,1,q10\ns2,b,1,2,q2\n"
                                      "s3,a,1,1,q1\ns3,a,1,1,q1\ns4,b,0,3,3\ns4,a,1,1,3.0\ns5,b,1,1,q1\n")
    options = csv_options(csv_skill_separator="_", multi_skill=multi_skill)
    fast = load_data("csv", str(tmp_path), **options)
    split = StudentSplit("holdout", 0, 1, 1, 0, 0.2, 0.2)
    reference = response_log.load_response_log_reference(
        str(tmp_path), split, "log.csv", "student", "skill", "correct", "order", "", "_", multi_skill, 1,
        "item")
    assert fast.item_ids == reference.item_ids and fast.report == reference.report
    assert fast.fingerprint == reference.fingerprint
    for mine, theirs in zip(fast.train + fast.valid + fast.test,
                            reference.train + reference.valid + reference.test):
        np.testing.assert_array_equal(mine.items, theirs.items)
        np.testing.assert_array_equal(mine.skills, theirs.skills)


def test_a_cached_dataset_keeps_its_items(log_dir, tmp_path):
    options = dict((name, value) for name, value in main.constants().items()
                   if name in DATA_OPTIONS and name not in ("dataset", "dataset_dir"))
    options.update(csv_options())
    fresh = load_dataset("csv", log_dir, cache_dir=str(tmp_path), **options)
    cached = load_dataset("csv", log_dir, cache_dir=str(tmp_path), **options)
    assert "from the cache" in cached.report[-1]
    assert cached.item_ids == fresh.item_ids
    for mine, theirs in zip(cached.test, fresh.test):
        np.testing.assert_array_equal(mine.items, theirs.items)


ASSIST = ("order_id,user_id,problem_id,original,correct,skill_id,skill_name\n"
          "1,1,100,1,1,10,Add\n2,1,101,1,0,10,Add\n3,1,102,1,1,11,Sub\n4,2,100,1,0,10,Add\n"
          "5,2,103,1,1,11,Sub\n6,3,101,1,1,10,Add\n7,4,102,1,0,11,Sub\n8,5,100,1,1,10,Add\n")


def test_assistments_problem_id_is_the_item_beside_the_skill(tmp_path):
    (tmp_path / "skill_builder_data.csv").write_text(ASSIST)
    dataset = load_data("assistments", str(tmp_path), split_design="holdout", valid_fraction=0.0,
                        test_fraction=0.0)
    assert dataset.skill_ids == ["10", "11"] and dataset.item_ids == ["100", "101", "102", "103"]
    first = dataset.train[0]
    assert (first.student, first.skills.tolist(), first.items.tolist()) == ("1", [0, 0, 1], [0, 1, 2])
    keyed_by_problem = load_data("assistments", str(tmp_path), skill_key="problem_id",
                                 split_design="holdout")
    assert keyed_by_problem.n_items == 0  # the problem is the skill: no second id
    (tmp_path / "skill_builder_data.csv").write_text(ASSIST.replace("problem_id,", "").replace(
        ",100,", ",").replace(",101,", ",").replace(",102,", ",").replace(",103,", ","))
    assert load_data("assistments", str(tmp_path), split_design="holdout").n_items == 0


def test_batches_carry_the_items_of_sequences_that_have_them():
    with_items = [make_sequence("a", [0, 1, 2], [1, 0, 1], items=[5, 6, 7]), make_sequence("b", [1], [0],
                                                                                          items=[4])]
    batch = list(make_batches(with_items, seq_len=2, batch_size=3))[0]
    np.testing.assert_array_equal(batch.items, [[5, 6], [7, 0], [4, 0]])
    without = [make_sequence("a", [0, 1], [1, 0])]
    assert list(make_batches(without, seq_len=2, batch_size=3))[0].items is None


# -- the graph ---------------------------------------------------------------------------------------------

def test_only_a_model_that_reads_items_gets_them():
    for model_name, reads in (("irt", True), ("best_lr", True), ("pfa", False), ("bkt", False),
                              ("dkt", False), ("dkvmn", False)):
        with tf.Graph().as_default():
            kt = models.build_graph(model_name, N_SKILLS, main_constants(), n_items=N_ITEMS)
            assert (kt.items is not None, kt.n_items) == (reads, N_ITEMS if reads else 0), model_name
        with tf.Graph().as_default():  # without items: the graph of a skill-only data set, as ever
            kt = models.build_graph(model_name, N_SKILLS, main_constants())
            assert (kt.items, kt.n_items) == (None, 0)


@pytest.mark.parametrize("model_name", ["irt", "best_lr"])
def test_an_item_graph_never_sees_its_own_or_a_later_answer(model_name):
    skills = np.array([[0, 1, 0, 0, 2, 1, 0, 2]], np.int32)
    items = np.array([[0, 3, 1, 0, 5, 4, 2, 5]], np.int32)
    answers = np.array([[1, 0, 0, 1, 1, 0, 1, 0]], np.int32)
    with tf.Graph().as_default(), tf.Session() as sess:
        kt = models.build_graph(model_name, 3, main_constants(), n_items=6)
        rng = np.random.RandomState(0)
        sess.run(tf.global_variables_initializer())
        sess.run([tf.assign(v, rng.uniform(0.05, 0.6, size=v.shape.as_list()).astype(np.float32))
                  for v in tf.trainable_variables()])
        before = sess.run(kt.p, {kt.skills: skills, kt.items: items, kt.answers: answers})
        reversed_items = items[:, ::-1].copy()
        other_items = sess.run(kt.p, {kt.skills: skills, kt.items: reversed_items, kt.answers: answers})
        assert np.abs(other_items - before).max() > 1e-4  # the item is read
        for t in range(skills.shape[1]):
            flipped = answers.copy()
            flipped[0, t] = 1 - flipped[0, t]
            after = sess.run(kt.p, {kt.skills: skills, kt.items: items, kt.answers: flipped})
            np.testing.assert_array_equal(after[0, :t + 1], before[0, :t + 1])


# -- runs --------------------------------------------------------------------------------------------------

def test_irt_on_items_has_one_difficulty_per_item(runs):
    run_dir, summary = runs["irt"]
    assert saved_shapes(run_dir)["irt/difficulty"] == [N_ITEMS]
    assert summary["num_parameters"] == N_ITEMS + 1
    assert read_config(run_dir)["n_items"] == N_ITEMS
    assert run_files.read_item_ids(run_dir, N_ITEMS)[:2] == ["q0_0", "q0_1"]
    skill_dir, on_skills = runs["irt_on_skills"]
    assert saved_shapes(skill_dir)["irt/difficulty"] == [N_SKILLS]
    assert read_config(skill_dir)["n_items"] == 0 and not os.path.exists(os.path.join(skill_dir, "items.csv"))
    assert summary["test_auc"] > on_skills["test_auc"] + 0.05  # the items differ inside their skill


def test_best_lr_reads_the_item_and_the_skill(runs):
    run_dir, summary = runs["best_lr"]
    shapes = saved_shapes(run_dir)
    assert shapes["best_lr/item_bias"] == [N_ITEMS]
    assert [shapes["best_lr/" + name] for name in ("bias", "attempts_weight", "successes_weight")] == [
        [N_SKILLS]] * 3
    assert summary["test_auc"] > runs["irt_on_skills"][1]["test_auc"] + 0.05


def test_pfa_counts_per_skill_on_data_with_items(runs):
    run_dir, _ = runs["pfa"]
    assert read_config(run_dir)["n_items"] == 0
    assert saved_shapes(run_dir)["pfa/easiness"] == [N_SKILLS]


def test_evaluate_scores_an_item_run_and_the_others_refuse_it_clearly(runs):
    run_dir, summary = runs["irt"]
    _, metrics = evaluate.evaluate(run_dir, [], log=lambda *a: None)
    assert metrics["auc"] == pytest.approx(summary["test_auc"], abs=1e-9)
    with pytest.raises(DataError, match="has no item ids, and the run's model reads them"):
        evaluate.evaluate(run_dir, ["--csv_item_column", ""], log=lambda *a: None)
    with pytest.raises(ConfigError, match="reads item ids \\(12 items\\), and the serving graph"):
        export.export(run_dir, ["--out", os.path.join(run_dir, "export")], log=lambda *a: None)
    assert not os.path.exists(os.path.join(run_dir, "export"))
    with pytest.raises(ConfigError, match="knowledge state per skill"):
        predict.predict(run_dir, ["--split", "test"], log=lambda *a: None)


@pytest.mark.parametrize("cell, expected", [
    ("", ":5 \\(column item\\): empty item id \\(1 rows\\): give every answer its item, or leave "
         "CSV_ITEM_COLUMN empty"),
    (None, "CSV_ITEM_COLUMN names the column skill, which is already the skill column")])
def test_a_bad_item_column_is_one_error_line(tmp_path, capsys, cell, expected):
    rows = log_text(n_students=4, length=3).splitlines()
    fields = rows[4].split(",")
    fields[2] = cell if cell is not None else fields[2]
    rows[4] = ",".join(fields)
    (tmp_path / "log.csv").write_text("\n".join(rows) + "\n")
    runs_dir = tmp_path / "runs"
    argv = ["--dataset", "csv", "--dataset_dir", str(tmp_path), "--csv_file", "log.csv", "--model", "irt",
            "--runs_dir", str(runs_dir), "--csv_item_column", "item" if cell is not None else "skill"]
    assert main.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert re.search(expected, err), err
    assert not runs_dir.exists()


def test_ednet_tags_read_the_question_as_the_item(tmp_path):
    from test_data_ednet import write_questions, write_user
    write_questions(tmp_path)  # q1 has tags 1;2, q2 tag 3, q10 tags 2;3;5
    write_user(tmp_path, 1, [(1, "q1", "a"), (2, "q10", "c"), (3, "q2", "b"), (4, "q10", "a")])
    split = dict(split_design="holdout", valid_fraction=0.0, test_fraction=0.0)
    dataset = load_data("ednet", str(tmp_path), ednet_skill="tags", multi_skill="expand", **split)
    (seq,) = dataset.train
    assert [dataset.skill_ids[s] for s in seq.skills] == ["1", "2", "2", "3", "5", "3", "2", "3", "5"]
    assert [dataset.item_ids[i] for i in seq.items] == ["q1"] * 2 + ["q10"] * 3 + ["q2"] + ["q10"] * 3
    assert load_data("ednet", str(tmp_path), ednet_skill="question", **split).n_items == 0


@pytest.mark.parametrize("name", ["irt", "best_lr"])
def test_an_item_run_is_scored_over_whole_histories_too(runs, name):
    """--carry_state reads each whole history as one chunk of the run's graph: with histories no longer than
    SEQ_LEN (here), the same predictions as the chunked scoring."""
    run_dir, _ = runs[name]
    chunked_dir, chunked = evaluate.evaluate(run_dir, [], log=lambda *a: None)
    carried_dir, carried = evaluate.evaluate(run_dir, ["--carry_state", "true"], log=lambda *a: None)
    assert carried["carry_state"] is True
    np.testing.assert_allclose(run_files.read_predictions(carried_dir)["p"],
                               run_files.read_predictions(chunked_dir)["p"], atol=1e-6)


def test_whole_history_scoring_is_what_the_serving_graph_carries(log_dir, tmp_path):
    """A run without items, scored both ways over whole histories longer than SEQ_LEN: the graph on each whole
    history gives the serving graph's carried predictions (and differs from the chunked ones)."""
    run_dir, _ = main.run(run_config(log_dir, str(tmp_path), "best_lr", csv_item_column="", seq_len=4,
                                     epochs=2), log=lambda *a: None)
    dataset = load_data("csv", log_dir, **csv_options(csv_item_column=""))
    with TrainedModel(run_dir) as model:
        whole = model.whole_history_predictions(dataset.test, 7)
        with ServingModel(model) as serving:
            carried = serving.carried_predictions(dataset.test, 32)
    np.testing.assert_allclose(whole["p"], carried["p"], atol=1e-5)
    chunked_dir, _ = evaluate.evaluate(run_dir, [], log=lambda *a: None)
    chunked = run_files.read_predictions(chunked_dir)
    np.testing.assert_array_equal(chunked["position"], whole["position"])
    assert np.abs(chunked["p"] - whole["p"]).max() > 1e-3  # SEQ_LEN 4 forgets what the whole history counts


def test_items_never_answered_in_training_are_counted_and_reported(runs):
    train = [make_sequence("a", [0, 1], [1, 0], items=[0, 1])]
    test = [make_sequence("b", [0, 1, 1], [1, 0, 1], items=[0, 2, 2])]
    dataset = Dataset("toy", 2, ["k0", "k1"], ["k0", "k1"], None, train, [], test, [], "", item_ids=[
        "q0", "q1", "q2"])
    assert unseen_in_training(dataset, items=True) == {"valid": (0, 0), "test": (1, 2)}
    assert unseen_in_training(dataset) == {"valid": (0, 0), "test": (0, 0)}  # every skill was trained
    assert runs["irt"][1]["test_unseen_items"] == 0 and runs["best_lr"][1]["test_unseen_item_answers"] == 0
    assert "test_unseen_items" not in runs["pfa"][1]  # it reads no item

"""The classical baselines (models/irt.py, pfa.py, best_lr.py, bkt.py; utils/bkt_fit.py): what they count,
that they learn, that BKT's fit stays a set of probabilities, and that their runs are ordinary run folders."""
import os
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import evaluate
import main
import models
from data import make_sequence
from models import answer_counts
from utils import run_files
from utils.config import main_constants

pytest.importorskip("hmmlearn")  # BKT's fit; installed by requirements.txt and requirements-tf1.14.txt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import compare  # noqa: E402
from utils import bkt_fit  # noqa: E402

BASELINES = ("irt", "pfa", "best_lr", "bkt")
N_IDS = 6           # ids 1..6 are answered by everyone
UNSEEN_ID = 7       # answered in the test file only
ONE_ANSWER_ID = 8   # answered once, in the training file


def students(rng, n_students, length):
    """Answers of a learning process: P(correct) = sigmoid(easiness[q] + 0.5 successes - 0.1 failures) on
    the id q answered, counting the student's earlier answers on q (what PFA and BKT can model)."""
    easiness = np.linspace(-1.5, 1.0, N_IDS)
    result = []
    for _ in range(n_students):
        ids = rng.randint(1, N_IDS + 1, size=length)
        successes, failures = np.zeros(N_IDS + 1), np.zeros(N_IDS + 1)
        answers = []
        for q in ids:
            p = 1.0 / (1.0 + np.exp(-(easiness[q - 1] + 0.5 * successes[q] - 0.1 * failures[q])))
            y = int(rng.rand() < p)
            successes[q] += y
            failures[q] += 1 - y
            answers.append(y)
        result.append((list(ids), answers))
    return result


def write_three_line(path, rows):
    with open(path, "w") as f:
        for ids, answers in rows:
            f.write("%d\n%s\n%s\n" % (len(ids), ",".join(map(str, ids)), ",".join(map(str, answers))))


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory):
    """Three-line files of the learning process, with one id seen only in the test file and one id answered
    once in training."""
    folder = tmp_path_factory.mktemp("toy")
    rng = np.random.RandomState(0)
    train = students(rng, 160, 20)
    train[0] = (train[0][0] + [ONE_ANSWER_ID], train[0][1] + [1])
    test = students(rng, 60, 20)
    test[0] = (test[0][0] + [UNSEEN_ID, UNSEEN_ID], test[0][1] + [0, 1])
    write_three_line(str(folder / "toy_train1.csv"), train)
    write_three_line(str(folder / "toy_valid1.csv"), students(rng, 60, 20))
    write_three_line(str(folder / "toy_test.csv"), test)
    return str(folder)


def toy_config(toy_dir, runs_dir, model, **overrides):
    config = main.constants()
    # SEQ_LEN 30 > the longest history (22): the chunked and the carried scoring see the same answers
    config.update(dataset="toy", dataset_dir=toy_dir, model=model, runs_dir=runs_dir, seq_len=30,
                  batch_size=32, epochs=8, learning_rate=0.1, early_stop_patience=3, threads=1)
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def baseline_runs(toy_dir, tmp_path_factory):
    """model -> (run folder, summary, log lines) of one run of each baseline on the toy files."""
    runs_dir = str(tmp_path_factory.mktemp("runs"))
    runs = {}
    for model in BASELINES:
        lines = []
        run_dir, summary = main.run(toy_config(toy_dir, runs_dir, model), log=lines.append)
        runs[model] = (run_dir, summary, lines)
    return runs


# -- what the regressions count -----------------------------------------------------------------------------

def test_prior_counts_are_the_answers_before_each_position():
    rng = np.random.RandomState(1)
    skills = rng.randint(0, 3, size=(2, 9)).astype(np.int32)
    answers = rng.randint(0, 2, size=(2, 9)).astype(np.int32)
    with tf.Graph().as_default(), tf.Session() as sess:
        got = sess.run(answer_counts.prior_counts(tf.constant(skills), tf.constant(answers)))
    for b in range(2):
        for t in range(9):
            earlier = slice(0, t)
            same = skills[b, earlier] == skills[b, t]
            assert got.successes[b, t] == np.sum(same & (answers[b, earlier] == 1))
            assert got.failures[b, t] == np.sum(same & (answers[b, earlier] == 0))
            assert got.total_successes[b, t] == np.sum(answers[b, earlier] == 1)
            assert got.total_failures[b, t] == np.sum(answers[b, earlier] == 0)


def random_weights_graph(model_name, n_skills, seed=0):
    """A baseline's graph with random weights (probabilities in (0, 1) for BKT), and its session."""
    graph = tf.Graph()
    with graph.as_default():
        kt = models.build_graph(model_name, n_skills, main_constants())
        rng = np.random.RandomState(seed)
        assigns = [tf.assign(v, rng.uniform(0.05, 0.6, size=v.shape.as_list()).astype(np.float32))
                   for v in tf.trainable_variables()]
        sess = tf.Session(graph=graph)
        sess.run(tf.global_variables_initializer())
        sess.run(assigns)
    return kt, sess


@pytest.mark.parametrize("model_name", BASELINES)
def test_no_prediction_sees_its_own_or_a_later_answer(model_name):
    """Changing the answer at t changes no prediction at positions <= t; it does change a later one (except
    IRT's, which reads no history)."""
    skills = np.array([[0, 1, 0, 0, 2, 1, 0, 2]], np.int32)
    answers = np.array([[1, 0, 0, 1, 1, 0, 1, 0]], np.int32)
    kt, sess = random_weights_graph(model_name, 3)
    with sess:
        before = sess.run(kt.p, {kt.skills: skills, kt.answers: answers})
        for t in range(skills.shape[1]):
            flipped = answers.copy()
            flipped[0, t] = 1 - flipped[0, t]
            after = sess.run(kt.p, {kt.skills: skills, kt.answers: flipped})
            np.testing.assert_array_equal(after[0, :t + 1], before[0, :t + 1])
            if models.reads_history(model_name) and t < 3:
                assert np.abs(after[0, t + 1:] - before[0, t + 1:]).max() > 1e-4


# -- BKT's fit ---------------------------------------------------------------------------------------------

def toy_sequences():
    rng = np.random.RandomState(2)
    sequences = [make_sequence("s%d" % i, np.array(ids) - 1, answers)
                 for i, (ids, answers) in enumerate(students(rng, 80, 15))]
    sequences.append(make_sequence("one", [ONE_ANSWER_ID - 1], [1]))  # a skill with one answer
    return sequences


@pytest.mark.parametrize("forgetting", [False, True])
def test_bkt_parameters_stay_probabilities_and_thin_skills_are_pooled(forgetting):
    n_skills = ONE_ANSWER_ID + 1  # index 6 (id 7) is never answered
    parameters, report = bkt_fit.fit_bkt(toy_sequences(), n_skills, seq_len=10, forgetting=forgetting)
    for name in models.bkt.PARAMETERS:
        assert parameters[name].shape == (n_skills,)
        assert np.all((parameters[name] >= 0) & (parameters[name] <= 1)), name
    if not forgetting:  # a transition probability of 0 stays 0 under EM
        assert np.all(parameters["forget"] == 0)
    assert report["skills_fitted"] == N_IDS
    assert (report["skills_pooled"], report["answers_pooled"], report["skills_unseen"]) == (1, 1, 2)
    # the fitted skills learn: a correct answer is likelier once known than by a guess
    assert np.all(1 - parameters["slip"][:N_IDS] > parameters["guess"][:N_IDS])


def test_bkt_without_hmmlearn_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "hmmlearn", None)  # makes `from hmmlearn import hmm` raise ImportError
    with pytest.raises(main.ConfigError, match="hmmlearn.*requirements.txt"):
        bkt_fit.hmm_module()


# -- runs ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model_name", BASELINES)
def test_each_baseline_beats_a_constant_predictor(baseline_runs, model_name):
    _, summary, _ = baseline_runs[model_name]
    assert summary["test_auc_ci_low"] > 0.5, summary  # a constant predictor's AUC is 0.5
    assert summary["test_auc"] > 0.6, summary


def test_pfa_and_bkt_learn_what_irt_cannot(baseline_runs):
    """The process rewards earlier successes: a model of the history beats the id alone."""
    irt = baseline_runs["irt"][1]["test_auc"]
    for model_name in ("pfa", "best_lr", "bkt"):
        assert baseline_runs[model_name][1]["test_auc"] > irt + 0.01, model_name


def test_a_bkt_run_says_it_fitted_both_settings(baseline_runs):
    """BKT's two epochs are its two EM fits (without, with forgetting): that, not an early stop, ends it."""
    _, summary, lines = baseline_runs["bkt"]
    assert summary["epochs_run"] == len(bkt_fit.FORGETTING) == 2
    assert summary["stopped"].startswith("both BKT settings fitted (EM without and with forgetting)")
    assert any(line.startswith("training ended after epoch 2: both BKT settings fitted") for line in lines)
    cut_short = bkt_fit.BktTrainer.__new__(bkt_fit.BktTrainer)  # its reasons read the config alone
    cut_short.config = {"epochs": 1, "early_stop_patience": 0}
    assert cut_short.why_training_ended({"epoch": 1, "best_epoch": 1}) == (
        "the epoch limit (EPOCHS = 1); BKT with forgetting was not fitted (it is epoch 2)")
    assert cut_short.stopped({"epoch": 1, "best_epoch": 1}) is None


@pytest.mark.parametrize("model_name", BASELINES)
def test_an_id_never_seen_in_training_is_counted_and_reported(baseline_runs, model_name):
    run_dir, summary, lines = baseline_runs[model_name]
    assert (summary["test_unseen_ids"], summary["test_unseen_id_answers"]) == (1, 2)
    assert any(line.startswith("test: 1 ids (2 answers) never answered in training") for line in lines)
    if model_name == "bkt":
        assert any("1 skills with fewer than" in line for line in lines)


@pytest.mark.parametrize("model_name", BASELINES)
def test_evaluate_reads_a_baseline_run_chunked_and_carried(baseline_runs, model_name):
    """evaluate.py reproduces summary.json, and with the state carried over whole histories (here no longer
    than SEQ_LEN) gives the same predictions: the serving state (the counts, BKT's K) matches the graph."""
    run_dir, summary, _ = baseline_runs[model_name]
    chunked_dir, chunked = evaluate.evaluate(run_dir, [], log=lambda *a: None)
    carried_dir, carried = evaluate.evaluate(run_dir, ["--carry_state", "true"], log=lambda *a: None)
    assert chunked["auc"] == pytest.approx(summary["test_auc"], abs=1e-9)
    a = run_files.read_predictions(chunked_dir)
    b = run_files.read_predictions(carried_dir)
    np.testing.assert_allclose(b["p"], a["p"], atol=1e-5)
    assert carried["carry_state"] is True


def test_the_state_counts_the_whole_history_when_carried(toy_dir, tmp_path):
    """With SEQ_LEN shorter than the histories, the carried scoring counts answers the chunks forget."""
    run_dir, summary = main.run(toy_config(toy_dir, str(tmp_path), "pfa", seq_len=5, epochs=2),
                                log=lambda *a: None)
    _, chunked = evaluate.evaluate(run_dir, [], log=lambda *a: None)
    _, carried = evaluate.evaluate(run_dir, ["--carry_state", "true"], log=lambda *a: None)
    assert chunked["auc"] == pytest.approx(summary["test_auc"], abs=1e-9)
    assert carried["auc"] != pytest.approx(chunked["auc"], abs=1e-6)


def test_compare_reads_baseline_runs(baseline_runs, capsys):
    assert compare.main([baseline_runs["pfa"][0], baseline_runs["bkt"][0], "--resamples", "50"]) == 0
    assert "A - B" in capsys.readouterr().out

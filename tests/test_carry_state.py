"""Training and scoring with the state carried over SEQ_LEN chunks (main.py CARRY_STATE): the lanes of
data.carried_batches, the models' carried recurrences, and a carried run end to end (selection, summary.json,
predict.py against the export's predict_history past SEQ_LEN).

What carried training can and cannot equal. Carried over its chunks, a history gives every p that one long
sequence gives, at the same weights (tested below, through the lanes, for both models). The training step is
truncated backpropagation through time: a chunk's loss is differentiated with respect to the weights through
that chunk only, the state it starts from being a value (the previous chunk's end), so its gradient is not
the long sequence's, whose loss at a position also reaches the earlier chunks' steps; and the weights change
between a student's chunks, which one long sequence does not see. So the gradient test compares the carried
recurrences with autodiff of the same truncated computation (the readable reference, started from the same
state held constant), not with the long sequence's gradient.
"""
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import main
import models
import predict
from data import carried_batches, load_from_config, make_batches, make_sequence
from models import lstm, memory
from tiny_runs import quiet, tiny_config
from utils.config import ConfigError
from utils.metrics import binary_metrics
from utils.serving import ServingModel
from utils.trained_model import CarriedEvaluationBatches, EvaluationBatches, TrainedModel, predict_batches
from utils.training import Trainer, training_batches

N_SKILLS = 7
SEQ_LEN = 4
HPARAMS = dict(memory_size=3, key_dim=4, value_dim=5, final_dim=4, key_projection=False, hidden_size=6,
               dkt_embedding_size=0, dropout=0.0, init_std=0.5, optimizer="adam", learning_rate=0.01,
               momentum=0.9, max_grad_norm=0.0, loss_scale="mean")


def students(lengths, seed=0):
    rng = np.random.RandomState(seed)
    return [make_sequence("s%d" % i, rng.randint(0, N_SKILLS, n), rng.randint(0, 2, n))
            for i, n in enumerate(lengths)]


def by_position(predictions):
    return dict(((s, int(t)), p) for s, t, p in zip(predictions["student"], predictions["position"],
                                                   predictions["p"]))


# -- the lanes --------------------------------------------------------------------------------------------

def test_lanes_walk_each_students_chunks_in_order_and_keep_the_batch_full():
    sequences = students([11, 4, 9, 1, 13, 0, 8, 3, 17, 5])
    batches = list(carried_batches(sequences, SEQ_LEN, 3, shuffle=True, seed=5))
    seen, lane_of, next_offset = [], {}, {}
    for number, batch in enumerate(batches):
        assert list(batch.lanes) == sorted(set(batch.lanes))  # one row per busy lane
        for row, (student, offset, lane, reset) in enumerate(zip(batch.students, batch.offsets, batch.lanes,
                                                               batch.reset)):
            seen.append((student, int(offset)))
            assert reset == (offset == 0)
            if offset:  # a continuing row: the same lane, in the very next batch, the next chunk
                assert lane_of[student] == (lane, number - 1) and next_offset[student] == offset
                assert batch.mask[row].sum() > 0
            lane_of[student], next_offset[student] = (lane, number), offset + SEQ_LEN
            if offset + SEQ_LEN < len(sequences[int(student[1:])].skills):
                assert batch.skills.shape[1] == SEQ_LEN  # it continues: its final state is after SEQ_LEN
    chunks = [(student, int(offset)) for b in make_batches(sequences, SEQ_LEN, 100)
              for student, offset in zip(b.students, b.offsets)]
    assert sorted(seen) == sorted(chunks)  # every chunk exactly once
    rows = [len(b.lanes) for b in batches]
    first_short = next(i for i, n in enumerate(rows) if n < 3)
    assert all(n < 3 for n in rows[first_short:])  # only the tail, once the queue is empty, holds fewer rows

    again = list(carried_batches(sequences, SEQ_LEN, 3, shuffle=True, seed=5))
    other = list(carried_batches(sequences, SEQ_LEN, 3, shuffle=True, seed=6))
    assert [b.students for b in again] == [b.students for b in batches]
    assert [b.students for b in other] != [b.students for b in batches]


def test_an_epochs_carried_batches_depend_on_seed_and_epoch_alone():
    sequences = students([11, 4, 9, 1, 13, 8, 3, 17, 5])
    config = dict(seed=3, seq_len=SEQ_LEN, batch_size=2, carry_state=True)
    def plan(epoch):
        return [(b.students, b.offsets.tolist(), b.reset.tolist())
                for b in training_batches(config, sequences, epoch)]
    assert plan(2) == plan(2) and plan(2) != plan(3)


# -- the models -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_parts", [1, 2])
@pytest.mark.parametrize("model", ["dkvmn", "dkt"])
def test_carried_chunks_predict_what_one_long_sequence_does(model, batch_parts):
    sequences = students([11, 4, 9, 1, 13, 8])
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        kt = models.build_graph(model, N_SKILLS, HPARAMS, batch_parts=batch_parts, carry_state=True)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            whole = by_position(predict_batches(session, kt, EvaluationBatches(sequences, 100, 6)))
            lanes = CarriedEvaluationBatches(sequences, SEQ_LEN, 2)
            carried = by_position(predict_batches(session, kt, lanes))
            cut = by_position(predict_batches(session, kt, EvaluationBatches(sequences, SEQ_LEN, 6)))
    assert sorted(carried) == sorted(whole)
    np.testing.assert_allclose([carried[k] for k in sorted(whole)], [whole[k] for k in sorted(whole)],
                               atol=1e-5)
    past = [k for k in whole if k[1] >= SEQ_LEN]
    assert max(abs(cut[k] - whole[k]) for k in past) > 1e-3  # the cut differs there: the test can fail


def reference_memory(w, e, a, memory_0):
    """r and M_T of the plain recurrence (models.memory.write) from each row's own memory_0."""
    def step(carry, inputs):
        state, _ = carry
        w_t, e_t, a_t = inputs
        return memory.write(state, w_t, e_t, a_t), tf.einsum("bn,bnd->bd", w_t, state)
    time_major = [tf.transpose(x, [1, 0, 2]) for x in (w, e, a)]
    states, reads = tf.scan(step, time_major, initializer=(memory_0, tf.zeros_like(memory_0[:, 0])))
    return tf.transpose(reads, [1, 0, 2]), states[-1]


def reference_lstm(gate_table, indices, kernel, h_0, c_0):
    """states (h_{t-1} at t), h_T, c_T of lstm.lstm_step from each row's own (h_0, c_0)."""
    def step(carry, rows):
        h, c = carry
        return lstm.lstm_step(tf.gather(gate_table, rows), h, c, kernel)
    hs, cs = tf.scan(step, tf.transpose(indices), initializer=(h_0, c_0))
    states = tf.concat([h_0[None], hs[:-1]], axis=0)
    return tf.transpose(states, [1, 0, 2]), hs[-1], cs[-1]


@pytest.mark.parametrize("batch_parts", [1, 2])
def test_carried_memory_gradient_is_autodiff_of_the_truncated_recurrence(batch_parts):
    rng = np.random.RandomState(0)
    b, t, n, d = 3, 5, 3, 4
    w = tf.constant(rng.dirichlet(np.ones(n), (b, t)))
    e = tf.constant(rng.uniform(0, 1, (b, t, d)))
    a = tf.constant(rng.uniform(-1, 1, (b, t, d)))
    memory_0 = tf.constant(rng.normal(size=(b, n, d)))
    weights = tf.constant(rng.normal(size=(b, t, d)))
    reads, final = memory.value_memory_reads_carried(w, e, a, memory_0, batch_parts=batch_parts)
    ref_reads, ref_final = reference_memory(w, e, a, memory_0)
    grads = tf.gradients(tf.reduce_sum(reads * weights) + tf.reduce_sum(final), [w, e, a, memory_0])
    ref_grads = tf.gradients(tf.reduce_sum(ref_reads * weights) + tf.reduce_sum(tf.stop_gradient(ref_final)),
                             [w, e, a, memory_0])
    with tf.Session() as session:
        got, want = session.run([[reads, final] + grads, [ref_reads, ref_final] + ref_grads])
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, atol=1e-10)


@pytest.mark.parametrize("batch_parts", [1, 2])
def test_carried_lstm_gradient_is_autodiff_of_the_truncated_recurrence(batch_parts):
    rng = np.random.RandomState(1)
    b, t, h = 3, 5, 4
    table = tf.constant(rng.normal(size=(6, 4 * h)))
    kernel = tf.constant(rng.normal(size=(h, 4 * h)) * 0.5)
    indices = tf.constant(rng.randint(0, 6, (b, t)).astype(np.int32))
    h_0, c_0 = tf.constant(rng.normal(size=(b, h))), tf.constant(rng.normal(size=(b, h)))
    weights = tf.constant(rng.normal(size=(b, t, h)))
    states, final_h, final_c = lstm.lstm_hidden_states_carried(table, indices, kernel, h_0, c_0,
                                                               batch_parts=batch_parts)
    ref_states, ref_h, ref_c = reference_lstm(table, indices, kernel, tf.stop_gradient(h_0),
                                              tf.stop_gradient(c_0))
    grads = tf.gradients(tf.reduce_sum(states * weights), [table, kernel])
    ref_grads = [tf.convert_to_tensor(g) for g in tf.gradients(tf.reduce_sum(ref_states * weights),
                                                               [table, kernel])]  # dense, not IndexedSlices
    assert tf.gradients(tf.reduce_sum(states), [h_0, c_0]) == [None, None]  # truncated at the chunk's start
    with tf.Session() as session:
        got, want = session.run([[states, final_h, final_c] + grads, [ref_states, ref_h, ref_c] + ref_grads])
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, atol=1e-10)


def test_a_model_that_cannot_carry_its_state_is_refused(tmp_path):
    for model in ("irt", "bkt"):
        with pytest.raises(ConfigError, match="--carry_state true needs a model whose state"):
            main.run(tiny_config(model=model, carry_state=True, runs_dir=str(tmp_path)), log=quiet)
    assert not os.listdir(str(tmp_path))  # refused before any run folder


# -- a carried run end to end -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def carried_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("carried")
    runs = {}
    for model in ("dkvmn", "dkt"):
        run_dir, summary = main.run(tiny_config(model=model, carry_state=True, epochs=2, runs_dir=str(root)),
                                    log=quiet)
        runs[model] = (run_dir, summary)
    return runs


@pytest.mark.parametrize("model", ["dkvmn", "dkt"])
def test_a_carried_run_says_so_and_selects_on_validation_carried(carried_runs, model):
    run_dir, summary = carried_runs[model]
    with open(os.path.join(run_dir, "config.json")) as f:
        assert json.load(f)["constants"]["carry_state"] is True
    assert summary["state"] == "carried"
    # the selected epoch's validation AUC is that of the lanes' carried scoring, whose p are the export's
    # predict_history over whole histories; the cut scoring differs past SEQ_LEN
    with TrainedModel(run_dir) as trained, ServingModel(trained) as serving:
        valid = load_from_config(trained.config).valid
        exported = serving.carried_predictions(valid, 16)
        assert serving.description()["training_state"] == "carried"  # export.json says so
        cut = trained.predict(EvaluationBatches(valid, trained.config["seq_len"], 16))
        graph = tf.Graph()
        with graph.as_default(), tf.Session() as session:
            kt = models.build_graph(model, trained.n_skills, trained.config, carry_state=True)
            tf.train.Saver().restore(session, os.path.join(run_dir, trained.checkpoint))
            scoring = CarriedEvaluationBatches(valid, trained.config["seq_len"], 32)  # as the Trainer's
            lanes = predict_batches(session, kt, scoring)
    assert binary_metrics(lanes["answer"], lanes["p"])["auc"] == pytest.approx(summary["valid_auc"],
                                                                               abs=1e-12)
    assert list(lanes["student"]) == list(exported["student"])
    assert list(lanes["position"]) == list(exported["position"])
    np.testing.assert_allclose(lanes["p"], exported["p"], atol=1e-5)
    assert list(cut["position"]) == list(lanes["position"])
    past = cut["position"] >= trained.config["seq_len"]
    assert np.abs(cut["p"] - lanes["p"])[past].max() > 1e-4  # what the cut scores differs: the test can fail


@pytest.mark.parametrize("model", ["dkvmn", "dkt"])
def test_predict_gives_the_exports_numbers_past_seq_len_for_a_carried_run(carried_runs, model, tmp_path):
    run_dir, _ = carried_runs[model]
    _, result = predict.predict(run_dir, ["--split", "test", "--out", str(tmp_path / "p.csv")], log=quiet)
    with TrainedModel(run_dir) as trained, ServingModel(trained) as serving:
        test = load_from_config(trained.config).test
        exported = serving.carried_predictions(test, 16)
        _, cut = predict.predict(run_dir, ["--split", "test", "--carry_state", "false", "--out",
                                           str(tmp_path / "cut.csv")], log=quiet, model=trained)
    seq_len = trained.config["seq_len"]
    assert max(len(seq.skills) for seq in test) > seq_len
    got, want, cut_p = by_position(result), by_position(exported), by_position(cut)
    assert sorted(got) == sorted(want)
    np.testing.assert_allclose([got[k] for k in sorted(want)], [want[k] for k in sorted(want)], atol=1e-5)
    past = [k for k in want if k[1] >= seq_len]
    assert max(abs(cut_p[k] - want[k]) for k in past) > 1e-4  # the run's cut mode differs there


def test_a_carried_run_killed_in_an_epoch_resumes_to_the_same_result(tmp_path, monkeypatch):
    config = tiny_config(model="dkt", carry_state=True, epochs=2)
    _, straight = main.run(dict(config, runs_dir=str(tmp_path / "straight")), log=quiet)
    steps_in_epoch_1 = len(training_batches(config, load_from_config(config).train, 1))
    real_step = Trainer._train_step

    def dies_in_epoch_2(self, batch, learning_rate):
        if self.session.run(self.model.global_step) >= steps_in_epoch_1 + 1:  # after a carried step
            raise KeyboardInterrupt
        return real_step(self, batch, learning_rate)

    monkeypatch.setattr(Trainer, "_train_step", dies_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        main.run(dict(config, runs_dir=str(tmp_path / "killed")), log=quiet)
    monkeypatch.setattr(Trainer, "_train_step", real_step)
    killed = os.path.join(str(tmp_path / "killed"), os.listdir(str(tmp_path / "killed"))[0])
    _, resumed = main.run(dict(main.constants(), resume=killed), log=quiet)
    assert resumed["state"] == "carried" and resumed["epochs_run"] == 2
    for name in ("best_epoch", "valid_auc", "test_auc", "test_loss"):
        assert resumed[name] == pytest.approx(straight[name], abs=1e-6), name

"""models/: DKVMN and DKT against plain NumPy versions of their equations, leakage, training, the registry."""
import functools

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import models
from utils import model_registry
from utils.config import main_constants

N_SKILLS = 7
TINY_DKVMN = {"memory_size": 3, "key_dim": 4, "value_dim": 5, "final_dim": 6, "init_std": 0.5,
              "dropout": 0.3}
TINY_DKT = {"hidden_size": 8, "dkt_embedding_size": 8, "init_std": 0.5, "dropout": 0.3}
TINY_REGRESSION = {"baseline_l2": 1e-3}
TINY = {"dkvmn": TINY_DKVMN, "dkt": TINY_DKT, "bkt": {}, "irt": TINY_REGRESSION, "pfa": TINY_REGRESSION,
        "best_lr": TINY_REGRESSION}


def make_session(graph):
    config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=2)
    return tf.Session(graph=graph, config=config)


def build(model_name, n_skills=N_SKILLS, seed=0, batch_parts=1, **hparams):
    """A fresh graph with the given seed, its KTGraph, an initialised session and the initial weights.
    Hyperparameters not given take main.py's values."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        kt = models.build_graph(model_name, n_skills, dict(main_constants(), **hparams),
                                batch_parts=batch_parts)
        init = tf.global_variables_initializer()
        variables = tf.trainable_variables()
    sess = make_session(graph)
    sess.run(init)
    weights = {v.op.name: value.astype(np.float64) for v, value in zip(variables, sess.run(variables))}
    return kt, sess, weights


@functools.lru_cache(maxsize=None)
def tiny(model_name):
    """The tiny graph of each model, built once for the tests that only run it (graph building is slow)."""
    return build(model_name, **TINY[model_name])


def random_batch(rng, batch_size=2, length=6, n_skills=N_SKILLS):
    skills = rng.randint(0, n_skills, size=(batch_size, length)).astype(np.int32)
    answers = rng.randint(0, 2, size=(batch_size, length)).astype(np.int32)
    mask = np.ones((batch_size, length), np.float32)
    return skills, answers, mask


def feed(kt, skills, answers, mask, **extra):
    result = {kt.skills: skills, kt.answers: answers, kt.mask: mask}
    result.update({getattr(kt, k): v for k, v in extra.items()})
    return result


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_dkvmn(w, skills, answers, n_skills, key_projection):
    """The paper's equations, one student and one step at a time. Returns p [B, T] and r [B, T, d_v]."""
    s = "dkvmn/"
    batch_size, length = skills.shape
    p = np.zeros((batch_size, length))
    reads = np.zeros((batch_size, length, w[s + "value_memory/M_v0"].shape[1]))
    for b in range(batch_size):
        memory = w[s + "value_memory/M_v0"].copy()                       # M^v_0 [N, d_v]
        for t in range(length):
            q, y = skills[b, t], answers[b, t]
            k = w[s + "key_embedding/A"][q]                              # k_t = A q_t
            similarity = w[s + "key_memory/M_k"].dot(k)
            weight = np.exp(similarity - similarity.max())
            weight /= weight.sum()                                       # w_t
            r = weight.dot(memory)                                       # r_t
            if key_projection:
                k = np.tanh(k.dot(w[s + "key_projection/kernel"]) + w[s + "key_projection/bias"])
            f = np.tanh(np.concatenate([r, k]).dot(w[s + "summary/kernel"]) + w[s + "summary/bias"])
            p[b, t] = sigmoid(f.dot(w[s + "prediction/kernel"]) + w[s + "prediction/bias"])[0]
            reads[b, t] = r
            v = w[s + "value_embedding/B"][q + y * n_skills]
            e = sigmoid(v.dot(w[s + "erase/kernel"]) + w[s + "erase/bias"])
            a = np.tanh(v.dot(w[s + "add/kernel"]) + w[s + "add/bias"])
            memory = memory * (1.0 - np.outer(weight, e)) + np.outer(weight, a)
    return p, reads


def numpy_dkt(w, skills, answers, n_skills, one_hot):
    """An LSTM written out (gate order i, f, o, g), one student and one step at a time. Returns p [B, T]."""
    s = "dkt/lstm/"
    hidden_size = w[s + "recurrent_kernel"].shape[0]
    batch_size, length = skills.shape
    p = np.zeros((batch_size, length))
    for b in range(batch_size):
        h, c = np.zeros(hidden_size), np.zeros(hidden_size)
        for t in range(length):
            q, y = skills[b, t], answers[b, t]
            p[b, t] = sigmoid(h.dot(w["dkt/prediction/kernel"][:, q]) + w["dkt/prediction/bias"][q])
            x = np.eye(2 * n_skills)[q + y * n_skills] if one_hot else w[s + "embedding"][q + y * n_skills]
            z = x.dot(w[s + "input_kernel"]) + h.dot(w[s + "recurrent_kernel"]) + w[s + "bias"]
            i, f, o = np.split(sigmoid(z[:3 * hidden_size]), 3)
            c = f * c + i * np.tanh(z[3 * hidden_size:])
            h = o * np.tanh(c)
    return p


@pytest.mark.parametrize("key_projection", [False, True])
def test_dkvmn_matches_numpy_equations(key_projection):
    kt, sess, w = build("dkvmn", key_projection=True, **TINY_DKVMN) if key_projection else tiny("dkvmn")
    skills, answers, mask = random_batch(np.random.RandomState(1))
    p, reads, loss = sess.run([kt.p, kt.read_content, kt.loss], feed(kt, skills, answers, mask))
    expected_p, expected_reads = numpy_dkvmn(w, skills, answers, N_SKILLS, key_projection)
    np.testing.assert_allclose(reads, expected_reads, atol=1e-5)
    np.testing.assert_allclose(p, expected_p, atol=1e-5)
    bce = -(answers * np.log(expected_p) + (1 - answers) * np.log(1 - expected_p))
    np.testing.assert_allclose(loss, bce.mean(), atol=1e-5)
    # Dropout (rate 0.3 on f_t) acts only when training.
    p_train = sess.run(kt.p, feed(kt, skills, answers, mask, training=True))
    assert np.abs(p_train - p).max() > 1e-4


@pytest.mark.parametrize("embedding_size", [8, 0])
def test_dkt_matches_numpy_lstm(embedding_size):
    kt, sess, w = build("dkt", **dict(TINY_DKT, dkt_embedding_size=0)) if embedding_size == 0 else tiny("dkt")
    skills, answers, mask = random_batch(np.random.RandomState(2))
    p = sess.run(kt.p, feed(kt, skills, answers, mask))
    np.testing.assert_allclose(p, numpy_dkt(w, skills, answers, N_SKILLS, embedding_size == 0), atol=1e-5)
    p_train = sess.run(kt.p, feed(kt, skills, answers, mask, training=True))
    assert np.abs(p_train - p).max() > 1e-4
    # One-position sequences work too.
    p_first = sess.run(kt.p, feed(kt, skills[:, :1], answers[:, :1], mask[:, :1]))
    np.testing.assert_allclose(p_first, p[:, :1], atol=1e-6)


def with_weights_that_read_the_answers(model_name):
    """The tiny graph of `model_name`; a model whose weights all start at zero (the regressions: their
    predictions are 0.5 whatever was answered) gets random ones, so that what it reads shows."""
    kt, sess, weights = tiny(model_name)
    if any(value.any() for value in weights.values()):
        return kt, sess
    kt, sess, _ = build(model_name, **TINY[model_name])
    with sess.graph.as_default():
        variables = tf.trainable_variables()
        rng = np.random.RandomState(0)
        sess.run([tf.assign(v, rng.uniform(0.1, 0.9, v.shape.as_list())) for v in variables])
    return kt, sess


@pytest.mark.parametrize("model_name", model_registry.names())
def test_no_leakage_from_current_or_later_answers_or_padding(model_name):
    """An answer changes no prediction at or before its position, and changes the later ones the model reads
    it for (models/__init__.py: READS_HISTORY, READS_OTHER_IDS): every later one, some on its own id, or
    none."""
    kt, sess = with_weights_that_read_the_answers(model_name)
    length, valid = 8, 5
    skills, answers, mask = random_batch(np.random.RandomState(3), length=length)
    mask[1, valid:] = 0.0
    skills[1, valid:] = 0
    answers[1, valid:] = 0
    p, loss = sess.run([kt.p, kt.loss], feed(kt, skills, answers, mask))
    checked = 0
    for t in range(length - 1):
        flipped = answers.copy()
        flipped[0, t] = 1 - flipped[0, t]
        p_flipped = sess.run(kt.p, feed(kt, skills, flipped, mask))
        np.testing.assert_allclose(p_flipped[0, :t + 1], p[0, :t + 1], atol=1e-7)
        np.testing.assert_allclose(p_flipped[1], p[1], atol=1e-7)
        later = np.arange(length) > t
        same_id = later & (skills[0] == skills[0, t])
        if not models.reads_history(model_name):
            read = np.zeros(length, bool)
        elif not models.reads_other_ids(model_name):
            read = same_id
        else:
            read = later
        np.testing.assert_allclose(p_flipped[0, ~read], p[0, ~read], atol=1e-7)
        if read.any():
            assert np.abs(p_flipped[0, read] - p[0, read]).max() > 1e-6, "answer %d is ignored" % t
            checked += 1
    assert checked or not models.reads_history(model_name), "no answer of the batch is read later"
    padded_skills, padded_answers = skills.copy(), answers.copy()
    padded_skills[1, valid:] = [6, 3, 1]
    padded_answers[1, valid:] = 1
    p_padded, loss_padded = sess.run([kt.p, kt.loss], feed(kt, padded_skills, padded_answers, mask))
    np.testing.assert_allclose(p_padded[:, :valid], p[:, :valid], atol=1e-7)
    np.testing.assert_allclose(p_padded[0], p[0], atol=1e-7)
    np.testing.assert_allclose(loss_padded, loss, atol=1e-7)


def synthetic_problem(n_students=300, length=20, n_concepts=5, n_skills=15, seed=0):
    """Students with one ability per concept who learn the concept they practise; skills with difficulties."""
    rng = np.random.RandomState(seed)
    concept = np.arange(n_skills) % n_concepts
    difficulty = rng.normal(0.0, 1.0, n_skills)
    skills = rng.randint(0, n_skills, size=(n_students, length)).astype(np.int32)
    answers = np.zeros_like(skills)
    for s in range(n_students):
        ability = rng.normal(0.0, 1.0, n_concepts)
        for t in range(length):
            q = skills[s, t]
            answers[s, t] = rng.rand() < sigmoid(ability[concept[q]] - difficulty[q])
            ability[concept[q]] += 0.2
    return skills, answers, np.ones(skills.shape, np.float32)


SMALL = {
    "dkvmn": {"memory_size": 5, "key_dim": 8, "value_dim": 8, "final_dim": 8},
    "dkt": {"hidden_size": 16},
    "bkt": {}, "irt": {}, "pfa": {}, "best_lr": {},  # their own sizes: one weight (or BKT probability) per id
}


@pytest.mark.parametrize("model_name", model_registry.names())
def test_training_lowers_the_loss(model_name):
    skills, answers, mask = synthetic_problem(n_students=200)
    kt, sess, _ = build(model_name, n_skills=15, optimizer="adam", learning_rate=0.03, dropout=0.1,
                        **SMALL[model_name])
    data = feed(kt, skills, answers, mask)
    before = sess.run(kt.loss, data)
    for _ in range(25):
        _, grad_norm = sess.run([kt.train_op, kt.grad_norm], feed(kt, skills, answers, mask, training=True))
        assert np.isfinite(grad_norm)
    after = sess.run(kt.loss, data)
    assert sess.run(kt.global_step) == 25
    assert after < before - 0.03, (before, after)


@pytest.mark.parametrize("model_name", model_registry.names())
def test_batch_parts_change_neither_predictions_nor_gradients(model_name):
    """BATCH_PARTS is speed only: a batch of 5 cut into 3 uneven parts gives the one-loop predictions and
    gradients (same seed, so the same initial weights)."""
    skills, answers, mask = random_batch(np.random.RandomState(3), batch_size=5, length=9)
    results = []
    for parts in (1, 3):
        kt, sess, _ = build(model_name, batch_parts=parts, **TINY[model_name])
        with sess.graph.as_default():
            grads = [tf.convert_to_tensor(g) for g in tf.gradients(kt.loss, tf.trainable_variables())]
        results.append(sess.run([kt.p] + grads, feed(kt, skills, answers, mask)))
        sess.close()
    for one_part, three_parts in zip(*results):
        np.testing.assert_allclose(three_parts, one_part, rtol=1e-5, atol=1e-6)


def trainable_values(sess):
    with sess.graph.as_default():
        variables = tf.trainable_variables()
    return dict(zip([v.op.name for v in variables], sess.run(variables)))


def update_norm(before, after):
    return np.sqrt(sum(((after[k] - before[k]) ** 2).sum() for k in before))


def test_sgd_step_is_the_clipped_gradient():
    skills, answers, mask = synthetic_problem(n_students=20)
    kt, sess, before = build("dkvmn", n_skills=15, optimizer="sgd", momentum=0.9, dropout=0.0,
                             max_grad_norm=1e-3, **SMALL["dkvmn"])
    # The first momentum step is -lr * gradient; with lr 1 its norm is the clipped gradient norm.
    _, grad_norm = sess.run([kt.train_op, kt.grad_norm], feed(kt, skills, answers, mask, learning_rate=1.0))
    assert np.isfinite(grad_norm) and grad_norm > 1e-2
    np.testing.assert_allclose(update_norm(before, trainable_values(sess)), 1e-3, rtol=1e-3)


def test_sgd_without_clipping_steps_by_the_gradient_and_trains():
    skills, answers, mask = synthetic_problem(n_students=100)
    kt, sess, before = build("dkt", n_skills=15, optimizer="sgd", momentum=0.9, dropout=0.0,
                             max_grad_norm=0, **SMALL["dkt"])
    data = feed(kt, skills, answers, mask)
    loss_before = sess.run(kt.loss, data)
    _, grad_norm = sess.run([kt.train_op, kt.grad_norm], feed(kt, skills, answers, mask, learning_rate=1.0))
    assert np.isfinite(grad_norm)
    np.testing.assert_allclose(update_norm(before, trainable_values(sess)), grad_norm, rtol=1e-3)
    for _ in range(15):
        sess.run(kt.train_op, feed(kt, skills, answers, mask, learning_rate=0.5))
    assert sess.run(kt.loss, data) < loss_before - 0.01


def test_sequence_sum_scales_the_step_by_the_scored_positions_per_sequence():
    skills, answers, mask = synthetic_problem(n_students=8)
    mask[:, mask.shape[1] // 2:] *= np.arange(8)[:, None] % 2  # half the sequences end half-way
    per_sequence = mask.sum() / mask.shape[0]
    steps = {}
    for loss_scale in ("mean", "sequence_sum"):
        kt, sess, before = build("dkvmn", n_skills=15, optimizer="sgd", dropout=0.0, max_grad_norm=0,
                                 loss_scale=loss_scale, **SMALL["dkvmn"])
        data = feed(kt, skills, answers, mask, learning_rate=1.0)
        loss, objective, _ = sess.run([kt.loss, kt.objective, kt.train_op], data)
        np.testing.assert_allclose(objective, loss * (per_sequence if loss_scale == "sequence_sum" else 1.0),
                                   rtol=1e-6)
        after = trainable_values(sess)
        steps[loss_scale] = np.concatenate([(after[k] - before[k]).ravel() for k in sorted(before)])
    np.testing.assert_allclose(steps["sequence_sum"], per_sequence * steps["mean"], rtol=1e-3, atol=2e-6)


def test_skill_correlation_weights_and_parameters():
    kt, sess, w = tiny("dkvmn")
    weights = sess.run(kt.skill_correlation_weights)
    assert weights.shape == (N_SKILLS, TINY_DKVMN["memory_size"])
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    similarity = w["dkvmn/key_embedding/A"].dot(w["dkvmn/key_memory/M_k"].T)
    expected = np.exp(similarity) / np.exp(similarity).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    assert kt.num_parameters == sum(v.size for v in w.values())
    dkt_graph, _, dkt_weights = tiny("dkt")
    assert dkt_graph.skill_correlation_weights is None
    assert dkt_graph.num_parameters == sum(v.size for v in dkt_weights.values())


@pytest.mark.parametrize("model_name", model_registry.names())
def test_initial_weights_come_from_the_graph_seed(model_name):
    # A new session re-runs every initialiser: only seeded ones give the same values again.
    kt, sess, first = tiny(model_name)
    with sess.graph.as_default():
        init = tf.global_variables_initializer()
    again = make_session(sess.graph)
    again.run(init)
    second = trainable_values(again)
    assert sorted(first) == sorted(second)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_unknown_model_optimizer_or_loss_scale_is_refused():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="unknown model 'lstm': choose one of dkvmn, dkt"):
            models.build_graph("lstm", N_SKILLS, {})
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="adam"):
            models.build_graph("dkt", N_SKILLS, dict(main_constants(), optimizer="rmsprop", hidden_size=4))
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="sequence_sum"):
            models.build_graph("dkt", N_SKILLS, dict(main_constants(), loss_scale="sum", hidden_size=4))
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="lack hidden_size"):  # no silent default for a missing hparam
            models.build_graph("dkt", N_SKILLS, dict((k, v) for k, v in main_constants().items()
                                                      if k != "hidden_size"))


def test_a_model_must_make_its_variables_under_its_own_scope(monkeypatch):
    """The registered name is the variable scope (parameters are counted there, serving restores them from
    there): a model that builds elsewhere is refused with the rule, not miscounted."""
    import types

    def build(skills, answers, n_skills, hparams, training, batch_parts=1):
        with tf.variable_scope("elsewhere"):
            bias = tf.get_variable("bias", [n_skills], initializer=tf.zeros_initializer())
        return {"logits": tf.gather(bias, skills)}

    monkeypatch.setitem(models.MODELS, "dkt", types.SimpleNamespace(HPARAMS=(), build=build))
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"model dkt made no trainable variable under tf.variable_scope"):
            models.build_graph("dkt", N_SKILLS, main_constants())

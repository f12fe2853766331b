"""The fast value-memory recurrence (hand-written gradient, batch in parts) against the plain tf.scan one.

Both are built in the same graph from the same inputs; the reads r, a loss on them, and the gradients of
that loss with respect to w, e, a and the initial memory must agree. The reference's gradients come from
TensorFlow's autodiff, so this also checks the hand-derived backward equations in models/memory.py.
"""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from models.memory import value_memory_reads, value_memory_reads_reference


def _inputs(batch, steps, slots, dim, seed):
    rng = np.random.RandomState(seed)
    logits = rng.randn(batch, steps, slots) * 2.0
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    e = 1.0 / (1.0 + np.exp(-rng.randn(batch, steps, dim) * 2.0))
    a = np.tanh(rng.randn(batch, steps, dim))
    m0 = rng.randn(slots, dim) * 0.5
    weights = rng.randn(batch, steps, dim)    # dL/dr, so that every g_t differs
    return w, e, a, m0, weights


def _run_both(arrays, dtype, batch_parts):
    """Returns {name: (fast value, reference value)} for r, the loss and the four gradients."""
    w_np, e_np, a_np, m0_np, weights_np = [x.astype(dtype) for x in arrays]
    with tf.Graph().as_default():
        # Unknown batch and time sizes, as in the model's placeholders.
        w = tf.placeholder(dtype, [None, None, w_np.shape[2]])
        e = tf.placeholder(dtype, [None, None, e_np.shape[2]])
        a = tf.placeholder(dtype, [None, None, a_np.shape[2]])
        m0 = tf.placeholder(dtype, list(m0_np.shape))
        out = {}
        for name, fn in (("fast", lambda *x: value_memory_reads(*x, batch_parts=batch_parts)),
                         ("reference", value_memory_reads_reference)):
            r = fn(w, e, a, m0)
            # A loss that is nonlinear in r, so that g_t = dL/dr_t depends on r.
            loss = tf.reduce_sum(weights_np * r) + 0.5 * tf.reduce_sum(tf.square(r))
            out[name] = [r, loss] + tf.gradients(loss, [w, e, a, m0])
        with tf.Session() as sess:
            fast, ref = sess.run([out["fast"], out["reference"]],
                                 {w: w_np, e: e_np, a: a_np, m0: m0_np})
    names = ["r", "loss", "dw", "de", "da", "dm0"]
    return {n: (f, r) for n, f, r in zip(names, fast, ref)}


def _assert_close(results, rtol, atol):
    for name, (fast, ref) in results.items():
        assert fast.shape == ref.shape, name
        np.testing.assert_allclose(fast, ref, rtol=rtol, atol=atol * max(1.0, np.abs(ref).max()),
                                   err_msg=name)


@pytest.mark.parametrize("batch,steps,batch_parts", [
    (1, 1, 2),    # one sequence, one step: one part is empty
    (3, 1, 2),    # odd batch, T = 1
    (3, 7, 2),    # odd batch: parts of 1 and 2 rows
    (4, 9, 1),    # the whole batch in one loop
    (5, 8, 3),
])
def test_float64_matches_reference(batch, steps, batch_parts):
    results = _run_both(_inputs(batch, steps, 4, 6, seed=batch * 100 + steps), np.float64, batch_parts)
    _assert_close(results, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("batch,batch_parts", [(32, 2), (3, 2)])
def test_float32_at_model_sizes(batch, batch_parts):
    """N 20 slots, d_v 40, 60 steps: long enough for rounding to build up over the recurrence."""
    results = _run_both(_inputs(batch, 60, 20, 40, seed=batch), np.float32, batch_parts)
    _assert_close(results, rtol=2e-4, atol=2e-5)


def test_initial_memory_as_trained_variable():
    """The model passes a tf.Variable as M_0 and trains it: one optimizer step must move it the same way."""
    w_np, e_np, a_np, m0_np, weights_np = _inputs(3, 5, 4, 6, seed=7)
    updated = {}
    for name, fn in (("fast", value_memory_reads), ("reference", value_memory_reads_reference)):
        with tf.Graph().as_default():
            m0 = tf.get_variable("m0", initializer=m0_np)
            r = fn(tf.constant(w_np), tf.constant(e_np), tf.constant(a_np), m0)
            loss = tf.reduce_sum(weights_np * r)
            train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                sess.run(train_op)
                updated[name] = sess.run(m0)
    assert not np.allclose(updated["fast"], m0_np)
    np.testing.assert_allclose(updated["fast"], updated["reference"], rtol=1e-9, atol=1e-12)

"""The fast LSTM recurrence (hand-written gradient, batch in parts, table lookups) against the tf.scan one.

Both are built in the same graph from the same inputs; the hidden states, a loss on them, and the gradients
of that loss with respect to the input gates (or the gate table) and the recurrent kernel must agree. The
reference's gradients come from TensorFlow's autodiff, so this also checks the backward equations derived
in models/lstm.py.
"""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from models.lstm import lstm_hidden_states, lstm_hidden_states_from_table, lstm_hidden_states_reference


def _inputs(batch, steps, hidden, seed, table_rows=None):
    """Input gates (or a gate table and indices), W_h, and the weights of a loss on the states."""
    rng = np.random.RandomState(seed)
    gates_shape = (table_rows, 4 * hidden) if table_rows else (batch, steps, 4 * hidden)
    gates = rng.randn(*gates_shape) * 1.5       # pre-activations across the sigmoid/tanh range
    kernel = rng.randn(hidden, 4 * hidden) * 0.6
    weights = rng.randn(batch, steps, hidden)     # so that every position's gradient differs
    indices = rng.randint(0, table_rows, (batch, steps)).astype(np.int32) if table_rows else None
    return gates, kernel, weights, indices


def _loss(states, weights):
    # Nonlinear in the states, so that dL/d(states) depends on them.
    return tf.reduce_sum(weights * states) + 0.5 * tf.reduce_sum(tf.square(states))


def _run_both(arrays, dtype, batch_parts, table=False):
    """{name: (fast value, reference value)} for the states, the loss and the two gradients."""
    gates_np, kernel_np, weights_np, indices_np = arrays
    gates_np, kernel_np, weights_np = [x.astype(dtype) for x in (gates_np, kernel_np, weights_np)]
    with tf.Graph().as_default():
        # Unknown batch and time sizes, as in the model's placeholders.
        gates = tf.placeholder(dtype, [None] * (gates_np.ndim - 1) + [gates_np.shape[-1]])
        kernel = tf.placeholder(dtype, list(kernel_np.shape))
        indices = tf.placeholder(tf.int32, [None, None])
        if table:
            fast = lstm_hidden_states_from_table(gates, indices, kernel, batch_parts=batch_parts)
            reference = lstm_hidden_states_reference(tf.gather(gates, indices), kernel)
        else:
            fast = lstm_hidden_states(gates, kernel, batch_parts=batch_parts)
            reference = lstm_hidden_states_reference(gates, kernel)
        out = {}
        for name, states in (("fast", fast), ("reference", reference)):
            loss = _loss(states, weights_np)
            grads = tf.gradients(loss, [gates, kernel])
            out[name] = [states, loss] + [tf.convert_to_tensor(g) for g in grads]
        feed = {gates: gates_np, kernel: kernel_np}
        if table:
            feed[indices] = indices_np
        with tf.Session() as sess:
            fast_values, reference_values = sess.run([out["fast"], out["reference"]], feed)
    names = ["states", "loss", "d_gates", "d_kernel"]
    return {n: (f, r) for n, f, r in zip(names, fast_values, reference_values)}


def _assert_close(results, rtol, atol):
    for name, (fast, ref) in results.items():
        assert fast.shape == ref.shape, name
        assert np.all(np.isfinite(fast)), name
        np.testing.assert_allclose(fast, ref, rtol=rtol, atol=atol * max(1.0, np.abs(ref).max()),
                                   err_msg=name)


@pytest.mark.parametrize("batch,steps,batch_parts", [
    (1, 1, 2),    # one sequence, one step: one part is empty
    (3, 1, 2),    # odd batch, T = 1
    (1, 6, 1),
    (3, 7, 2),    # odd batch: parts of 1 and 2 rows
    (4, 9, 1),    # the whole batch in one loop
    (5, 8, 3),
])
def test_float64_matches_reference(batch, steps, batch_parts):
    results = _run_both(_inputs(batch, steps, 5, seed=batch * 100 + steps), np.float64, batch_parts)
    _assert_close(results, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("batch,steps,batch_parts", [(1, 1, 2), (3, 1, 2), (3, 7, 2), (4, 9, 1)])
def test_float64_table_lookup_matches_gathering_first(batch, steps, batch_parts):
    """Few rows, so that positions share rows and the table's gradient sums over them."""
    arrays = _inputs(batch, steps, 5, seed=batch * 10 + steps, table_rows=4)
    results = _run_both(arrays, np.float64, batch_parts, table=True)
    _assert_close(results, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("batch,table", [(1, False), (3, False), (3, True), (32, True)])
def test_float32_longer_sequences(batch, table):
    """H 16 over 60 steps: long enough for rounding to build up over the recurrence."""
    arrays = _inputs(batch, 60, 16, seed=batch, table_rows=20 if table else None)
    results = _run_both(arrays, np.float32, batch_parts=2, table=table)
    _assert_close(results, rtol=2e-4, atol=2e-5)


def test_first_state_is_zero_and_states_are_causal():
    """Position t sees inputs < t only: changing the gates of step 4 moves no state at positions <= 4."""
    gates_np, kernel_np, _, _ = _inputs(2, 8, 3, seed=5)
    changed = gates_np.copy()
    changed[:, 4] += 3.0
    with tf.Graph().as_default():
        gates = tf.placeholder(tf.float64, [None, None, 12])
        states = lstm_hidden_states(gates, tf.constant(kernel_np))
        with tf.Session() as sess:
            before, after = [sess.run(states, {gates: x}) for x in (gates_np, changed)]
    assert np.all(before[:, 0] == 0.0)
    np.testing.assert_array_equal(before[:, :5], after[:, :5])
    assert np.abs(before[:, 5:] - after[:, 5:]).min() > 0.0


def test_recurrent_kernel_as_trained_variable():
    """The model passes W_h as a tf.Variable and trains it: one optimizer step must move it the same way."""
    gates_np, kernel_np, weights_np, _ = _inputs(3, 5, 4, seed=7)
    updated = {}
    for name, fn in (("fast", lstm_hidden_states), ("reference", lstm_hidden_states_reference)):
        with tf.Graph().as_default():
            kernel = tf.get_variable("recurrent_kernel", initializer=kernel_np)
            loss = _loss(fn(tf.constant(gates_np), kernel), weights_np)
            train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                sess.run(train_op)
                updated[name] = sess.run(kernel)
    assert not np.allclose(updated["fast"], kernel_np)
    np.testing.assert_allclose(updated["fast"], updated["reference"], rtol=1e-9, atol=1e-12)

"""The LSTM recurrence of DKT (Piech et al. 2015): the only sequential part of that model.

models/dkt.py computes the input part of the gate pre-activations, x_t W_x + b, for all positions at once
and hands it here with the recurrent kernel W_h. With gate order [i, f, o, g]:

    z_t = x_t W_x + b + h_{t-1} W_h                                        [B, 4H]
    i, f, o = sigmoid(z_t[:3H]),  g = tanh(z_t[3H:])
    c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t),    h_{-1} = c_{-1} = 0

and the result at position t is h_{t-1}, the state after positions < t (zeros at t = 0), so that DKT's
prediction for position t never sees answer t.

Two formulations of the same equations live here, as models/memory.py does for DKVMN:

- `lstm_hidden_states_reference`: the plain one, a `tf.scan` of `lstm_step` (also the step of the serving
  graph, models/dkt.py) differentiated by TensorFlow. It is the readable definition and what
  tests/test_lstm.py compares against.
- `lstm_hidden_states` (and `lstm_hidden_states_from_table`, the same run on looked-up input gates): the fast
  one that the model uses. Same outputs and gradients up to float rounding; its docstring says how it is
  restructured and derives the backward pass.
"""
import tensorflow.compat.v1 as tf


def lstm_step(input_gates_t, h, c, recurrent_kernel):
    """One step of the equations above, from the input part of the gate pre-activations.

    Args:
      input_gates_t: [B, 4H] x_t W_x + b, gate order [i, f, o, g].
      h, c: [B, H] the state before the step.
      recurrent_kernel: [H, 4H] W_h.

    Returns:
      (h, c) after the step, [B, H] each.
    """
    z = input_gates_t + tf.matmul(h, recurrent_kernel)                     # [B, 4H]
    i, f, o, g = tf.split(z, 4, axis=1)
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.sigmoid(o) * tf.tanh(c), c


def lstm_hidden_states_reference(input_gates, recurrent_kernel):
    """Plain step-by-step LSTM (the readable reference), differentiated by TensorFlow's autodiff.

    Args:
      input_gates: [B, T, 4H] x_t W_x + b for every position, gate order [i, f, o, g].
      recurrent_kernel: [H, 4H] W_h.

    Returns:
      [B, T, H]: at position t the hidden state h_{t-1} after positions < t (zeros at t = 0).
    """
    hidden_size = tf.dimension_value(recurrent_kernel.shape[0])
    gates_by_time = tf.transpose(input_gates, [1, 0, 2])                   # [T, B, 4H]
    zeros = tf.zeros_like(gates_by_time[0, :, :hidden_size])               # [B, H]

    def step(carry, x_t):
        h, c = carry
        return lstm_step(x_t, h, c, recurrent_kernel)

    hidden_states, _ = tf.scan(step, gates_by_time, initializer=(zeros, zeros))   # h_0 .. h_{T-1}
    states = tf.concat([zeros[None], hidden_states[:-1]], axis=0)               # h_{-1} .. h_{T-2}
    return tf.transpose(states, [1, 0, 2])


def lstm_hidden_states(input_gates, recurrent_kernel, batch_parts=1):
    """Runs the LSTM over time with a hand-written gradient; the contract of `lstm_hidden_states_reference`.

    Args:
      input_gates: [B, T, 4H] x_t W_x + b for every position, gate order [i, f, o, g].
      recurrent_kernel: [H, 4H] W_h (a tensor or a variable).
      batch_parts: the batch is cut into this many contiguous parts, each run as its own pair of loops
        (see 3. below). The result does not depend on it.

    Returns:
      [B, T, H]: at position t the hidden state h_{t-1} after positions < t (zeros at t = 0).

    How it is restructured, and why it is faster than autodiff through the loop:

    1. Forward: one `tf.while_loop` runs the equations above and keeps, per step, only what the backward
       needs: h_t, the activated gates [i, f, o] and g, c_{t-1} and tanh(c_t) (8H floats per sequence).
       Autodiff through a loop instead stacks every intermediate of every step and replays the step's
       graph backwards, one small op at a time.

    2. Backward, written by hand (`tf.custom_gradient`). Let e_t be the part of dL/dh_t that comes from
       outside, i.e. the gradient of the output at position t + 1 (e_{T-1} = 0: no position reads
       h_{T-1}). From z_t = x_t + h_{t-1} W_h, c_t = f_t c_{t-1} + i_t g_t and h_t = o_t tanh(c_t), by the
       chain rule (sigmoid' = s (1 - s), tanh' = 1 - tanh^2), with dz_T = 0 and dc_T = 0:

           dh_t = e_t + dz_{t+1} W_h^T                      (h_t feeds z_{t+1})
           dc_t = dc_{t+1} * f_{t+1} + dh_t * o_t * (1 - tanh(c_t)^2)
           dz_t = [dc_t * g_t       * i_t (1 - i_t),        (i)
                   dc_t * c_{t-1}   * f_t (1 - f_t),        (f)
                   dh_t * tanh(c_t) * o_t (1 - o_t),        (o)
                   dc_t * i_t       * (1 - g_t^2)]          (g)
           dL/d(input gates at t) = dz_t,    dL/dW_h = sum_t h_{t-1}^T dz_t

       One reverse `tf.while_loop` carries dz_{t+1} W_h^T and dc_{t+1} * f_{t+1} and emits dz_t; its
       only matmul is dz_t W_h^T, with W_h^T transposed once before the loop. dL/dW_h is ONE
       [H, T*B] x [T*B, 4H] matmul after the loop, over the stacked h_{t-1} (the forward's own output)
       and dz: a large matmul runs near the machine's peak, T small per-step ones do not.

    3. The sequences of a batch are independent, so the batch can be cut into `batch_parts` parts, each
       with its own forward and backward loop, which TF's inter-op threads run at the same time. On a
       quiet 2-core machine two loops (one per core) are faster; on a machine busy with other jobs one
       loop is, as two loops stall on each other's preempted threads (timings: docs/speed.md). The model
       takes main.py's BATCH_PARTS (2); this function's own default stays 1.
    """
    input_gates = tf.convert_to_tensor(input_gates)
    states = [_lstm_loops(part, recurrent_kernel, tf.shape(part)[1], _gates_at_step, _gates_gradient)
              for part in _batch_parts(input_gates, batch_parts)]
    return states[0] if len(states) == 1 else tf.concat(states, axis=0)


def lstm_hidden_states_from_table(gate_table, indices, recurrent_kernel, batch_parts=1):
    """`lstm_hidden_states(tf.gather(gate_table, indices), ...)` without building the [B, T, 4H] tensor.

    When the input gates of a position depend only on a small index (DKT: the interaction q + y n_skills),
    x W_x + b is computed once per index; the loop looks up its step's rows, and the table's gradient is
    summed per index after the backward loop (what the gradient of tf.gather does). Same result and
    gradients as gathering first; it saves writing and reading the [B, T, 4H] gates and their gradient.

    Args:
      gate_table: [R, 4H] input gate pre-activations of each index, gate order [i, f, o, g].
      indices: int32 [B, T] in [0, R), the table row of each position.
      recurrent_kernel: [H, 4H] W_h.
      batch_parts: as in `lstm_hidden_states`.

    Returns:
      [B, T, H]: at position t the hidden state h_{t-1} after positions < t (zeros at t = 0).
    """
    gate_table = tf.convert_to_tensor(gate_table)
    states = []
    for part in _batch_parts(tf.convert_to_tensor(indices), batch_parts):
        rows_by_time = tf.transpose(part)                                          # [T, B_k]
        states.append(_lstm_loops(gate_table, recurrent_kernel, tf.shape(rows_by_time)[0],
                                  *_table_rows(rows_by_time)))
    return states[0] if len(states) == 1 else tf.concat(states, axis=0)


def lstm_hidden_states_carried(gate_table, indices, recurrent_kernel, initial_h, initial_c, batch_parts=1):
    """`lstm_hidden_states_from_table` from a state (h, c) of each row's own, which also returns the state
    after the last step: what training with the state carried over SEQ_LEN chunks runs (one chunk per row,
    each starting where its student's previous chunk ended).

    Args:
      gate_table, indices, recurrent_kernel, batch_parts: as in `lstm_hidden_states_from_table`.
      initial_h, initial_c: [B, H] each row's state before its first position (zeros: a new student).
        Not differentiated: truncated backpropagation through time, a chunk's gradient stops at its start.

    Returns:
      (states [B, T, H]: h_{t-1} at position t, initial_h at t = 0; h_T, c_T [B, H]: the state after the
      last step, not differentiated).
    """
    gate_table = tf.convert_to_tensor(gate_table)
    indices = tf.convert_to_tensor(indices)
    initial = [tf.stop_gradient(tf.convert_to_tensor(x, dtype=gate_table.dtype))
               for x in (initial_h, initial_c)]
    outputs = []
    parts = zip(_batch_parts(indices, batch_parts), *[_batch_parts(x, batch_parts) for x in initial])
    for part, h_0, c_0 in parts:
        rows_by_time = tf.transpose(part)                                          # [T, B_k]
        outputs.append(_lstm_loops(gate_table, recurrent_kernel, tf.shape(rows_by_time)[0],
                                   *_table_rows(rows_by_time), initial=(h_0, c_0)))
    states, final_h, final_c = [tf.concat(list(column), axis=0) for column in zip(*outputs)]
    return states, tf.stop_gradient(final_h), tf.stop_gradient(final_c)


def _batch_parts(x, batch_parts):
    """x cut along the batch into `batch_parts` contiguous parts (empty ones when B < batch_parts)."""
    if batch_parts <= 1:
        return [x]
    batch_size = tf.shape(x)[0]
    bounds = [(batch_size * k) // batch_parts for k in range(batch_parts + 1)]
    sizes = tf.stack([hi - lo for lo, hi in zip(bounds[:-1], bounds[1:])])
    # tf.split rather than slicing: its gradient is a concat (a strided slice's is a slow scatter).
    return tf.split(x, sizes, num=batch_parts, axis=0)


def _gates_at_step(input_gates, t):
    """Step t's input gates [B, 4H] from the [B, T, 4H] gates."""
    return input_gates[:, t]


def _gates_gradient(input_gates, dz_by_time):
    """dL/d(input gates) [B, T, 4H] from dz_t stacked over time [T, B, 4H]."""
    del input_gates  # same shape as the result
    return tf.transpose(dz_by_time, [1, 0, 2])


def _table_rows(rows_by_time):
    """(step_input, input_gradient) of `_lstm_loops` for gates looked up in a table by rows_by_time [T, B]."""
    def step_input(gate_table, t):
        return tf.gather(gate_table, rows_by_time[t])

    def input_gradient(gate_table, dz_by_time):
        # dL/d(row r) = the sum of dz over the positions that read row r. Summed as a sorted segment_sum,
        # several times faster than tf.unsorted_segment_sum (what tf.gather's gradient does; docs/speed.md).
        gate_size = tf.dimension_value(gate_table.shape[1])
        rows = tf.reshape(rows_by_time, [-1])
        order = tf.argsort(rows)
        summed = tf.math.segment_sum(tf.gather(tf.reshape(dz_by_time, [-1, gate_size]), order),
                                     tf.gather(rows, order))                  # rows 0 .. max(rows)
        return tf.pad(summed, [[0, tf.shape(gate_table)[0] - tf.shape(summed)[0]], [0, 0]])
    return step_input, input_gradient


def _lstm_loops(inputs, recurrent_kernel, num_steps, step_input, input_gradient, initial=None):
    """The forward and backward loops of `lstm_hidden_states` for one part of the batch.

    Args:
      inputs: the tensor the input gates come from, and that the gradient flows to.
      recurrent_kernel: [H, 4H] W_h.
      num_steps: [] int32 T.
      step_input: (inputs, t) -> [B, 4H] input gates of step t.
      input_gradient: (inputs, dz_by_time [T, B, 4H]) -> dL/d(inputs).
      initial: None (h_{-1} = c_{-1} = 0), or (h_{-1}, c_{-1}) [B, H] each, which get no gradient.

    Returns:
      [B, T, H] hidden states before each step; with `initial`, (those, h_{T-1}, c_{T-1}).
    """
    inputs = tf.convert_to_tensor(inputs)
    recurrent_kernel = tf.convert_to_tensor(recurrent_kernel, dtype=inputs.dtype)

    @tf.custom_gradient
    def loops(inputs, kernel, *given_initial):
        dtype = inputs.dtype
        hidden = tf.dimension_value(kernel.shape[0])
        zeros = tf.zeros_like(step_input(inputs, 0)[:, :hidden])                      # [B, H]
        h_0, c_0 = given_initial if given_initial else (zeros, zeros)

        def saved():
            return tf.TensorArray(dtype, size=num_steps, clear_after_read=False)

        def forward_step(t, h, c, hs, sigmoid_ifos, tanh_gs, c_prevs, tanh_cs):
            z = step_input(inputs, t) + tf.matmul(h, kernel)                             # [B, 4H]
            sigmoid_ifo = tf.sigmoid(z[:, :3 * hidden])                                  # [i, f, o]
            g = tf.tanh(z[:, 3 * hidden:])
            i, f, o = tf.split(sigmoid_ifo, 3, axis=1)
            c_next = f * c + i * g
            tanh_c = tf.tanh(c_next)
            h_next = o * tanh_c
            h_next.set_shape(zeros.shape)
            c_next.set_shape(zeros.shape)
            return (t + 1, h_next, c_next, hs.write(t, h_next), sigmoid_ifos.write(t, sigmoid_ifo),
                    tanh_gs.write(t, g), c_prevs.write(t, c), tanh_cs.write(t, tanh_c))

        _, final_h, final_c, hs, sigmoid_ifos, tanh_gs, c_prevs, tanh_cs = tf.while_loop(
            lambda t, *_: t < num_steps, forward_step,
            (tf.constant(0), h_0, c_0, saved(), saved(), saved(), saved(), saved()), back_prop=False)
        # Position t gets h_{t-1}; h_{T-1} is read by no position. (Running T - 1 steps instead breaks
        # T = 1: TF cannot stack an empty TensorArray.)
        states_by_time = tf.concat([h_0[None], hs.stack()[:-1]], axis=0)              # [T, B, H]
        # The gradient function keeps tensors, not TensorArray objects: TF 1.14 holds it until exit, where
        # TensorArray wrappers log errors (models/memory.py does the same). The arrays are rebuilt from
        # their handles and flows, which refer to the stored steps (nothing is copied).
        saved_arrays = [(a.handle, a.flow) for a in (sigmoid_ifos, tanh_gs, c_prevs, tanh_cs)]

        def grad(d_states, *unused_d_final):
            sigmoid_ifos, tanh_gs, c_prevs, tanh_cs = [
                tf.TensorArray(dtype, handle=handle, flow=flow) for handle, flow in saved_arrays]
            # e_t = dL/d(output at position t + 1), e_{T-1} = 0; step t slices its [B, H] out of this.
            outside = tf.concat([d_states[:, 1:], tf.zeros_like(d_states[:, :1])], axis=1)  # [B, T, H]
            kernel_transposed = tf.transpose(kernel)                                    # [4H, H]

            def backward_step(t, dh_from_next, dc_from_next, dzs):
                # dh_from_next = dz_{t+1} W_h^T and dc_from_next = dc_{t+1} * f_{t+1} (zeros at t = T-1).
                sigmoid_ifo, g = sigmoid_ifos.read(t), tanh_gs.read(t)
                c_prev, tanh_c = c_prevs.read(t), tanh_cs.read(t)
                i, f, o = tf.split(sigmoid_ifo, 3, axis=1)
                dh = outside[:, t] + dh_from_next
                dc = dc_from_next + dh * o * (1.0 - tanh_c * tanh_c)
                dz_ifo = tf.concat([dc * g, dc * c_prev, dh * tanh_c], axis=1) * (
                    sigmoid_ifo * (1.0 - sigmoid_ifo))
                dz = tf.concat([dz_ifo, dc * i * (1.0 - g * g)], axis=1)                # [B, 4H]
                dz.set_shape(zeros.shape[:1].concatenate([4 * hidden]))  # rank 2: a 2-D matmul below
                dh_to_prev = tf.matmul(dz, kernel_transposed)
                dc_to_prev = dc * f
                dh_to_prev.set_shape(zeros.shape)
                dc_to_prev.set_shape(zeros.shape)
                return t - 1, dh_to_prev, dc_to_prev, dzs.write(t, dz)

            _, _, _, dzs = tf.while_loop(
                lambda t, *_: t >= 0, backward_step,
                (num_steps - 1, zeros, zeros, tf.TensorArray(dtype, size=num_steps)), back_prop=False)
            dz_by_time = dzs.stack()                                                    # [T, B, 4H]
            d_kernel = tf.matmul(tf.reshape(states_by_time, [-1, hidden]),
                                 tf.reshape(dz_by_time, [-1, 4 * hidden]), transpose_a=True)
            # the initial state gets none: truncated backpropagation through time
            return (input_gradient(inputs, dz_by_time), d_kernel) + (None,) * len(given_initial)

        states = tf.transpose(states_by_time, [1, 0, 2])
        return ((states, final_h, final_c) if given_initial else states), grad

    return loops(inputs, recurrent_kernel, *(initial or ()))


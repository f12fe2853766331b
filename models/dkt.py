"""Deep Knowledge Tracing (Piech et al., NeurIPS 2015): an LSTM over the (skill, answer) history.

    x_t = X (q_t + y_t * n_skills)                       input: embedding (or one-hot) of the interaction
    [i; f; o] = sigmoid(W_x x_t + W_h h_{t-1} + b)[:3H]   gates (one fused [., 4H] matmul for all four)
    g = tanh(W_x x_t + W_h h_{t-1} + b)[3H:]
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
    p_t = sigmoid(W_out[:, q_t] . h_{t-1} + b_out[q_t])  prediction for position t from positions < t

h_{-1} = c_{-1} = 0, so the prediction for position 0 is sigmoid(b_out[q_0]): a learned per-skill prior, and
DKT scores the same positions as DKVMN (every non-padded one).

Input: with a positive `dkt_embedding_size` x_t is a trainable embedding of that size; with 0 it is the
one-hot vector of the paper, implemented as a row lookup in W_x (one-hot(j) W_x = W_x[j]), which never
builds the [B, T, 2 n_skills] tensor.

Speed: x W_x + b is computed once per interaction index before the loop (gate_table), the loop looks up
its step's rows and does one [B, H] x [H, 4H] matmul per step, and its backward is written by hand
(models/lstm.py); the output layer gathers the one column of W_out it needs per position instead of
computing all n_skills logits. The LSTM is written over tf.get_variable weights (no rnn_cell / Keras layers,
which ignore tf.set_random_seed and do not exist with Keras 3).

Initialisation (Keras' LSTM defaults): W_x Glorot uniform, W_h orthogonal, b zeros with the forget-gate
bias at 1; embedding ~ normal(0, init_std); W_out Glorot uniform, b_out zeros. Seeds come from the graph seed.
"""
import tensorflow.compat.v1 as tf

from models import lstm
from models.layers import dropout_if_training


def lstm_hidden_states(input_gates, recurrent_kernel):
    """Runs the LSTM over time given the input part of its gate pre-activations.

    The recurrence with its hand-written backward lives in models/lstm.py (`lstm.lstm_hidden_states`); this
    is DKT's entry to it for gates computed per position (knowledge_state).

    Args:
      input_gates: [B, T, 4H] x_t W_x + b for every position, gate order [i, f, o, g].
      recurrent_kernel: [H, 4H] W_h.

    Returns:
      [B, T, H]: at position t the hidden state h_{t-1} after positions < t (zeros at t = 0).
    """
    return lstm.lstm_hidden_states(input_gates, recurrent_kernel)


HPARAMS = ("hidden_size", "dkt_embedding_size", "dropout", "init_std")


def parameters(n_skills, hparams):
    """Creates (or, under a reusing scope, fetches) every DKT variable; call inside variable scope "dkt".

    Returns:
      dict: bias b [4H] (forget-gate part at 1), recurrent_kernel W_h [H, 4H], input_kernel W_x
      ([2 n_skills, 4H] for the one-hot input, else [E, 4H]), embedding X [2 n_skills, E] (None for the
      one-hot input), output_kernel W_out [H, n_skills], output_bias b_out [n_skills].
    """
    hidden_size = int(hparams["hidden_size"])
    embedding_size = int(hparams["dkt_embedding_size"])
    params = {"embedding": None}
    with tf.variable_scope("lstm"):
        params["bias"] = tf.get_variable(
            "bias", [4 * hidden_size],
            initializer=tf.constant_initializer([0.0] * hidden_size + [1.0] * hidden_size
                                                + [0.0] * (2 * hidden_size)))
        params["recurrent_kernel"] = tf.get_variable("recurrent_kernel", [hidden_size, 4 * hidden_size],
                                                     initializer=tf.orthogonal_initializer())
        if embedding_size == 0:
            params["input_kernel"] = tf.get_variable("input_kernel", [2 * n_skills, 4 * hidden_size],
                                                     initializer=tf.glorot_uniform_initializer())
        else:
            params["embedding"] = tf.get_variable(
                "embedding", [2 * n_skills, embedding_size],
                initializer=tf.random_normal_initializer(stddev=float(hparams["init_std"])))
            params["input_kernel"] = tf.get_variable("input_kernel", [embedding_size, 4 * hidden_size],
                                                     initializer=tf.glorot_uniform_initializer())
    with tf.variable_scope("prediction"):
        params["output_kernel"] = tf.get_variable("kernel", [hidden_size, n_skills],
                                                  initializer=tf.glorot_uniform_initializer())
        params["output_bias"] = tf.get_variable("bias", [n_skills], initializer=tf.zeros_initializer())
    return params


def input_gates(interactions, params):
    """x_t W_x + b for every position: the part of the gate pre-activations that needs no recurrence.

    Args:
      interactions: int32 [B, T], q_t + y_t * n_skills.
      params: from `parameters`.

    Returns:
      [B, T, 4H] float32.
    """
    if params["embedding"] is None:  # one-hot(j) W_x is row j of W_x
        return tf.gather(params["input_kernel"], interactions) + params["bias"]
    inputs = tf.gather(params["embedding"], interactions)                          # [B, T, E]
    embedding_size, gate_size = params["input_kernel"].shape.as_list()
    gates = tf.matmul(tf.reshape(inputs, [-1, embedding_size]), params["input_kernel"]) + params["bias"]
    return tf.reshape(gates, tf.concat([tf.shape(interactions), [gate_size]], axis=0))


def gate_table(params):
    """x W_x + b for every interaction index j = q + y n_skills: [2 n_skills, 4H] float32.

    The same rows as `input_gates` (row j is its value at a position with interaction j), computed once per
    index: a training batch has B*T = 6,400 positions but only 2 n_skills = 220 indices at the paper's
    shapes, so this skips the [B*T, E] x [E, 4H] matmul and its two gradient matmuls. `input_gates` stays
    the cheaper choice for a few positions (one serving step).
    """
    if params["embedding"] is None:  # one-hot(j) W_x is row j of W_x
        return params["input_kernel"] + params["bias"]
    return tf.matmul(params["embedding"], params["input_kernel"]) + params["bias"]


CARRIES_STATE = True  # build takes `carried` (models/__init__.py)


def build(skills, answers, n_skills, hparams, training, batch_parts=1, carried=None):
    """Builds the DKT graph from the inputs to the per-position logits.

    Args:
      skills: int32 [B, T] skill indices in [0, n_skills).
      answers: int32 [B, T] 0/1 answers.
      n_skills: number of skills.
      hparams: dict with hidden_size (H), dkt_embedding_size (E; 0 = one-hot input), dropout (rate on the
        LSTM output), init_std (embedding).
      training: bool [] tensor, enables dropout.
      batch_parts: the recurrence as this many loops over parts of the batch (speed only).
      carried: None (every row starts from h = c = 0), or (reset bool [B], states float32 [B, 2H]): a row
        starts from zeros where reset, else from its states row (the layout of `state_size`).

    Returns:
      dict with logits: [B, T], logit of P(answer t correct | positions < t); skill_correlation_weights: None;
      with `carried`, final_state [B, 2H]: (h, c) after position T-1 (not differentiated).
    """
    outputs = {}
    with tf.variable_scope("dkt"):
        params = parameters(n_skills, hparams)
        with tf.variable_scope("lstm"):
            # The loop looks up each step's input gates in the per-interaction table (models/lstm.py).
            if carried is None:
                states = lstm.lstm_hidden_states_from_table(
                    gate_table(params), skills + answers * n_skills, params["recurrent_kernel"],
                    batch_parts=batch_parts)                                                  # [B, T, H]
            else:
                reset, given = carried
                given = tf.where(reset, tf.zeros_like(given), given)
                hidden_size = int(hparams["hidden_size"])
                states, final_h, final_c = lstm.lstm_hidden_states_carried(
                    gate_table(params), skills + answers * n_skills, params["recurrent_kernel"],
                    given[:, :hidden_size], given[:, hidden_size:], batch_parts=batch_parts)
                outputs["final_state"] = tf.concat([final_h, final_c], axis=1)
        states = dropout_if_training(states, float(hparams["dropout"]), training)
        # Only the logit of q_t is needed at position t: gather its column of W_out instead of all n_skills.
        skill_kernels = tf.gather(tf.transpose(params["output_kernel"]), skills)  # [B, T, H]
        logits = tf.reduce_sum(states * skill_kernels, axis=-1) + tf.gather(params["output_bias"], skills)
    return dict(outputs, logits=logits, skill_correlation_weights=None)


def knowledge_state(skills, answers, n_skills, hparams):
    """P(correct) of every skill after each step: sigmoid(W_out h_t + b_out), dropout off.

    Uses the variables of `build` (call it after `build`, in the same graph). Position t of the result is the
    state after the answer of step t, so result[b, t, q_{t+1}] equals build's p[b, t + 1].

    Returns:
      [B, T, n_skills] float32.
    """
    with tf.variable_scope("dkt", reuse=True):
        params = parameters(n_skills, hparams)
        gates = input_gates(skills + answers * n_skills, params)                 # [B, T, 4H]
        # One extra (unused) input step: lstm_hidden_states returns at position t the state BEFORE step t,
        # so with T + 1 steps its positions 1..T are the states after each step.
        padded = tf.concat([gates, tf.zeros_like(gates[:, :1])], axis=1)
        states = lstm_hidden_states(padded, params["recurrent_kernel"])[:, 1:]   # [B, T, H]
        logits = tf.einsum("bth,hq->btq", states, params["output_kernel"]) + params["output_bias"]
    return tf.sigmoid(logits)


def knowledge_state_floats(n_skills, hparams):
    """Floats `knowledge_state` holds per sequence step: the LSTM state and gates, and n_skills logits."""
    return 6 * int(hparams["hidden_size"]) + n_skills


# -- One student's state, answer by answer (utils/serving.py builds the serving graph from these) ------------
#
# The state of a student is the LSTM's (h, c) after its last answer, concatenated to [2H]: what the recurrence
# carries, so a history can be continued from a stored state without a SEQ_LEN cut.

def state_size(n_skills, hparams):
    """Floats of one student's state: h and c, 2H."""
    return 2 * int(hparams["hidden_size"])


def state_tables(n_skills, hparams):
    """Nothing to precompute: each step reads the variables directly (an input-gate table for every
    interaction would cost more than the one row a step needs)."""
    return {}


def initial_state(n_skills, hparams):
    """[2H] the state of a student with no answer yet: h = c = 0, as in `build`."""
    return tf.zeros([state_size(n_skills, hparams)])


def predict_from_state(states, skills, tables, n_skills, hparams):
    """P(correct) of the next answer on each of `skills`: sigmoid(W_out[:, q] . h + b_out[q]) (dropout off).

    Args:
      states: [B, 2H] float32 (h, c).
      skills: int32 [B, K] skill indices.
      tables: from `state_tables` (unused).
      n_skills, hparams: the run's.

    Returns:
      [B, K] float32.
    """
    with tf.variable_scope("dkt", reuse=True):
        params = parameters(n_skills, hparams)
    hidden = states[:, :int(hparams["hidden_size"])]                                   # [B, H]
    skill_kernels = tf.gather(tf.transpose(params["output_kernel"]), skills)           # [B, K, H]
    logits = tf.matmul(skill_kernels, hidden[:, :, None])[:, :, 0] + tf.gather(params["output_bias"], skills)
    return tf.sigmoid(logits)


def update_state(states, skills, answers, tables, n_skills, hparams):
    """The states after one answer each: one LSTM step on the interaction q + y n_skills.

    Args:
      states: [B, 2H] float32 (h, c).
      skills: int32 [B] skill indices; answers: int32 [B] 0/1.
      tables: from `state_tables` (unused).

    Returns:
      [B, 2H] float32.
    """
    with tf.variable_scope("dkt", reuse=True):
        params = parameters(n_skills, hparams)
    hidden_size = int(hparams["hidden_size"])
    gates = input_gates((skills + answers * n_skills)[:, None], params)[:, 0]          # [B, 4H]
    h, c = lstm.lstm_step(gates, states[:, :hidden_size], states[:, hidden_size:], params["recurrent_kernel"])
    return tf.concat([h, c], axis=1)


def state_layout(hparams):
    """How a state vector is laid out, in words (for export.json)."""
    hidden_size = int(hparams["hidden_size"])
    return "DKT LSTM state: state[:%d] = h, state[%d:] = c (H = %d)" % (hidden_size, hidden_size, hidden_size)

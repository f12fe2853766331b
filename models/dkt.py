"""Deep Knowledge Tracing (Piech et al., NeurIPS 2015): an LSTM over the (skill, answer) history.

    x_t = X (q_t + y_t * n_skills)                       input: embedding (or one-hot) of the interaction
    [i; f; o] = sigmoid(W_x x_t + W_h h_{t-1} + b)[:3H]   gates (one fused [., 4H] matmul for all four)
    g = tanh(W_x x_t + W_h h_{t-1} + b)[3H:]
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
    p_t = sigmoid(W_out[:, q_t] . h_{t-1} + b_out[q_t])  prediction for position t from positions < t

h_{-1} = c_{-1} = 0, so the prediction for position 0 is sigmoid(b_out[q_0]): a learned per-skill prior, and
DKT scores the same positions as DKVMN (every non-padded one).

Input: with `dkt_embedding_size` None (the default) x_t is a trainable embedding of hidden_size units; with
a positive value, of that size; with 0 it is the one-hot vector of the paper, implemented as a row lookup in
W_x (one-hot(j) W_x = W_x[j]), which never builds the [B, T, 2 n_skills] tensor.

Speed: x_t W_x + b is computed for all positions at once before the loop, so the loop does one [B, H] x
[H, 4H] matmul per step; the output layer gathers the one column of W_out it needs per position instead of
computing all n_skills logits. The LSTM is written over tf.get_variable weights (no rnn_cell / Keras layers,
which ignore tf.set_random_seed and do not exist with Keras 3).

Initialisation (Keras' LSTM defaults): W_x Glorot uniform, W_h orthogonal, b zeros with the forget-gate
bias at 1; embedding ~ normal(0, init_std); W_out Glorot uniform, b_out zeros. Seeds come from the graph seed.
"""
import tensorflow.compat.v1 as tf

from models.layers import dropout_if_training


def lstm_hidden_states(input_gates, recurrent_kernel):
    """Runs the LSTM over time given the input part of its gate pre-activations.

    Args:
      input_gates: [B, T, 4H] x_t W_x + b for every position, gate order [i, f, o, g].
      recurrent_kernel: [H, 4H] W_h.

    Returns:
      [B, T, H]: at position t the hidden state h_{t-1} after positions < t (zeros at t = 0).
    """
    hidden_size = tf.dimension_value(recurrent_kernel.shape[0])
    gates_by_time = tf.transpose(input_gates, [1, 0, 2])                          # [T, B, 4H]
    n_steps = tf.shape(gates_by_time)[0]
    initial = tf.zeros(tf.stack([tf.shape(gates_by_time)[1], hidden_size]))       # [B, H]
    inputs = tf.TensorArray(tf.float32, size=n_steps).unstack(gates_by_time)
    outputs = tf.TensorArray(tf.float32, size=n_steps, element_shape=tf.TensorShape([None, hidden_size]))

    def step(t, h, c, outputs):
        z = inputs.read(t) + tf.matmul(h, recurrent_kernel)                     # [B, 4H]
        i, f, o = tf.split(tf.sigmoid(z[:, :3 * hidden_size]), 3, axis=1)
        c = f * c + i * tf.tanh(z[:, 3 * hidden_size:])
        h = o * tf.tanh(c)
        return t + 1, h, c, outputs.write(t, h)

    _, _, _, outputs = tf.while_loop(
        lambda t, h, c, outputs: t < n_steps, step, [tf.constant(0), initial, initial, outputs])
    # Shift by one: position t sees h_{t-1}; the state after the last position predicts nothing. (Running
    # T - 1 steps instead saves 1/T of the loop but breaks T = 1: TF cannot stack an empty TensorArray.)
    states = tf.concat([initial[None], outputs.stack()[:-1]], axis=0)             # [T, B, H]
    return tf.transpose(states, [1, 0, 2])


def build(skills, answers, n_skills, hparams, training):
    """Builds the DKT graph from the inputs to the per-position logits.

    Args:
      skills: int32 [B, T] skill indices in [0, n_skills).
      answers: int32 [B, T] 0/1 answers.
      n_skills: number of skills.
      hparams: dict with hidden_size (H), dkt_embedding_size (None = H, 0 = one-hot), dropout (rate on the
        LSTM output), init_std (embedding).
      training: bool [] tensor, enables dropout.

    Returns:
      dict with logits: [B, T], logit of P(answer t correct | positions < t); skill_correlation_weights: None.
    """
    hidden_size = int(hparams["hidden_size"])
    embedding_size = hparams.get("dkt_embedding_size")
    embedding_size = hidden_size if embedding_size is None else int(embedding_size)
    interactions = skills + answers * n_skills                                     # [B, T] in [0, 2n)

    with tf.variable_scope("dkt"):
        with tf.variable_scope("lstm"):
            gate_bias = tf.get_variable(
                "bias", [4 * hidden_size],
                initializer=tf.constant_initializer([0.0] * hidden_size + [1.0] * hidden_size
                                                    + [0.0] * (2 * hidden_size)))
            recurrent_kernel = tf.get_variable("recurrent_kernel", [hidden_size, 4 * hidden_size],
                                               initializer=tf.orthogonal_initializer())
            if embedding_size == 0:
                input_kernel = tf.get_variable("input_kernel", [2 * n_skills, 4 * hidden_size],
                                               initializer=tf.glorot_uniform_initializer())
                input_gates = tf.gather(input_kernel, interactions) + gate_bias    # [B, T, 4H]
            else:
                embedding = tf.get_variable(
                    "embedding", [2 * n_skills, embedding_size],
                    initializer=tf.random_normal_initializer(stddev=float(hparams["init_std"])))
                input_kernel = tf.get_variable("input_kernel", [embedding_size, 4 * hidden_size],
                                               initializer=tf.glorot_uniform_initializer())
                inputs = tf.gather(embedding, interactions)                        # [B, T, E]
                input_gates = tf.matmul(tf.reshape(inputs, [-1, embedding_size]), input_kernel)
                input_gates = tf.reshape(input_gates + gate_bias,
                                         tf.concat([tf.shape(skills), [4 * hidden_size]], axis=0))
            states = lstm_hidden_states(input_gates, recurrent_kernel)             # [B, T, H]

        states = dropout_if_training(states, float(hparams["dropout"]), training)

        with tf.variable_scope("prediction"):
            kernel = tf.get_variable("kernel", [hidden_size, n_skills],
                                     initializer=tf.glorot_uniform_initializer())
            bias = tf.get_variable("bias", [n_skills], initializer=tf.zeros_initializer())
            skill_kernels = tf.gather(tf.transpose(kernel), skills)                # [B, T, H]
            logits = tf.reduce_sum(states * skill_kernels, axis=-1) + tf.gather(bias, skills)  # [B, T]

    return {"logits": logits, "skill_correlation_weights": None}

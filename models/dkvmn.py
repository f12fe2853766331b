"""Dynamic Key-Value Memory Network (Zhang, Shi, King and Yeung, WWW 2017, arXiv 1611.08108).

The equations, with q_t the skill and y_t the 0/1 answer at position t:

    k_t = A q_t                                  key embedding               (A: [n_skills, d_k])
    w_t(i) = softmax_i(k_t . M^k(i))             correlation weight          (M^k: [N, d_k])
    r_t = sum_i w_t(i) M^v_t(i)                  read content                (M^v_0: [N, d_v])
    f_t = tanh(W1 [r_t; k_t] + b1)               summary                     (final_dim units)
    p_t = sigmoid(W2 f_t + b2)                   prediction
    v_t = B (q_t + y_t * n_skills)               value embedding             (B: [2 n_skills, d_v])
    e_t = sigmoid(E v_t + b_e)                   erase
    a_t = tanh(D v_t + b_a)                      add
    M^v_{t+1}(i) = M^v_t(i) * (1 - w_t(i) e_t) + w_t(i) a_t

p_t reads M^v_t, the memory written by positions < t only, so it never sees y_t. With `key_projection` (the
authors' MXNet code, which made the paper's figures) the summary layer gets tanh(W_k k_t + b_k) (final_dim
units) instead of k_t.

Only the M^v recurrence is sequential (models.memory.value_memory_reads); k, w, v, e and a are computed for
all positions at once before it and f, p for all positions at once after it.

Initialisation: embeddings and memories ~ normal(0, init_std) as in the paper. Dense kernels use Glorot
uniform and biases start at zero: Glorot scales with fan-in + fan-out, so the tanh/sigmoid layers start out of
saturation whatever d_v and final_dim are (normal(0, 0.1) on a 250-wide input gives pre-activations of
std ~1.6 * |x|, already saturating tanh at d_v = 200). Every initialiser takes its seed from the graph seed
(tf.set_random_seed, set by the run), so the same seed gives the same initial weights.
"""
import tensorflow.compat.v1 as tf

from models.memory import value_memory_reads


def dense(inputs, units, activation=None):
    """A fully connected layer over the last axis, in the current variable scope.

    Args:
      inputs: [..., d_in] float32 (d_in must be static).
      units: number of outputs.
      activation: applied to the result, or None.

    Returns:
      [..., units]. Variables: `kernel` [d_in, units] (Glorot uniform), `bias` [units] (zeros).
    """
    d_in = tf.dimension_value(inputs.shape[-1])
    kernel = tf.get_variable("kernel", [d_in, units], initializer=tf.glorot_uniform_initializer())
    bias = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
    outputs = tf.matmul(tf.reshape(inputs, [-1, d_in]), kernel) + bias
    outputs = tf.reshape(outputs, tf.concat([tf.shape(inputs)[:-1], [units]], axis=0))
    return activation(outputs) if activation is not None else outputs


def correlation_weight(keys, key_memory):
    """w = softmax over the N slots of keys . M^k (paper eq. 1).

    Args:
      keys: [..., d_k] key embeddings k.
      key_memory: [N, d_k] M^k.

    Returns:
      [..., N], each row summing to 1.
    """
    d_k = tf.dimension_value(key_memory.shape[-1])
    similarity = tf.matmul(tf.reshape(keys, [-1, d_k]), key_memory, transpose_b=True)   # [*, N]
    out_shape = tf.concat([tf.shape(keys)[:-1], tf.shape(key_memory)[:1]], axis=0)
    return tf.reshape(tf.nn.softmax(similarity), out_shape)


def dropout_if_training(x, rate, training):
    """Dropout with drop probability `rate` when `training` (a bool scalar tensor) is True, else identity.

    Args:
      x: any float32 tensor.
      rate: float in [0, 1); 0 builds no dropout op at all.
      training: bool [] tensor.

    Returns:
      a tensor of the shape of x.
    """
    if not rate:
        return x
    return tf.cond(training, lambda: tf.nn.dropout(x, rate=rate), lambda: x)


def build(skills, answers, n_skills, hparams, training):
    """Builds the DKVMN graph from the inputs to the per-position logits.

    Args:
      skills: int32 [B, T] skill indices in [0, n_skills).
      answers: int32 [B, T] 0/1 answers.
      n_skills: number of skills (Q in the paper).
      hparams: dict with memory_size (N), key_dim (d_k), value_dim (d_v), final_dim, key_projection (bool),
        dropout (rate on f_t), init_std.
      training: bool [] tensor, enables dropout.

    Returns:
      dict with
        logits: [B, T], logit of P(answer t correct | positions < t);
        read_content: [B, T, d_v], r_t;
        correlation_weight: [B, T, N], w_t;
        skill_correlation_weights: [n_skills, N], softmax(A q . M^k) for every skill q.
    """
    memory_size = int(hparams["memory_size"])
    key_dim = int(hparams["key_dim"])
    value_dim = int(hparams["value_dim"])
    final_dim = int(hparams["final_dim"])
    normal = tf.random_normal_initializer(stddev=float(hparams["init_std"]))

    with tf.variable_scope("dkvmn"):
        with tf.variable_scope("key_embedding"):
            key_embedding = tf.get_variable("A", [n_skills, key_dim], initializer=normal)
            keys = tf.gather(key_embedding, skills)                                  # [B, T, d_k]
        with tf.variable_scope("key_memory"):
            key_memory = tf.get_variable("M_k", [memory_size, key_dim], initializer=normal)
        with tf.variable_scope("correlation_weight"):
            weights = correlation_weight(keys, key_memory)                           # [B, T, N]
            skill_weights = correlation_weight(key_embedding, key_memory)            # [n_skills, N]

        with tf.variable_scope("value_embedding"):
            value_embedding = tf.get_variable("B", [2 * n_skills, value_dim], initializer=normal)
            values = tf.gather(value_embedding, skills + answers * n_skills)         # [B, T, d_v]
        with tf.variable_scope("erase"):
            erase = dense(values, value_dim, tf.sigmoid)                             # [B, T, d_v]
        with tf.variable_scope("add"):
            add = dense(values, value_dim, tf.tanh)                                  # [B, T, d_v]

        with tf.variable_scope("value_memory"):
            initial_value_memory = tf.get_variable("M_v0", [memory_size, value_dim], initializer=normal)
        with tf.variable_scope("read_content"):
            reads = value_memory_reads(weights, erase, add, initial_value_memory)    # [B, T, d_v]

        summary_keys = keys
        if hparams["key_projection"]:
            with tf.variable_scope("key_projection"):
                summary_keys = dense(keys, final_dim, tf.tanh)                       # [B, T, final_dim]
        with tf.variable_scope("summary"):
            summary = dense(tf.concat([reads, summary_keys], axis=-1), final_dim, tf.tanh)
            summary = dropout_if_training(summary, float(hparams["dropout"]), training)
        with tf.variable_scope("prediction"):
            logits = dense(summary, 1)[..., 0]                                       # [B, T]

    return {
        "logits": logits,
        "read_content": reads,
        "correlation_weight": weights,
        "skill_correlation_weights": skill_weights,
    }

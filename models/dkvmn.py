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

Only the M^v recurrence is sequential (models.memory.value_memory_reads). Everything else depends on the
input through q_t or (q_t, y_t) alone, so it is computed once per skill or per (skill, answer) pair and looked
up, instead of once per position (220 table rows instead of 6,400 positions at the paper's assist2009 shapes):

    w for each skill                       softmax(A . M^k)                     [n_skills, N]
    e, a for each (skill, answer)          sigmoid(E B + b_e), tanh(D B + b_a)   [2 n_skills, d_v]
    W1 [r_t; k_t] = W1_r r_t + W1_k k_t    the key half W1_k A, per skill        [n_skills, final_dim]

so only W1_r r_t and the prediction layer run per position, after the recurrence. The results are those of
the equations above, computed in another order (tests/test_models.py checks them step by step in NumPy).

Initialisation: embeddings and memories ~ normal(0, init_std) as in the paper. Dense kernels use Glorot
uniform and biases start at zero: Glorot scales with fan-in + fan-out, so the tanh/sigmoid layers start out of
saturation whatever d_v and final_dim are (normal(0, 0.1) on a 250-wide input gives pre-activations of
std ~1.6 * |x|, already saturating tanh at d_v = 200). Every initialiser takes its seed from the graph seed
(tf.set_random_seed, set by the run), so the same seed gives the same initial weights.
"""
import tensorflow.compat.v1 as tf

from models.layers import dense, dense_variables, dropout_if_training
from models.memory import value_memory_after_each_step, value_memory_reads, value_memory_reads_carried, write

HPARAMS = ("memory_size", "key_dim", "value_dim", "final_dim", "key_projection", "dropout", "init_std")


def correlation_weight(keys, key_memory):
    """w = softmax over the N slots of keys . M^k (paper eq. 1).

    Args:
      keys: [Q, d_k] key embeddings k.
      key_memory: [N, d_k] M^k.

    Returns:
      [Q, N], each row summing to 1.
    """
    return tf.nn.softmax(tf.matmul(keys, key_memory, transpose_b=True))


def parameters(n_skills, hparams):
    """Creates (or, under a reusing scope, fetches) every DKVMN variable; call inside scope "dkvmn".

    Returns:
      dict: key_embedding A [n_skills, d_k], key_memory M^k [N, d_k], value_embedding B [2 n_skills, d_v],
      initial_value_memory M^v_0 [N, d_v], and the (kernel, bias) pairs erase, add, key_projection (None
      unless hparams["key_projection"]), summary (over [r; k], so its kernel is [d_v + key width, final_dim])
      and prediction.
    """
    memory_size, key_dim = int(hparams["memory_size"]), int(hparams["key_dim"])
    value_dim, final_dim = int(hparams["value_dim"]), int(hparams["final_dim"])
    normal = tf.random_normal_initializer(stddev=float(hparams["init_std"]))
    params = {}
    with tf.variable_scope("key_embedding"):
        params["key_embedding"] = tf.get_variable("A", [n_skills, key_dim], initializer=normal)
    with tf.variable_scope("key_memory"):
        params["key_memory"] = tf.get_variable("M_k", [memory_size, key_dim], initializer=normal)
    with tf.variable_scope("value_embedding"):
        params["value_embedding"] = tf.get_variable("B", [2 * n_skills, value_dim], initializer=normal)
    with tf.variable_scope("erase"):
        params["erase"] = dense_variables(value_dim, value_dim)
    with tf.variable_scope("add"):
        params["add"] = dense_variables(value_dim, value_dim)
    with tf.variable_scope("value_memory"):
        params["initial_value_memory"] = tf.get_variable("M_v0", [memory_size, value_dim], initializer=normal)
    params["key_projection"] = None
    key_width = key_dim
    if hparams["key_projection"]:
        with tf.variable_scope("key_projection"):
            params["key_projection"] = dense_variables(key_dim, final_dim)
        key_width = final_dim
    with tf.variable_scope("summary"):
        params["summary"] = dense_variables(value_dim + key_width, final_dim)
    with tf.variable_scope("prediction"):
        params["prediction"] = dense_variables(final_dim, 1)
    return params


def input_tables(params):
    """What depends on the input only, computed once per skill or per (skill, answer) index.

    Returns:
      dict: correlation_weight [n_skills, N] (w of each skill), erase and add [2 n_skills, d_v] (e and a of
      each interaction q + y n_skills), summary_key_term [n_skills, final_dim] (W1_k k, the key half of
      the summary layer's pre-activation, with the key projection applied first when there is one).
    """
    keys = params["key_embedding"]
    if params["key_projection"] is not None:
        keys = dense(keys, params["key_projection"], tf.tanh)
    summary_kernel, _ = params["summary"]
    key_width = keys.shape.as_list()[-1]
    return {
        "correlation_weight": correlation_weight(params["key_embedding"], params["key_memory"]),
        "erase": dense(params["value_embedding"], params["erase"], tf.sigmoid),
        "add": dense(params["value_embedding"], params["add"], tf.tanh),
        "summary_key_term": tf.matmul(keys, summary_kernel[-key_width:]),
    }


def read_out(reads, summary_key_terms, params, dropout, training):
    """p's logit from the read content: f = tanh(W1_r r + W1_k k + b1), logit = W2 f + b2.

    Args:
      reads: [..., d_v] read contents r.
      summary_key_terms: W1_k k for the same positions, broadcastable to [..., final_dim].
      params: from `parameters`.
      dropout: drop rate on f while training.
      training: bool [] tensor.

    Returns:
      [...] logits.
    """
    summary_kernel, summary_bias = params["summary"]
    value_dim = reads.shape.as_list()[-1]
    summary = dense(reads, (summary_kernel[:value_dim], summary_bias)) + summary_key_terms
    summary = dropout_if_training(tf.tanh(summary), dropout, training)
    return dense(summary, params["prediction"])[..., 0]


CARRIES_STATE = True  # build takes `carried` (models/__init__.py)


def build(skills, answers, n_skills, hparams, training, batch_parts=1, carried=None):
    """Builds the DKVMN graph from the inputs to the per-position logits.

    Args:
      skills: int32 [B, T] skill indices in [0, n_skills).
      answers: int32 [B, T] 0/1 answers.
      n_skills: number of skills (Q in the paper).
      hparams: dict with memory_size (N), key_dim (d_k), value_dim (d_v), final_dim, key_projection (bool),
        dropout (rate on f_t), init_std.
      training: bool [] tensor, enables dropout.
      batch_parts: the recurrence as this many loops over parts of the batch (speed only).
      carried: None (every row starts from the trained M^v_0), or (reset bool [B], states float32 [B, N d_v]):
        a row starts from M^v_0 where reset (which then gets that row's gradient), else from its states row
        (the layout of `state_size`).

    Returns:
      dict with
        logits: [B, T], logit of P(answer t correct | positions < t);
        read_content: [B, T, d_v], r_t;
        skill_correlation_weights: [n_skills, N], softmax(A q . M^k) for every skill q;
        with `carried`, final_state [B, N d_v]: M^v after position T-1 (not differentiated).
    """
    outputs = {}
    with tf.variable_scope("dkvmn"):
        params = parameters(n_skills, hparams)
        tables = input_tables(params)
        interactions = skills + answers * n_skills
        weights = tf.gather(tables["correlation_weight"], skills)                    # [B, T, N]
        erase = tf.gather(tables["erase"], interactions)                             # [B, T, d_v]
        add = tf.gather(tables["add"], interactions)                                 # [B, T, d_v]
        with tf.variable_scope("read_content"):
            if carried is None:
                reads = value_memory_reads(weights, erase, add, params["initial_value_memory"],
                                           batch_parts=batch_parts)                   # [B, T, d_v]
            else:
                reset, given = carried
                memory_shape = params["initial_value_memory"].shape.as_list()
                given = tf.reshape(given, [-1] + memory_shape)
                initial = tf.where(reset, tf.tile(params["initial_value_memory"][None],
                                                  tf.stack([tf.shape(given)[0], 1, 1])), given)
                reads, final_memory = value_memory_reads_carried(weights, erase, add, initial,
                                                                 batch_parts=batch_parts)
                outputs["final_state"] = tf.reshape(final_memory, [-1, state_size(n_skills, hparams)])
        key_terms = tf.gather(tables["summary_key_term"], skills)                    # [B, T, final_dim]
        logits = read_out(reads, key_terms, params, float(hparams["dropout"]), training)   # [B, T]

    return dict(outputs, logits=logits, read_content=reads,
                skill_correlation_weights=tables["correlation_weight"])


def knowledge_state(skills, answers, n_skills, hparams):
    """P(correct) of every skill after each step, dropout off.

    The memory after the write of step t, M^v_{t+1}, read with every skill's correlation weight
    (r_q = sum_i w_q(i) M^v_{t+1}(i)) and passed through the model's own summary and prediction layers on
    [r_q; k_q]. Uses the variables of `build` (call it after `build`, in the same graph);
    result[b, t, q_{t+1}] equals build's p[b, t + 1].

    Cost: it keeps the memory of every step, [B, T, N, d_v], and reads it for every skill, [B, T, n_skills,
    d_v]; callers size their batches for that.

    Returns:
      [B, T, n_skills] float32.
    """
    with tf.variable_scope("dkvmn", reuse=True):
        params = parameters(n_skills, hparams)
    tables = input_tables(params)
    interactions = skills + answers * n_skills
    memories = value_memory_after_each_step(tf.gather(tables["correlation_weight"], skills),
                                            tf.gather(tables["erase"], interactions),
                                            tf.gather(tables["add"], interactions),
                                            params["initial_value_memory"])              # [B, T, N, d_v]
    reads = tf.einsum("qn,btnd->btqd", tables["correlation_weight"], memories)           # [B, T, Q, d_v]
    logits = read_out(reads, tables["summary_key_term"], params, 0.0, tf.constant(False))  # [B, T, Q]
    return tf.sigmoid(logits)


def knowledge_state_floats(n_skills, hparams):
    """Floats `knowledge_state` holds per sequence step: the memory [N, d_v] and its read for every skill
    [n_skills, d_v + final_dim] (callers size their batches with it)."""
    value_dim = int(hparams["value_dim"])
    return int(hparams["memory_size"]) * value_dim + n_skills * (value_dim + int(hparams["final_dim"]))


# -- One student's state, answer by answer (utils/serving.py builds the serving graph from these) ------------
#
# The state of a student is the value memory M^v_t, [N, d_v] flattened row-major to [N * d_v]: what the
# recurrence carries, so a history can be continued from a stored state without a SEQ_LEN cut.

def state_size(n_skills, hparams):
    """Floats of one student's state: the value memory M^v, N * d_v."""
    return int(hparams["memory_size"]) * int(hparams["value_dim"])


def state_tables(n_skills, hparams):
    """What the state functions read that depends on the trained variables alone (`input_tables`), so a
    serving graph can compute it once instead of at every call. The variables are build's, reused.

    Returns:
      dict of tensors: correlation_weight [n_skills, N], erase and add [2 n_skills, d_v], summary_key_term
      [n_skills, final_dim].
    """
    with tf.variable_scope("dkvmn", reuse=True):
        return input_tables(parameters(n_skills, hparams))


def initial_state(n_skills, hparams):
    """[N * d_v] the state of a student with no answer yet: the trained M^v_0, flattened."""
    with tf.variable_scope("dkvmn", reuse=True):
        params = parameters(n_skills, hparams)
    return tf.reshape(params["initial_value_memory"], [-1])


def predict_from_state(states, skills, tables, n_skills, hparams):
    """P(correct) of the next answer on each of `skills`, for students in the given states (dropout off).

    r_q = sum_i w_q(i) M^v(i), then the model's summary and prediction layers (`read_out`).

    Args:
      states: [B, N * d_v] float32 value memories.
      skills: int32 [B, K] skill indices.
      tables: from `state_tables` (or the same tensors cached).
      n_skills, hparams: the run's.

    Returns:
      [B, K] float32.
    """
    with tf.variable_scope("dkvmn", reuse=True):
        params = parameters(n_skills, hparams)
    memory = tf.reshape(states, [-1, int(hparams["memory_size"]), int(hparams["value_dim"])])  # [B, N, d_v]
    weights = tf.gather(tables["correlation_weight"], skills)                         # [B, K, N]
    reads = tf.matmul(weights, memory)                                                 # [B, K, d_v]
    key_terms = tf.gather(tables["summary_key_term"], skills)                          # [B, K, final_dim]
    return tf.sigmoid(read_out(reads, key_terms, params, 0.0, tf.constant(False)))


def update_state(states, skills, answers, tables, n_skills, hparams):
    """The states after one answer each: the DKVMN write (models.memory.write) of (skill, answer).

    Args:
      states: [B, N * d_v] float32 value memories.
      skills: int32 [B] skill indices; answers: int32 [B] 0/1.
      tables: from `state_tables`.

    Returns:
      [B, N * d_v] float32.
    """
    memory = tf.reshape(states, [-1, int(hparams["memory_size"]), int(hparams["value_dim"])])
    interactions = skills + answers * n_skills
    memory = write(memory, tf.gather(tables["correlation_weight"], skills),
                   tf.gather(tables["erase"], interactions), tf.gather(tables["add"], interactions))
    return tf.reshape(memory, [-1, state_size(n_skills, hparams)])


def state_layout(hparams):
    """How a state vector is laid out, in words (for export.json)."""
    return ("DKVMN value memory M^v [N=%d, d_v=%d], row-major: state[i * %d + j] = M^v(slot i, unit j)"
            % (int(hparams["memory_size"]), int(hparams["value_dim"]), int(hparams["value_dim"])))

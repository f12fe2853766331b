"""Predicted mastery of every skill after every step: the knowledge state of the papers' heatmaps.

    kt = models.build_graph(model_name, n_skills, hparams)
    mastery = skill_mastery(kt, model_name, n_skills)   # [B, T, n_skills], same variables as kt

mastery[b, t, q] is the model's P(correct) for skill q at the NEXT position, given positions <= t (the state
after the answer of step t has been written):

- DKVMN: memory M^v_{t+1} (after the write of step t) read with every skill's correlation weight,
  r_q = sum_i w_q(i) M^v_{t+1}(i), then the model's own summary and prediction layers on [r_q; k_q].
- DKT: sigmoid(W_out h_t + b_out), the whole output vector after the LSTM has read step t.

So mastery[b, t, q_{t+1}] equals the model's p[b, t + 1] (the tests check it). Nothing here creates
variables: every weight is the model's, fetched with tf.get_variable under reuse in the model's scopes, and
the layers are the model modules' own functions. Dropout is off (inference only). No training op uses it.

Cost: the DKVMN version keeps the memory of every step, [B, T, N, d_v], and reads it for every skill,
[B, T, n_skills, d_v]: predict.py sizes its batches for that.
"""
import tensorflow.compat.v1 as tf

from models import dkt, dkvmn


def skill_mastery(kt, model_name, n_skills):
    """[B, T, n_skills] float32: P(correct) of every skill after each step (see the module docstring).

    Args:
      kt: the KTGraph built by models.build_graph in the current default graph.
      model_name: "dkvmn" or "dkt".
      n_skills: the n_skills the graph was built with.
    """
    if model_name == "dkvmn":
        return tf.sigmoid(_dkvmn_logits(kt.skills, kt.answers, n_skills, kt.hparams))
    if model_name == "dkt":
        return tf.sigmoid(_dkt_logits(kt.skills, kt.answers, n_skills, kt.hparams))
    raise ValueError("no mastery for model %r" % (model_name,))


def memory_after_each_step(w, e, a, initial_value_memory):
    """M^v_{t+1} for every t: [B, T, N, d_v], the value memory after the write of step t (DKVMN eq. 7-9)."""
    batch_size = tf.shape(w)[0]
    memory = tf.tile(initial_value_memory[None], [batch_size, 1, 1])               # [B, N, d_v]

    def step(memory, inputs):
        w_t, e_t, a_t = inputs
        w_col = w_t[:, :, None]
        return memory * (1.0 - w_col * e_t[:, None, :]) + w_col * a_t[:, None, :]

    time_major = [tf.transpose(x, [1, 0, 2]) for x in (w, e, a)]
    memories = tf.scan(step, time_major, initializer=memory)                       # [T, B, N, d_v]
    return tf.transpose(memories, [1, 0, 2, 3])


def _dkvmn_logits(skills, answers, n_skills, hp):
    with tf.variable_scope("dkvmn", reuse=True):
        params = dkvmn.parameters(n_skills, hp)
    tables = dkvmn.input_tables(params)
    interactions = skills + answers * n_skills
    memories = memory_after_each_step(tf.gather(tables["correlation_weight"], skills),
                                      tf.gather(tables["erase"], interactions),
                                      tf.gather(tables["add"], interactions),
                                      params["initial_value_memory"])                       # [B, T, N, d_v]
    reads = tf.einsum("qn,btnd->btqd", tables["correlation_weight"], memories)              # [B, T, Q, d_v]
    no_dropout = tf.constant(False)
    return dkvmn.read_out(reads, tables["summary_key_term"], params, 0.0, no_dropout)        # [B, T, Q]


def _dkt_logits(skills, answers, n_skills, hp):
    hidden_size = int(hp["hidden_size"])
    embedding_size = hp.get("dkt_embedding_size")
    embedding_size = hidden_size if embedding_size is None else int(embedding_size)
    interactions = skills + answers * n_skills
    with tf.variable_scope("dkt", reuse=True):
        with tf.variable_scope("lstm"):
            gate_bias = tf.get_variable("bias")
            recurrent_kernel = tf.get_variable("recurrent_kernel")
            input_kernel = tf.get_variable("input_kernel")
            if embedding_size == 0:
                input_gates = tf.gather(input_kernel, interactions) + gate_bias             # [B, T, 4H]
            else:
                inputs = tf.gather(tf.get_variable("embedding"), interactions)              # [B, T, E]
                input_gates = tf.einsum("bte,eg->btg", inputs, input_kernel) + gate_bias
        # One extra (unused) input step: lstm_hidden_states returns at position t the state BEFORE step t,
        # so with T + 1 steps its positions 1..T are the states h_0 .. h_{T-1} after each step.
        padded = tf.concat([input_gates, tf.zeros_like(input_gates[:, :1])], axis=1)
        states = dkt.lstm_hidden_states(padded, recurrent_kernel)[:, 1:]                    # [B, T, H]
        with tf.variable_scope("prediction"):
            kernel = tf.get_variable("kernel")
            bias = tf.get_variable("bias")
        return tf.einsum("bth,hq->btq", states, kernel) + bias                              # [B, T, Q]

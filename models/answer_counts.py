"""What the logistic-regression baselines (IRT, PFA, Best-LR) read: a student's counts of earlier answers.

At position t of a sequence, with q_t the id answered there:

    successes_t = #{s < t : q_s = q_t, y_s = 1}      failures_t = #{s < t : q_s = q_t, y_s = 0}
    total_successes_t = #{s < t : y_s = 1}           total_failures_t = #{s < t : y_s = 0}

Only positions BEFORE t are counted, so a prediction never sees its own answer. In the training graph the
counts come from the (skill, answer) tensors themselves: a [B, T, T] comparison of every position with every
earlier one (no [B, T, n_skills] tensor, so an item-level data set with thousands of ids costs no more than
a skill-level one; T is at most SEQ_LEN). Padding lies after a row's real positions, so it is never counted.

Serving (utils/serving.py) carries the same counts as the student's state, [2 n_skills + 2] floats:

    state[:n]      = successes per id       state[n:2n] = failures per id
    state[2n]      = total successes        state[2n+1] = total failures            (n = n_skills)

so that `evaluate.py --carry_state true` counts the whole history, as the serving graph carries DKT's and
DKVMN's state. The regression itself lives in the model files: each gives a function
`logits_from_counts(skills, counts, params, hparams)` of the ids and a `Counts` of the same shape.
"""
import collections

import tensorflow.compat.v1 as tf

Counts = collections.namedtuple("Counts", ["successes", "failures", "total_successes", "total_failures"])


def prior_counts(skills, answers):
    """The counts of the module docstring at every position, from positions < t only.

    Args:
      skills: int32 [B, T] ids.
      answers: int32 [B, T] 0/1 answers.

    Returns:
      Counts of float32 [B, T] tensors.
    """
    correct = tf.cast(answers, tf.float32)                                              # [B, T]
    length = tf.shape(skills)[1]
    ones = tf.ones(tf.stack([length, length]))
    earlier = tf.linalg.band_part(ones, -1, 0) - tf.linalg.band_part(ones, 0, 0)        # [t, s] = s < t
    same_id = tf.cast(tf.equal(skills[:, :, None], skills[:, None, :]), tf.float32)    # [B, t, s]
    same_id_earlier = same_id * earlier[None]
    attempts = tf.reduce_sum(same_id_earlier, axis=2)
    successes = tf.reduce_sum(same_id_earlier * correct[:, None, :], axis=2)
    total_successes = tf.cumsum(correct, axis=1, exclusive=True)
    total_attempts = tf.cumsum(tf.ones_like(correct), axis=1, exclusive=True)
    return Counts(successes, attempts - successes, total_successes, total_attempts - total_successes)


def counts_after_each_step(skills, answers, n_skills):
    """Per-id counts after each step, every id at once: what `knowledge_state` reads.

    Returns:
      (successes, failures) float32 [B, T, n_skills] counting positions <= t, and (total_successes,
      total_failures) float32 [B, T, 1].
    """
    attempted = tf.one_hot(skills, n_skills)                                            # [B, T, n]
    correct = tf.cast(answers, tf.float32)[:, :, None]
    successes = tf.cumsum(attempted * correct, axis=1)
    failures = tf.cumsum(attempted * (1.0 - correct), axis=1)
    total_successes = tf.cumsum(correct, axis=1)
    total_failures = tf.cumsum(1.0 - correct, axis=1)
    return successes, failures, total_successes, total_failures


def state_size(n_skills):
    """Floats of one student's counts: per-id successes and failures, and the two totals."""
    return 2 * n_skills + 2


def initial_state(n_skills):
    """[2 n_skills + 2] zeros: no answer yet."""
    return tf.zeros([state_size(n_skills)])


def counts_from_state(states, skills, n_skills):
    """The Counts of answering `skills` [B, K] next, for students in `states` [B, S]: float32 [B, K] each."""
    rows = tf.range(tf.shape(skills)[0])[:, None] + tf.zeros_like(skills)               # [B, K]
    index = tf.stack([rows, skills], axis=-1)                                           # [B, K, 2]
    successes = tf.gather_nd(states[:, :n_skills], index)
    failures = tf.gather_nd(states[:, n_skills:2 * n_skills], index)
    shape = tf.shape(skills)
    total_successes = tf.broadcast_to(states[:, 2 * n_skills:2 * n_skills + 1], shape)
    total_failures = tf.broadcast_to(states[:, 2 * n_skills + 1:], shape)
    return Counts(successes, failures, total_successes, total_failures)


def updated_state(states, skills, answers, n_skills):
    """The states after answering `skills` [B] with `answers` [B] (0/1): [B, S]."""
    correct = tf.cast(answers, tf.float32)[:, None]                                     # [B, 1]
    attempted = tf.one_hot(skills, n_skills)                                            # [B, n]
    return states + tf.concat([attempted * correct, attempted * (1.0 - correct), correct, 1.0 - correct],
                              axis=1)


def state_layout(model_label):
    """How a counts state is laid out, in words (for export.json)."""
    return ("%s counts of earlier answers: state[:n] = successes per id, state[n:2n] = failures per id, "
            "state[2n] = total successes, state[2n+1] = total failures (n = n_skills)" % model_label)

"""The model interface (models/__init__.py) for a logistic regression on a student's earlier answers.

IRT, PFA and Best-LR differ only in their weights (`parameters`) and in how the logit is formed from the id
answered and its counts (`logits`, see models/answer_counts.py for the counts). This module turns such a pair
into the interface that DKT and DKVMN implement, so the three train in the same loop (Adam on the mean binary
cross-entropy, early stopping on validation) and serve with the same graph (the state = the counts).

Every weight starts at zero (the problem is convex: the start changes nothing but the time to get there).
The per-id weights carry an L2 penalty, baseline_l2 * sum(w^2), added to the objective (not to the logged
loss): an unpenalised per-id weight of an id answered a few times fits those few answers. The global weights
(the intercept, the weights of the student's totals) carry none. An id never seen in training keeps its
per-id weights at zero: its logit is the global part alone.

A model that reads item ids (READS_ITEMS, models/__init__.py) gets `items` [B, T] and `n_items` from
build_graph when the data has items: its `parameters(n_skills, hparams, n_items)` and `logits(skills, counted,
params, items)` take them (items None and n_items 0 without items); the others never see them.
"""
import collections

import tensorflow.compat.v1 as tf

from models import answer_counts as counting


def weight(name, shape):
    """A zero-initialised float32 variable (under the caller's variable scope)."""
    return tf.get_variable(name, shape, initializer=tf.zeros_initializer())


def build(scope, parameters, logits, skills, answers, n_skills, hparams, items=None, n_items=0):
    """The dict of a model's `build`: logits [B, T] from the counts of positions < t, no correlation weights,
    and the L2 penalty of the per-id weights (`regularization_loss`, which build_graph adds to the
    objective). `items` and `n_items`: see the module docstring (passed on only when given)."""
    with tf.variable_scope(scope):
        if items is None:
            params = parameters(n_skills, hparams)
            out = logits(skills, counting.prior_counts(skills, answers), params)
        else:
            params = parameters(n_skills, hparams, n_items)
            out = logits(skills, counting.prior_counts(skills, answers), params, items)
    squares = tf.add_n([tf.reduce_sum(tf.square(w)) for w in params["per_id"]])
    penalty = float(hparams["baseline_l2"]) * squares
    return {"logits": out, "skill_correlation_weights": None, "regularization_loss": penalty}


def reused_parameters(scope, parameters, n_skills, hparams):
    with tf.variable_scope(scope, reuse=True):
        return parameters(n_skills, hparams)


def knowledge_state(scope, parameters, logits, skills, answers, n_skills, hparams):
    """[B, T, n_skills]: P(correct) of every id at the next answer, from the counts after step t."""
    params = reused_parameters(scope, parameters, n_skills, hparams)
    successes, failures, total_successes, total_failures = counting.counts_after_each_step(
        skills, answers, n_skills)
    every_id = tf.zeros_like(successes, dtype=tf.int32) + tf.range(n_skills)                       # [B, T, n]
    return tf.sigmoid(logits(every_id, counting.Counts(successes, failures, total_successes, total_failures),
                             params))


def knowledge_state_floats(n_skills):
    """Floats knowledge_state holds per step: the per-id counts, their features and the logits."""
    return 6 * n_skills


def predict_from_state(scope, parameters, logits, states, skills, n_skills, hparams):
    """[B, K] P(correct) on `skills` [B, K] for students whose counts are `states` [B, 2 n_skills + 2]."""
    params = reused_parameters(scope, parameters, n_skills, hparams)
    return tf.sigmoid(logits(skills, counting.counts_from_state(states, skills, n_skills), params))


Interface = collections.namedtuple("Interface", [
    "build", "knowledge_state", "knowledge_state_floats", "state_size", "state_layout", "state_tables",
    "initial_state", "predict_from_state", "update_state"])


def interface(scope, parameters, logits, state_name):
    """The functions of the model interface (models/__init__.py) for the regression whose weights are made
    by `parameters` and whose logit is `logits`, under variable scope `scope`; its served state is the counts
    the regressions share (models/answer_counts.py), named `state_name` in the export's state layout. A
    regression module binds them to its own names: `build, knowledge_state, ... = regression.interface(...)`.
    """
    def build_model(skills, answers, n_skills, hparams, training, batch_parts=1, items=None, n_items=0):
        """logits [B, T] of P(answer t correct | positions < t); `training` and `batch_parts` change
        nothing; `items` only for a model that reads them (READS_ITEMS)."""
        return build(scope, parameters, logits, skills, answers, n_skills, hparams, items, n_items)

    def model_knowledge_state(skills, answers, n_skills, hparams):
        return knowledge_state(scope, parameters, logits, skills, answers, n_skills, hparams)

    def model_predict_from_state(states, skills, tables, n_skills, hparams):
        return predict_from_state(scope, parameters, logits, states, skills, n_skills, hparams)

    return Interface(
        build=build_model,
        knowledge_state=model_knowledge_state,
        knowledge_state_floats=lambda n_skills, hparams: knowledge_state_floats(n_skills),
        state_size=lambda n_skills, hparams: counting.state_size(n_skills),
        state_layout=lambda hparams: counting.state_layout(state_name),
        state_tables=lambda n_skills, hparams: {},
        initial_state=lambda n_skills, hparams: counting.initial_state(n_skills),
        predict_from_state=model_predict_from_state,
        update_state=lambda states, skills, answers, tables, n_skills, hparams: counting.updated_state(
            states, skills, answers, n_skills))

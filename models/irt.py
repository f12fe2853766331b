"""IRT, one parameter (Rasch): a logistic regression on the id answered alone.

    logit_t = b - difficulty[q_t]

with b a global intercept (what an id never seen in training is predicted from) and one L2-penalised
difficulty per id (models/regression.py). No per-student ability: the test students are not seen in
training, so an ability could not be fitted for them. It reads no history, so its prediction is the same
whether a history is cut at SEQ_LEN or carried whole; served, its state is the counts all the regressions
share (models/answer_counts.py), which it ignores.
"""
import tensorflow.compat.v1 as tf

from models import answer_counts, regression

HPARAMS = ("baseline_l2",)
READS_HISTORY = False   # the id alone: a carried state predicts what a cut one does
SCOPE = "irt"


def parameters(n_skills, hparams):
    """Creates (or, under a reusing scope, fetches) IRT's weights: intercept [] and difficulty [n_skills]
    (`per_id`, penalised)."""
    return {"intercept": regression.weight("intercept", []),
            "per_id": [regression.weight("difficulty", [n_skills])]}


def logits(skills, counted, params):
    """The logit of answering `skills` (any shape) correctly; the counts are not read."""
    return params["intercept"] - tf.gather(params["per_id"][0], skills)


def build(skills, answers, n_skills, hparams, training, batch_parts=1):
    """logits [B, T] of P(answer t correct | positions < t); `training` and `batch_parts` change nothing."""
    return regression.build(SCOPE, parameters, logits, skills, answers, n_skills, hparams)


def knowledge_state(skills, answers, n_skills, hparams):
    return regression.knowledge_state(SCOPE, parameters, logits, skills, answers, n_skills, hparams)


def knowledge_state_floats(n_skills, hparams):
    return regression.knowledge_state_floats(n_skills)


def state_size(n_skills, hparams):
    return answer_counts.state_size(n_skills)


def state_layout(hparams):
    return answer_counts.state_layout("IRT (unused by its prediction)")


def state_tables(n_skills, hparams):
    return {}


def initial_state(n_skills, hparams):
    return answer_counts.initial_state(n_skills)


def predict_from_state(states, skills, tables, n_skills, hparams):
    return regression.predict_from_state(SCOPE, parameters, logits, states, skills, n_skills, hparams)


def update_state(states, skills, answers, tables, n_skills, hparams):
    return answer_counts.updated_state(states, skills, answers, n_skills)

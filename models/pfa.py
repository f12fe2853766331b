"""PFA, Performance Factors Analysis (Pavlik, Cen, Koedinger 2009): a logistic regression on the id answered
and the student's earlier successes and failures on that id.

    logit_t = b + beta[q_t] + gamma[q_t] * successes_t + rho[q_t] * failures_t

with successes_t and failures_t the student's answers on q_t before position t (models/answer_counts.py), b a
global intercept (what an id never seen in training is predicted from) and beta, gamma, rho per id,
L2-penalised (models/regression.py). It has no recurrent state but its counts: served, the state is the
counts. The id is the skill, also where the data has an item beside it (it reads no item: READS_ITEMS is
unset): its success and failure counts are the practice of a skill, which a student's earlier answers on
other items of that skill make up; counted per item, most items are answered once per student and the counts
would be almost always zero (Pavlik et al. fit PFA on knowledge components; Best-LR adds the item's bias).
"""
import tensorflow.compat.v1 as tf

from models import answer_counts, regression

HPARAMS = ("baseline_l2",)
READS_OTHER_IDS = False  # the counts on the id answered only
SCOPE = "pfa"


def parameters(n_skills, hparams):
    """Creates (or, under a reusing scope, fetches) PFA's weights: intercept [], and per id easiness beta,
    success weight gamma and failure weight rho, [n_skills] each (`per_id` lists the penalised ones)."""
    per_id = [regression.weight(name, [n_skills])
              for name in ("easiness", "success_weight", "failure_weight")]
    return {"intercept": regression.weight("intercept", []), "per_id": per_id}


def logits(skills, counted, params):
    """The logit of answering `skills` (any shape) correctly given `counted` (models.answer_counts.Counts)."""
    easiness, success_weight, failure_weight = (tf.gather(w, skills) for w in params["per_id"])
    return (params["intercept"] + easiness + success_weight * counted.successes
            + failure_weight * counted.failures)


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
    return answer_counts.state_layout("PFA")


def state_tables(n_skills, hparams):
    return {}


def initial_state(n_skills, hparams):
    return answer_counts.initial_state(n_skills)


def predict_from_state(states, skills, tables, n_skills, hparams):
    return regression.predict_from_state(SCOPE, parameters, logits, states, skills, n_skills, hparams)


def update_state(states, skills, answers, tables, n_skills, hparams):
    return answer_counts.updated_state(states, skills, answers, n_skills)

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

from models import regression

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


(build, knowledge_state, knowledge_state_floats, state_size, state_layout, state_tables, initial_state,
 predict_from_state, update_state) = regression.interface(SCOPE, parameters, logits, "PFA")

"""Best-LR (Gervet, Koedinger, Schneider, Mitchell 2020, "When is deep learning the best approach to knowledge
tracing?"): their strongest logistic regression, on the id answered, the student's earlier attempts and
successes on that id, and the student's earlier attempts and successes in total.

    logit_t = b + w[q_t] + a[q_t] phi(attempts_t) + s[q_t] phi(successes_t)
                + a_total phi(total_attempts_t) + s_total phi(total_successes_t),     phi(x) = log(1 + x)

with the counts of positions before t (models/answer_counts.py; attempts = successes + failures), b a global
intercept, w, a, s per id and L2-penalised (models/regression.py), a_total and s_total global. phi is the
transform of their features' code: it keeps a long history from dominating the logit. Their time-window
features need timestamps, which the sequences here do not carry. Where the data has an item beside the skill
(a csv log's CSV_ITEM_COLUMN, the raw ASSISTments file's problem_id) the logit adds the item's own bias,
L2-penalised like the others, as their item and skill one-hots are two features:

    logit_t = ... + v[i_t]        (i_t the item answered at t; the counts stay per skill)

without items the item and the skill one-hot are the same feature, and the logit is the one above.
"""
import tensorflow.compat.v1 as tf

from models import regression

HPARAMS = ("baseline_l2",)
READS_ITEMS = True  # the item's bias beside the skill's, where the data has items
SCOPE = "best_lr"


def parameters(n_skills, hparams, n_items=0):
    """Creates (or, under a reusing scope, fetches) Best-LR's weights: the global intercept and total-count
    weights [] and, per id, a bias and the weights of its attempts and successes, [n_skills] each, and with
    items an item bias [n_items] (`per_id`, penalised)."""
    per_id = [regression.weight(name, [n_skills]) for name in ("bias", "attempts_weight", "successes_weight")]
    if n_items:
        per_id.append(regression.weight("item_bias", [n_items]))
    return {"intercept": regression.weight("intercept", []),
            "total_attempts_weight": regression.weight("total_attempts_weight", []),
            "total_successes_weight": regression.weight("total_successes_weight", []), "per_id": per_id}


def logits(skills, counted, params, items=None):
    """The logit of answering `skills` (any shape; `items` of the same shape where the data has them)
    correctly given `counted` (models.answer_counts.Counts, per skill)."""
    bias, attempts_weight, successes_weight = (tf.gather(w, skills) for w in params["per_id"][:3])
    if items is not None:
        bias = bias + tf.gather(params["per_id"][3], items)
    attempts = counted.successes + counted.failures
    total_attempts = counted.total_successes + counted.total_failures
    return (params["intercept"] + bias + attempts_weight * tf.log1p(attempts)
            + successes_weight * tf.log1p(counted.successes)
            + params["total_attempts_weight"] * tf.log1p(total_attempts)
            + params["total_successes_weight"] * tf.log1p(counted.total_successes))


(build, knowledge_state, knowledge_state_floats, state_size, state_layout, state_tables, initial_state,
 predict_from_state, update_state) = regression.interface(SCOPE, parameters, logits, "Best-LR")

"""IRT, one parameter (Rasch): a logistic regression on the id answered alone.

    logit_t = b - difficulty[q_t]

with b a global intercept (what an id never seen in training is predicted from) and one L2-penalised
difficulty per id (models/regression.py). The id is the item where the data has one beside the skill (a csv
log's CSV_ITEM_COLUMN, the raw ASSISTments file's problem_id), as Gervet et al.'s IRT is on items: then the
difficulties are one per item (n_items of them) and the skill is not read; else the skill. No per-student
ability: the test students are not seen in training, so an ability could not be fitted for them. It reads no
history, so its prediction is the same whether a history is cut at SEQ_LEN or carried whole; served (a run
without items), its state is the counts all the regressions share (models/answer_counts.py), which it
ignores.
"""
import tensorflow.compat.v1 as tf

from models import regression

HPARAMS = ("baseline_l2",)
READS_HISTORY = False   # the id alone: a carried state predicts what a cut one does
READS_ITEMS = True      # the item's difficulty where the data has items
SCOPE = "irt"


def parameters(n_skills, hparams, n_items=0):
    """Creates (or, under a reusing scope, fetches) IRT's weights: intercept [] and difficulty [n_items], or
    [n_skills] without items (`per_id`, penalised)."""
    return {"intercept": regression.weight("intercept", []),
            "per_id": [regression.weight("difficulty", [n_items or n_skills])]}


def logits(skills, counted, params, items=None):
    """The logit of answering `items` (or without them `skills`; any shape) correctly; the counts are not
    read."""
    return params["intercept"] - tf.gather(params["per_id"][0], skills if items is None else items)


(build, knowledge_state, knowledge_state_floats, state_size, state_layout, state_tables, initial_state,
 predict_from_state, update_state) = regression.interface(SCOPE, parameters, logits,
                                                          "IRT (unused by its prediction)")

"""The models and `build_graph`, which adds the inputs, loss and training op around one.

    kt = build_graph("dkvmn", n_skills, hparams)      # in the run's tf.Graph (whose seed the run sets)
    sess.run(kt.train_op, {kt.skills: ..., kt.answers: ..., kt.mask: ..., kt.training: True,
                           kt.learning_rate: lr})
    state = knowledge_state(kt)                       # [B, T, n_skills]: P(correct) of each skill, each step

Graphs only: no I/O. hparams are the lower-case names of main.py's constants (the one home of their
defaults); every name a model or the training op reads must be given, others are ignored.

Which models exist is utils/model_registry.py's ENTRIES (TensorFlow-free, so that the programs that build no
graph read it too); MODELS below maps each registered name to its module, imported from there.

Adding a model is one file models/<name>.py with the interface below, plus one line in ENTRIES:

    ModelEntry("<name>", "models.<name>", "<Label>", "<one line, with the paper>"),

and, if the model reads hyperparameters of its own, one constant per name in main.py (a run records every
constant in its config.json, and evaluate.py, predict.py, export.py and a resume rebuild the graph from it).

The interface. Shapes: B students (rows), T positions, n_skills skills, S floats of one student's state.
Inputs are int32 skills [B, T] (indices in [0, n_skills)) and answers [B, T] (0/1); a row shorter than T is
padded at its END with skill 0, answer 0 (the mask is the loss's, not the model's), so a model that never
looks ahead is never changed by the padding. Variables are made with tf.get_variable and initialisers with no
seed of their own (the graph seed, main.py's SEED, makes a run repeatable; Keras layers ignore it and are not
used); no I/O, no Keras, no tf.layers / tf.contrib (tests/test_repo_hygiene.py checks).

    HPARAMS                  tuple of the hparam names it reads (lower case, each a constant of main.py; may
                             be empty). Names in HPARAM_RANGES are range-checked; "dropout", when read, is a
                             float in [0, 1) (None counts as 0).
    parameters(n_skills, hparams)
                             -> dict of the model's variables. Creates every variable of the model (or, under
                             a reusing scope, fetches them); the callers enter tf.variable_scope("<name>")
                             first. The serving graph (utils/serving.py, export.py) calls it alone to make the
                             variables a checkpoint is restored into, so `build` must create these and no
                             other variables.
    build(skills, answers, n_skills, hparams, training, batch_parts)
                             -> dict with
                                  "logits": float32 [B, T], logit of P(answer t correct | positions < t): the
                                      prediction at t must not read answers[:, t:] (tests/test_models.py);
                                  "skill_correlation_weights" (optional): float32 [n_skills, N], each skill's
                                      weights over N latent concepts: written to correlation_weights.csv and
                                      drawn by plots/plot_clusters.py; absent or None = none;
                                  "read_content" (optional): float32 [B, T, d], for the tests;
                                  "regularization_loss" (optional): float32 [], added to the
                                      objective that train_op minimises, not to the logged loss.
                             Every variable is created under tf.variable_scope("<name>"), the registered
                             name (build_graph counts the parameters there, and refuses a model that makes
                             none). training: bool [] tensor, dropout on; batch_parts: int >= 1, how many
                             loops may run the recurrence over parts of the batch (speed only; may be
                             ignored).
    knowledge_state(skills, answers, n_skills, hparams)
                             -> float32 [B, T, n_skills]: P(correct) of every skill at the step after
                             answer t, dropout off, reusing build's variables (tf.variable_scope("<name>",
                             reuse=True)).
    knowledge_state_floats(n_skills, hparams)
                             -> int, floats knowledge_state holds per step (sizes predict.py's batches).
    READS_HISTORY (optional) bool, default True. False: the prediction at t reads the id answered at t alone,
                             no earlier answer (IRT), so no answer changes a prediction and a state carried
                             over a whole history predicts what one cut at SEQ_LEN does.
    READS_OTHER_IDS (optional)
                             bool, default True. False: the prediction on an id reads only the earlier answers
                             on that same id (BKT, PFA), so an answer changes later predictions on its own id
                             and none on another. The tests (tests/test_models.py, tests/test_export.py) read
                             both through `reads_history` and `reads_other_ids` below.
    READS_ITEMS (optional)   bool, default False. True: where the data has an item id per answer beside its
                             skill (data.Dataset.n_items > 0), build_graph passes `items` (int32 [B, T], item
                             indices in [0, n_items), padded like skills) and `n_items` to build as keyword
                             arguments, and the model may read them (IRT: the item's difficulty; Best-LR: the
                             item's bias beside the skill's). Such a graph (KTGraph.n_items > 0) is trained
                             and scored on batches with items; it has no per-skill knowledge state and no
                             serving graph (both take skills alone), which utils/ refuse with a clear error.
                             Without items, or for a model without the flag, nothing changes.

and, for serving one student's state answer by answer (utils/serving.py, export.py, evaluate.py
--carry_state): a state is float32 [S], the model's recurrent state flattened; every variable is build's,
reused:

    state_size(n_skills, hparams)
                             -> int S.
    state_layout(hparams)    -> str: how a state vector is laid out, in words (export.json).
    state_tables(n_skills, hparams)
                             -> dict name -> tensor computed from the variables alone, that a serving graph
                                computes once after restoring them (may be {}).
    initial_state(n_skills, hparams)
                             -> float32 [S], the state before any answer (as build starts each row).
    predict_from_state(states, skills, tables, n_skills, hparams)
                             -> float32 [B, K] P(correct) on skills int32 [B, K] next, for states [B, S]
                                (dropout off); tables: state_tables' dict (cached).
    update_state(states, skills, answers, tables, n_skills, hparams)
                             -> float32 [B, S] after answering skills int32 [B] with answers int32 [B].

Fed the same history, build's p and the states' predictions agree (tests/test_export.py checks, for every
registered model).
"""
import collections
import importlib
import math
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from utils import model_registry

MODELS = collections.OrderedDict((entry.name, importlib.import_module(entry.module))
                                 for entry in model_registry.ENTRIES)

# What the loss and the training op read, whatever the model.
TRAINING_HPARAMS = ("optimizer", "learning_rate", "momentum", "max_grad_norm", "loss_scale")
OPTIMIZERS = ("adam", "sgd")

# The authors' MXNet code gets sum(dBCE) / batch_size: their SGD learning rate 0.05 and clip 50 are sized for
# that gradient, which is (scored positions per sequence) times larger than the mean's (~55x on assist2009).
LOSS_SCALES = ("mean", "sequence_sum")

KTGraph = collections.namedtuple("KTGraph", [
    "skills",                     # int32 placeholder [B, T], skill index in [0, n_skills)
    "answers",                    # int32 placeholder [B, T], 0/1
    "mask",                       # float32 placeholder [B, T], 1 = scored position, 0 = padding
    "training",                   # bool [] placeholder_with_default(False): dropout on
    "learning_rate",              # float32 [] placeholder_with_default(hparams learning_rate)
    "logits",                     # [B, T]
    "p",                          # [B, T], P(answer t correct | positions < t)
    "loss",                       # [], mean binary cross-entropy over the mask (what is logged)
    "objective",                  # [], what train_op minimises: loss times the loss_scale factor
    "grad_norm",                  # [], global norm of the gradients before clipping
    "train_op",                   # one optimizer step; increments global_step
    "global_step",                # int64 variable
    "skill_correlation_weights",  # [n_skills, N] correlation weight of every skill (DKVMN), or None
    "read_content",               # [B, T, d_v] read r_t (DKVMN), or None
    "num_parameters",             # int, trainable parameters of the model
    "n_skills",                   # int, the n_skills the graph was built for
    "model_name",                 # a key of MODELS
    "hparams",                    # the hparams used (checked_hparams)
    "items",                      # int32 placeholder [B, T], item index in [0, n_items), or None
    "n_items",                    # int, the items the graph reads (0: none, no `items` placeholder)
    "reset",                      # bool placeholder [B] (carry_state): the row starts a student (None: cut)
    "carried_state",              # float32 placeholder [B, S] (carry_state): where the row's last chunk ended
    "final_state",                # [B, S] (carry_state): the state after the row's last position, or None
], defaults=(None, 0, None, None, None))


def num_parameters(variables=None):
    """Number of scalars in `variables` (default: the trainable variables of the default graph)."""
    if variables is None:
        variables = tf.trainable_variables()
    return int(sum(np.prod(v.shape.as_list()) for v in variables))


def masked_bce(logits, answers, mask):
    """Binary cross-entropy averaged over the scored positions.

    Args:
      logits: [B, T] float32.
      answers: [B, T] int32 0/1.
      mask: [B, T] float32 0/1.

    Returns:
      [] sum(mask * BCE) / max(sum(mask), 1).
    """
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(answers, tf.float32), logits=logits)
    return tf.reduce_sum(mask * bce) / tf.maximum(tf.reduce_sum(mask), 1.0)


def training_objective(loss, mask, loss_scale):
    """The loss that the optimizer minimises.

    Args:
      loss: [] mean BCE over the mask.
      mask: [B, T] float32 0/1.
      loss_scale: "mean" (loss itself) or "sequence_sum" (loss * scored positions / B).

    Returns:
      [] float32.
    """
    if loss_scale == "mean":
        return loss
    scored_per_sequence = tf.reduce_sum(mask) / tf.cast(tf.shape(mask)[0], tf.float32)
    return loss * scored_per_sequence


def training_op(loss, learning_rate, hparams, global_step):
    """Gradients, optional clipping by global norm, and one optimizer step.

    Args:
      loss: [] float32.
      learning_rate: [] float32 tensor.
      hparams: dict with optimizer ("adam" | "sgd"), momentum, max_grad_norm (0/None = off).
      global_step: the step variable, incremented by the op.

    Returns:
      (train_op, grad_norm) with grad_norm [] the global norm before clipping.
    """
    name = str(hparams["optimizer"]).lower()
    if name == "adam":
        optimizer = tf.train.AdamOptimizer(learning_rate)
    elif name == "sgd":
        optimizer = tf.train.MomentumOptimizer(learning_rate, float(hparams["momentum"]))
    else:
        raise ValueError("unknown optimizer %r: use 'adam' or 'sgd'" % (hparams["optimizer"],))
    variables = tf.trainable_variables()
    # Dense gradients: the embedding lookups give IndexedSlices, on which MomentumOptimizer would update only
    # the rows of the batch (a "lazy" momentum that is not SGD with momentum); the tables are small.
    grads = [tf.convert_to_tensor(g) for g in tf.gradients(loss, variables)]
    max_norm = hparams.get("max_grad_norm")
    if max_norm:
        grads, grad_norm = tf.clip_by_global_norm(grads, float(max_norm))
    else:
        grad_norm = tf.global_norm(grads)
    # Every gradient before any update: otherwise a backward op may read a weight already updated (the
    # clipping's global norm orders them too, but not when clipping is off).
    with tf.control_dependencies(grads):
        train_op = optimizer.apply_gradients(zip(grads, variables), global_step=global_step)
    return train_op, grad_norm


def _whole(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _finite(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


# What a numeric hparam must be, for every model that reads it: (what, test). A size of 0 builds a graph that
# learns nothing, and a learning rate <= 0 would be floored to MIN_LEARNING_RATE without a word.
HPARAM_RANGES = {
    "memory_size": ("a whole number >= 1", lambda v: _whole(v) and v >= 1),
    "key_dim": ("a whole number >= 1", lambda v: _whole(v) and v >= 1),
    "value_dim": ("a whole number >= 1", lambda v: _whole(v) and v >= 1),
    "final_dim": ("a whole number >= 1", lambda v: _whole(v) and v >= 1),
    "hidden_size": ("a whole number >= 1", lambda v: _whole(v) and v >= 1),
    "dkt_embedding_size": ("a whole number >= 0 (0 = one-hot input)", lambda v: _whole(v) and v >= 0),
    "learning_rate": ("a number > 0", lambda v: _finite(v) and v > 0),
    "init_std": ("a number > 0", lambda v: _finite(v) and v > 0),
    "dropout": ("in [0, 1)", lambda v: _finite(v) and 0 <= v < 1),
    "baseline_l2": ("a number >= 0 (0 = no penalty)", lambda v: _finite(v) and v >= 0),
    "momentum": ("in [0, 1)", lambda v: _finite(v) and 0 <= v < 1),
    "max_grad_norm": ("a number >= 0 (0 = no clipping)", lambda v: v is None or (_finite(v) and v >= 0)),
}


def checked_hparams(model_name, hparams):
    """The hparams `model_name` and the training op read, taken from `hparams` after checking them.

    Raises:
      ValueError: an unknown model, a missing hparam, an unknown optimizer or loss_scale, or a number out of
        its range (HPARAM_RANGES); the message says what is valid. Callers check before they write anything
        (main.py does, before its run folder).
    """
    model_registry.check_name(model_name)
    given = {str(k).lower(): v for k, v in dict(hparams or {}).items()}
    names = MODELS[model_name].HPARAMS + TRAINING_HPARAMS
    missing = [name for name in names if name not in given]
    if missing:
        raise ValueError("hparams of %s lack %s" % (model_name, ", ".join(missing)))
    hp = dict((name, given[name]) for name in names)
    if "dropout" in hp:
        hp["dropout"] = hp["dropout"] or 0.0
    for name in names:
        if name in HPARAM_RANGES and not HPARAM_RANGES[name][1](hp[name]):
            raise ValueError("%s must be %s, got %r" % (name, HPARAM_RANGES[name][0], hp[name]))
    if "dropout" in hp:
        hp["dropout"] = float(hp["dropout"])
    if str(hp["optimizer"]).lower() not in OPTIMIZERS:
        raise ValueError("unknown optimizer %r: use 'adam' or 'sgd'" % (hp["optimizer"],))
    if hp["loss_scale"] not in LOSS_SCALES:
        raise ValueError("unknown loss_scale %r: use %s"
                         % (hp["loss_scale"], " or ".join(map(repr, LOSS_SCALES))))
    return hp


def carries_state(model_name):
    """Whether `model_name` can train with its state carried over SEQ_LEN chunks (CARRIES_STATE: its build
    takes `carried`)."""
    return bool(getattr(MODELS[model_name], "CARRIES_STATE", False))


def build_graph(model_name, n_skills, hparams, batch_parts=1, n_items=0, carry_state=False):
    """Builds inputs, model, loss and training op in the default graph.

    Args:
      model_name: a key of MODELS (a name of utils/model_registry.py).
      n_skills: number of skills; skill indices are 0 .. n_skills - 1.
      hparams: dict of lower-case hyperparameters (see `checked_hparams`); others are ignored.
      batch_parts: the model's recurrence runs as this many loops over contiguous parts of the batch, which
        TensorFlow's inter-op threads run at once (main.py's BATCH_PARTS). It changes the speed, not the
        results (up to float rounding), so it is not a hyperparameter.
      n_items: the data's items (data.Dataset.n_items); only a model that reads items (READS_ITEMS) gets an
        `items` placeholder and reads them (item_count); 0 = none.
      carry_state: add the inputs `reset` and `carried_state` and the output `final_state` (main.py's
        CARRY_STATE), for a model that carries_state: each row then starts where its student's previous chunk
        ended, unless reset (the default, fed nothing: as without them). The variables are the same either
        way, so a checkpoint of one graph restores into the other.

    Returns:
      KTGraph.
    """
    if carry_state and not carries_state(model_name):
        raise ValueError("model %s cannot carry its state over SEQ_LEN chunks (CARRY_STATE): use dkvmn or "
                         "dkt, or CARRY_STATE = False" % model_name)
    hp = checked_hparams(model_name, hparams)
    skills = tf.placeholder(tf.int32, [None, None], name="skills")
    answers = tf.placeholder(tf.int32, [None, None], name="answers")
    mask = tf.placeholder(tf.float32, [None, None], name="mask")
    training = tf.placeholder_with_default(False, [], name="training")
    learning_rate = tf.placeholder_with_default(float(hp["learning_rate"]), [], name="learning_rate")
    n_items = item_count(model_name, n_items)
    items = tf.placeholder(tf.int32, [None, None], name="items") if n_items else None
    item_arguments = {"items": items, "n_items": n_items} if n_items else {}

    reset = carried_state = None
    if carry_state:
        rows = tf.shape(skills)[:1]
        size = MODELS[model_name].state_size(int(n_skills), hp)
        reset = tf.placeholder_with_default(tf.ones(rows, tf.bool), [None], name="reset")
        carried_state = tf.placeholder_with_default(tf.zeros(tf.concat([rows, [size]], axis=0)), [None, size],
                                                    name="carried_state")
        outputs = MODELS[model_name].build(skills, answers, int(n_skills), hp, training, batch_parts,
                                           carried=(reset, carried_state), **item_arguments)
    else:
        outputs = MODELS[model_name].build(skills, answers, int(n_skills), hp, training, batch_parts,
                                           **item_arguments)
    own = tf.trainable_variables(model_name + "/")
    if not own:
        raise ValueError("model %s made no trainable variable under tf.variable_scope(%r): its build and "
                         "parameters must create them there (models/__init__.py)" % (model_name, model_name))
    n_params = num_parameters(own)
    logits = outputs["logits"]
    p = tf.sigmoid(logits, name="p")
    loss = tf.identity(masked_bce(logits, answers, mask), name="loss")
    global_step = tf.train.get_or_create_global_step()
    objective = training_objective(loss, mask, hp["loss_scale"])
    if outputs.get("regularization_loss") is not None:  # a weight penalty: not part of the logged loss
        objective = objective + outputs["regularization_loss"]
    train_op, grad_norm = training_op(objective, learning_rate, hp, global_step)
    return KTGraph(
        skills=skills, answers=answers, mask=mask, training=training, learning_rate=learning_rate,
        logits=logits, p=p, loss=loss, objective=objective, grad_norm=grad_norm, train_op=train_op,
        global_step=global_step,
        skill_correlation_weights=outputs.get("skill_correlation_weights"),
        read_content=outputs.get("read_content"), num_parameters=n_params, n_skills=int(n_skills),
        model_name=model_name, hparams=hp, items=items, n_items=n_items, reset=reset,
        carried_state=carried_state, final_state=outputs.get("final_state"))


def reads_history(model_name):
    """Whether `model_name`'s predictions read earlier answers at all (READS_HISTORY, default True)."""
    return bool(getattr(MODELS[model_name], "READS_HISTORY", True))


def reads_other_ids(model_name):
    """Whether `model_name`'s prediction on an id reads earlier answers on other ids (READS_OTHER_IDS, default
    True; never when it reads no history)."""
    return reads_history(model_name) and bool(getattr(MODELS[model_name], "READS_OTHER_IDS", True))


def reads_items(model_name):
    """Whether `model_name` reads the item ids where the data has them (READS_ITEMS, default False)."""
    return bool(getattr(MODELS[model_name], "READS_ITEMS", False))


def item_count(model_name, n_items):
    """The items a graph of `model_name` reads on data with `n_items` items: n_items for a model that reads
    items, else 0."""
    return int(n_items or 0) if reads_items(model_name) else 0


def knowledge_state(kt):
    """[B, T, n_skills] P(correct) of every skill after each step of kt.skills / kt.answers (dropout off).

    Adds the ops to kt's graph (call once per graph, inside `graph.as_default()`); the model's variables are
    reused, none is created. A graph that reads items has none (ValueError): its predictions need the item.
    """
    if kt.n_items:
        raise ValueError("%s reads item ids: it has no knowledge state per skill" % kt.model_name)
    return MODELS[kt.model_name].knowledge_state(kt.skills, kt.answers, kt.n_skills, kt.hparams)

"""A trained model in service: one student's state, answer by answer, and its SavedModel.

    with TrainedModel(run_dir) as trained, ServingModel(trained) as serving:
        state = serving.run("initial_state", batch_size=1)["state"]            # [1, S]
        out = serving.run("step", state=state, skill=[3], answer=[1])          # p, new_state, knowledge_state
        history = serving.run("predict_history", skills=..., answers=..., lengths=...)
        serving.export("runs/<run>/export/20260101120000")                     # a SavedModel + skills.csv

The serving graph holds the model's variables only (restored from the run's selected checkpoint) and three
signatures (SIGNATURES), built from the model module's state functions (models/__init__.py): the state of a
student is what the model's recurrence carries (DKVMN: the value memory; DKT: the LSTM's h and c), one float
vector per student, so a platform can keep it in its own database and never re-read a history. Unlike
training, evaluate.py and predict.py, nothing here cuts a history into SEQ_LEN chunks: `predict_history`
carries the state over the whole history, and `step` continues from any stored state. Every signature
refuses what it cannot answer (rows that differ, a state that is not finite, a skill index, answer or length
out of range) with an InvalidArgumentError that says what is valid.

The SavedModel is written with tf.compat.v1.saved_model (tag "serve"), which TF 1.14 and 2.x both load
without this repository's code (docs/serving.md, "Use a trained model in an application"); export.json
says its `format_version` (FORMAT_VERSION).
"""
import collections
import contextlib
import datetime
import errno
import os
import platform
import re
import shutil
import socket

import numpy as np
import tensorflow.compat.v1 as tf

import models
from utils import run_files
from utils.errors import ConfigError, RunFolderError, short_reason
from utils.metrics import concatenated, scored_positions
from utils.trained_model import (EvaluationBatches, SessionOwner, refused_for_items,
                                 restore_selected_checkpoint)

# The version of an export's format, in export.json `format_version`. 2: the integer inputs are int64 and the
# graph refuses what it cannot answer (see INDEX_DTYPE, checked_step and checked_history). 1 (export.json
# without `format_version`): int32 inputs. A client reads the input types from the signatures, so it serves
# both (README, "Use a trained model in an application").
FORMAT_VERSION = 2

# The type of the integer inputs: session.run casts a fed value to the input's type on the caller's side,
# where no check in the graph can see it, so the type must hold any integer a caller sends: fed to int32,
# 2^32 + 3 would become skill 3 and pass the range check. (A float fed to it is still cast, 3.7 to 3: a client
# that feeds through session.run checks that its values are whole numbers, as feed_value does.)
INDEX_DTYPE = tf.int64

# The signatures of the serving graph and SavedModel: name -> (inputs, outputs), each name: what it is.
SIGNATURES = collections.OrderedDict([
    ("step", (
        collections.OrderedDict([
            ("state", "float32 [B, S]: each student's state (from initial_state or an earlier step); finite"),
            ("skill", "int64 [B]: the skill index (skills.csv `skill`) each student answers"),
            ("answer", "int64 [B]: the answer, 1 = correct, 0 = wrong")]),
        collections.OrderedDict([
            ("p", "float32 [B]: P(correct) on this skill predicted before the answer"),
            ("new_state", "float32 [B, S]: the state after the answer (store it for the next step)"),
            ("knowledge_state", "float32 [B, n_skills]: P(correct) of every skill at the next answer")]))),
    ("initial_state", (
        collections.OrderedDict([
            ("batch_size", "int64 []: how many new students")]),
        collections.OrderedDict([
            ("state", "float32 [batch_size, S]: the state of a student with no answer yet")]))),
    ("predict_history", (
        collections.OrderedDict([
            ("skills", "int64 [B, T]: skill indices of each student's answers in time order, padded"),
            ("answers", "int64 [B, T]: the 0/1 answers, padded"),
            ("lengths", "int64 [B]: the number of real answers of each row, 0 to T (the rest is padding)")]),
        collections.OrderedDict([
            ("p", "float32 [B, T]: P(correct) of each answer from the answers before it (0 on padding)"),
            ("final_state", "float32 [B, S]: the state after each student's last answer (T = 0 or a length "
                            "of 0: the initial state)"),
            ("knowledge_state", "float32 [B, n_skills]: P(correct) of every skill after the last answer")]))),
])

SERVING_TAG = "serve"  # tf.saved_model.SERVING in both TensorFlows
LARGEST_BATCH = 2 ** 31 - 1  # the largest batch_size: the graph's shapes are int32

ServingGraph = collections.namedtuple("ServingGraph", [
    "signatures",       # name -> (inputs dict, outputs dict) of tensors, as SIGNATURES describes them
    "model_variables",  # the model's variables, to restore from a run's checkpoint
    "load_tables",      # op: computes the cached tables from the restored variables
])


def build_serving_graph(model_name, n_skills, hparams, index_dtype=INDEX_DTYPE):
    """Builds the model's variables and the three signatures in the default graph.

    The variables are created here under the model's scope with the names of training (so a tf.train.Saver
    over `model_variables` restores them from a run's checkpoint); dropout is off. What depends on the
    variables alone (the model's `state_tables`) is cached in non-trainable variables that `load_tables`
    fills after the restore, so a step does not recompute it. Every signature checks its inputs first and
    fails with an InvalidArgumentError that says what is valid (checked_step, checked_history).

    Args:
      model_name: a key of models.MODELS.
      n_skills: the run's number of skills.
      hparams: the run's constants (models.checked_hparams picks what the model reads).
      index_dtype: the type of the integer inputs; INDEX_DTYPE, except to build the int32 inputs of format 1.

    Returns:
      ServingGraph.
    """
    hp = models.checked_hparams(model_name, hparams)
    model = models.MODELS[model_name]
    # The graph mode's reference variables, not resource variables: TF 2.x's VarHandleOp carries an attribute
    # that TF 1.14 cannot read, so an export written by TF 2.x would not load in TF 1.14. (TF 2.x's
    # tf.saved_model.load only warns that it makes no Python objects of reference variables.)
    with tf.variable_scope(model_name):
        model.parameters(n_skills, hp)
    model_variables = tf.global_variables()
    tables, load_tables = cached_tables(model.state_tables(n_skills, hp))
    size = model.state_size(n_skills, hp)

    def predict(states, skills):
        return model.predict_from_state(states, skills, tables, n_skills, hp)

    def update(states, skills, answers):
        return model.update_state(states, skills, answers, tables, n_skills, hp)

    def knowledge(states):
        every_skill = tf.tile(tf.range(n_skills)[None], tf.stack([tf.shape(states)[0], 1]))  # [B, n_skills]
        return predict(states, every_skill)

    def initial_states(batch_size):
        return tf.reshape(tf.tile(model.initial_state(n_skills, hp)[None], tf.stack([batch_size, 1])),
                          [-1, size])

    signatures = collections.OrderedDict()
    with tf.name_scope("step"):
        state = tf.placeholder(tf.float32, [None, size], name="state")
        skill = tf.placeholder(index_dtype, [None], name="skill")
        answer = tf.placeholder(index_dtype, [None], name="answer")
        checked_state, checked_skill, checked_answer = checked_step(state, skill, answer, n_skills)
        new_state = update(checked_state, checked_skill, checked_answer)
        signatures["step"] = (
            {"state": state, "skill": skill, "answer": answer},
            named({"p": predict(checked_state, checked_skill[:, None])[:, 0], "new_state": new_state,
                   "knowledge_state": knowledge(new_state)}))
    with tf.name_scope("initial_state"):
        batch_size = tf.placeholder(index_dtype, [], name="batch_size")
        signatures["initial_state"] = ({"batch_size": batch_size},
                                       named({"state": initial_states(checked_batch_size(batch_size))}))
    with tf.name_scope("predict_history"):
        skills = tf.placeholder(index_dtype, [None, None], name="skills")
        answers = tf.placeholder(index_dtype, [None, None], name="answers")
        lengths = tf.placeholder(index_dtype, [None], name="lengths")
        checked_skills, checked_answers, checked_lengths = checked_history(skills, answers, lengths, n_skills)
        p, final_state = carried_history(checked_skills, checked_answers, checked_lengths,
                                         initial_states(tf.shape(skills)[0]), predict, update)
        signatures["predict_history"] = (
            {"skills": skills, "answers": answers, "lengths": lengths},
            named({"p": p, "final_state": final_state, "knowledge_state": knowledge(final_state)}))
    return ServingGraph(signatures=signatures, model_variables=model_variables, load_tables=load_tables)


def checked_step(state, skill, answer, n_skills):
    """`step`'s inputs once they are checked: one row per student in each (a batch of states with one
    answer would otherwise be broadcast to every student), a finite state (NaN in, NaN out), and valid skill
    indices and answers (checked_indices); the indices as int32, as the models take them."""
    rows = [tf.shape(state)[0], tf.shape(skill)[0], tf.shape(answer)[0]]
    same_rows = tf.logical_and(tf.equal(rows[0], rows[1]), tf.equal(rows[1], rows[2]))
    state, skill, answer = asserted([
        (same_rows, ["state, skill and answer must hold one row per student, as many rows each; got rows of "
                     "state, skill, answer:"] + rows),
        (tf.reduce_all(tf.is_finite(state)), ["state must be finite (no NaN or infinity): give the state "
                                              "that initial_state or step returned"])],
        state, skill, answer)
    skill, answer = checked_indices(skill, answer, n_skills)
    return state, skill, answer


def checked_history(skills, answers, lengths, n_skills):
    """`predict_history`'s inputs once they are checked: skills and answers of the same shape [B, T], one
    length per row, each in [0, T] (a longer history than the row holds is refused, not cut), and valid skill
    indices and answers within each row's length (checked_indices: the padding is never read, whatever it
    holds: 0 there). All as int32, as the models take them."""
    n_steps = tf.shape(skills)[1]
    same_shape = tf.reduce_all(tf.equal(tf.shape(skills), tf.shape(answers)))
    one_length_per_row = tf.equal(tf.shape(lengths)[0], tf.shape(skills)[0])
    within_rows = tf.reduce_all(tf.logical_and(lengths >= 0, lengths <= tf.cast(n_steps, lengths.dtype)))
    skills, answers, lengths = asserted([
        (same_shape, ["skills and answers must have the same shape [B, T]; got", tf.shape(skills),
                      tf.shape(answers)]),
        (one_length_per_row, ["lengths must hold one length per row of skills; got rows of lengths, skills:",
                              tf.shape(lengths)[0], tf.shape(skills)[0]]),
        (within_rows, ["lengths must be in [0, T], T =", n_steps, "the columns of skills and answers (pad "
                       "the shorter rows; a length is never cut); got", lengths])],
        skills, answers, lengths)
    lengths = tf.cast(lengths, tf.int32)
    real = tf.sequence_mask(lengths, n_steps)
    skills, answers = checked_indices(tf.where(real, skills, tf.zeros_like(skills)),
                                      tf.where(real, answers, tf.zeros_like(answers)), n_skills)
    return skills, answers, lengths


def checked_batch_size(batch_size):
    """`initial_state`'s batch_size once it is checked (a whole number of students the graph's int32 shapes
    can hold), as int32."""
    valid = tf.logical_and(batch_size >= 0, batch_size <= LARGEST_BATCH)
    (batch_size,) = asserted([(valid, ["batch_size must be in [0, %d]; got" % LARGEST_BATCH, batch_size])],
                             batch_size)
    return tf.cast(batch_size, tf.int32)


def checked_indices(skills, answers, n_skills):
    """`skills` and `answers` once they are checked: skill indices in [0, n_skills), answers 0 or 1; as int32.

    Raises (when run) InvalidArgumentError with a message that says what is valid: a skill id looked up by
    hand, or an answer that is not 0/1, must not read another skill's row (on a GPU an out-of-range gather
    gives zeros, not an error). One Assert for both rules: fewer ops per step than four tf.assert_*. The
    values are checked in the type they were sent in, before the cast to int32 could wrap them into range.
    """
    valid = tf.reduce_all(tf.logical_and(tf.logical_and(skills >= 0, skills < n_skills),
                                         tf.logical_and(answers >= 0, answers <= 1)))
    message = ("skill indices must be in [0, %d) (the `skill` column of skills.csv) and answers 0 (wrong) or "
               "1 (correct)" % n_skills)
    skills, answers = asserted([(valid, [message])], skills, answers)
    return tf.cast(skills, tf.int32), tf.cast(answers, tf.int32)


def asserted(checks, *tensors):
    """`tensors` once every check holds: `checks` is [(condition, data)], each a tf.Assert whose
    InvalidArgumentError prints `data` (a message that says what is valid, and the values at fault)."""
    with tf.control_dependencies([tf.Assert(condition, data) for condition, data in checks]):
        return [tf.identity(tensor) for tensor in tensors]


def named(outputs):
    """The outputs under their own names in the current name scope (e.g. step/new_state:0), for readers of
    the graph and of `saved_model_cli show`."""
    return dict((name, tf.identity(tensor, name=name)) for name, tensor in outputs.items())


def cached_tables(tables):
    """Non-trainable variables holding `tables` (name -> tensor of static shape), and the op filling them."""
    cached, assigns = {}, []
    with tf.variable_scope("serving_tables"):
        for name in sorted(tables):
            value = tables[name]
            variable = tf.get_variable(name, value.shape, value.dtype, trainable=False,
                                       initializer=tf.zeros_initializer())
            cached[name] = variable
            assigns.append(tf.assign(variable, value))
    return cached, tf.group(*assigns, name="load_tables")


def carried_history(skills, answers, lengths, initial_states, predict, update):
    """Runs whole histories through the model, the state carried from the first answer to the last.

    Args:
      skills, answers: int32 [B, T], padded after each row's length (T = 0: no answer, the initial states).
      lengths: int32 [B] real answers per row.
      initial_states: [B, S] where each row starts.
      predict: (states [B, S], skills [B, K]) -> [B, K] P(correct).
      update: (states [B, S], skills [B], answers [B]) -> [B, S].

    Returns:
      p [B, T] (P(correct) of answer t from the answers before it; 0 on padding), final states [B, S] (the
      state after each row's last real answer: padding leaves it unchanged).
    """
    skills_by_time = tf.transpose(skills)                                            # [T, B]
    answers_by_time = tf.transpose(answers)
    n_steps = tf.shape(skills_by_time)[0]
    p_by_time = tf.TensorArray(tf.float32, size=n_steps, element_shape=tf.TensorShape([None]))

    def step(t, states, p_by_time):
        skill, answer = skills_by_time[t], answers_by_time[t]
        active = t < lengths                                                           # [B] bool
        p = predict(states, skill[:, None])[:, 0]
        states = tf.where(active, update(states, skill, answer), states)
        return t + 1, states, p_by_time.write(t, tf.where(active, p, tf.zeros_like(p)))

    _, final_states, p_by_time = tf.while_loop(
        lambda t, *_: t < n_steps, step, [tf.constant(0), initial_states, p_by_time])
    # A TensorArray of size zero cannot be stacked (its element shape is not static): no step, no p.
    p = tf.cond(n_steps > 0, lambda: tf.transpose(p_by_time.stack()),
                lambda: tf.zeros(tf.stack([tf.shape(skills)[0], 0]), tf.float32))
    return p, final_states


class ServingModel(SessionOwner):
    """The serving graph of a trained run (utils.trained_model.TrainedModel) in its own graph and session,
    with the run's selected checkpoint restored."""

    def __init__(self, trained):
        if trained.n_items:
            raise ConfigError(refused_for_items(trained, "the serving graph (export.py)"))
        self.trained = trained
        self.model_name = trained.kt.model_name
        self.hparams = trained.kt.hparams
        self.n_skills = trained.n_skills
        self.state_size = models.MODELS[self.model_name].state_size(self.n_skills, self.hparams)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.serving = build_serving_graph(self.model_name, self.n_skills, self.hparams)
            self.session = tf.Session(graph=self.graph, config=tf.ConfigProto(
                intra_op_parallelism_threads=int(trained.config["threads"]),
                inter_op_parallelism_threads=int(trained.config["threads"])))
            try:
                restore_selected_checkpoint(tf.train.Saver(self.serving.model_variables), self.session,
                                            trained.run_dir, trained.checkpoint)
            except RunFolderError:
                self.session.close()
                raise
            self.session.run(self.serving.load_tables)

    def run(self, signature, **inputs):
        """Runs one signature: inputs by name (numpy-convertible; see feed_value), outputs as a dict of numpy
        arrays."""
        feeds, outputs = self.serving.signatures[signature]
        feed_dict = dict((feeds[name], feed_value(name, value, feeds[name].dtype))
                         for name, value in inputs.items())
        return self.session.run(outputs, feed_dict=feed_dict)

    def export(self, out_dir, log=lambda *args: None):
        """Writes the SavedModel, skills.csv and export.json to `out_dir`, which must not exist.

        Everything is written inside a hidden folder beside `out_dir` (partial_export) and renamed into place
        at the end, so `out_dir` is either the whole export or absent. A write that fails (a read-only or full
        disk) leaves nothing behind and raises RunFolderError; what a killed export left beside it is removed
        first (remove_stale_partial_exports), each removal passed to `log`.
        """
        if os.path.exists(out_dir):
            raise FileExistsError(errno.EEXIST, "an export never overwrites; choose another folder", out_dir)
        parent = os.path.dirname(os.path.abspath(out_dir))
        try:
            if not os.path.isdir(parent):
                os.makedirs(parent)
            for path in remove_stale_partial_exports(parent):
                log("removed %s: what an export that was stopped before its end left" % path)
            with partial_export(parent, os.path.basename(os.path.abspath(out_dir))) as inside:
                write_saved_model(self.session, self.serving.signatures, inside)
                skills = run_files.read_skills(self.trained.run_dir, self.n_skills)
                run_files.write_csv(os.path.join(inside, "skills.csv"), ["skill", "skill_id", "name"],
                                    zip(skills["skill"], skills["skill_id"], skills["name"]))
                run_files.write_json(os.path.join(inside, "export.json"), self.description())
                os.rename(inside, out_dir)
        except (OSError, tf.errors.OpError) as error:
            raise RunFolderError("cannot write the export %s (%s): give --out a folder on a disk with free "
                                 "space that you can write" % (out_dir, short_reason(error)))
        return out_dir

    def description(self):
        """export.json: what the export holds and how to use its state."""
        model = models.MODELS[self.model_name]
        summary = run_files.read_summary(self.trained.run_dir) or {}
        return {
            "format": "TensorFlow SavedModel (tf.compat.v1.saved_model), tag %r" % SERVING_TAG,
            "format_version": FORMAT_VERSION,
            "inputs": "integer inputs are int64; session.run casts a fed value to the input's type on the "
                      "caller's side (3.7 becomes 3): check that skills and answers are whole numbers first",
            "model": self.model_name, "n_skills": self.n_skills, "state_size": self.state_size,
            "state_layout": model.state_layout(self.hparams),
            "initial_state": "run the initial_state signature: the state before any answer (models/%s.py's "
                             "initial_state)" % self.model_name,
            "skills": "skills.csv: `skill` is the index the signatures take, `skill_id` the data set's id",
            "signatures": dict((name, {"inputs": dict(inputs), "outputs": dict(outputs)})
                               for name, (inputs, outputs) in SIGNATURES.items()),
            "no_cut": "the state is carried over the whole history; " + (
                "training carried it too, over chunks of seq_len = %d answers (truncated backpropagation)"
                if run_files.state_mode(self.trained.config) == "carried" else
                "training cut histories into chunks of seq_len = %d answers, each from the initial state")
            % int(self.trained.config["seq_len"]),
            "training_state": run_files.state_mode(self.trained.config),
            "unknown_skill": unknown_skill_rule(run_files.read_config(self.trained.run_dir)),
            "run": {"run_dir": os.path.abspath(self.trained.run_dir), "checkpoint": self.trained.checkpoint,
                    "dataset": self.trained.config["dataset"], "test_auc": summary.get("test_auc"),
                    "hparams": self.hparams},
            "versions": {"tensorflow": tf.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
            "exported_at": datetime.datetime.now().isoformat(timespec="seconds"),
        }

    def carried_predictions(self, sequences, batch_size):
        """p of every interaction of `sequences` (run skill indices) with the state carried over each whole
        history (no SEQ_LEN cut), in utils.metrics.flatten_predictions' columns, rows ordered by student
        (input order) then position, as the chunked predictions are."""
        batches = EvaluationBatches(sequences, max(len(seq.skills) for seq in sequences), batch_size)
        parts = [scored_positions(b, self.run("predict_history", skills=b.skills, answers=b.answers,
                                              lengths=b.mask.sum(axis=1).astype(np.int32))["p"])
                 for b in batches]
        return batches.in_split_order(concatenated(parts))


# What an export answers for a skill id that is not in its skills.csv (a platform adds skills all the time):
# the model has no parameter for it, so it cannot predict it nor learn from its answer. The answer is left out
# of the state (the state stays as it was) and P(correct) is the share of correct answers in the run's
# training split, flagged as such (export.json "unknown_skill"; the documented client prints it).
UNKNOWN_SKILL = ("a skill id not in skills.csv: the answer is left out of the state (the state is unchanged) "
                 "and P(correct) is `p`, the share of correct answers in the run's training split, flagged "
                 "as unknown_skill; never the model's prediction")


def unknown_skill_rule(config):
    """export.json's "unknown_skill" for a run's config.json: {"p", "rule"}; p is None (an unknown skill is
    refused) for a run made before config.json recorded train_correct_rate."""
    rate = config.get("train_correct_rate")
    if rate is None:
        return {"p": None, "rule": "refused: this run's config.json has no train_correct_rate (made by an "
                                   "older main.py); train it again for the fallback"}
    return {"p": float(rate), "rule": UNKNOWN_SKILL}


def feed_value(name, value, dtype):
    """`value` as session.run sends it to the input `name` of type `dtype`.

    session.run casts a fed value on the caller's side, where no check in the graph can see it: 3.7 fed to an
    integer input would become 3. So a value that the cast would change is a ValueError here; a float input
    is cast as it is (the graph refuses what is not finite).
    """
    sent = np.asarray(value)
    try:
        with np.errstate(invalid="ignore", over="ignore"):
            fed = sent.astype(dtype.as_numpy_dtype)
        same = not dtype.is_integer or (sent.dtype.kind in "biuf" and np.array_equal(fed, sent))
    except (OverflowError, TypeError, ValueError):
        same = False
    if not same:
        raise ValueError("%s takes whole numbers (%s), got %s" % (name, dtype.name, np.array2string(
            sent, threshold=5)))
    return fed


# A partial export: a hidden folder `.<export name>.partial-<pid>[-<n>]` beside the export, holding the
# export (in EXPORT_INSIDE) while it is written and PARTIAL_MARKER, which names what wrote it.
PARTIAL_NAME = re.compile(r"^\..+\.partial-[0-9]+(-[0-9]+)?$")
PARTIAL_MARKER = "partial_export.json"
PARTIAL_WRITER = "export.py (utils/serving.py)"
EXPORT_INSIDE = "export"


@contextlib.contextmanager
def partial_export(parent, name):
    """A new partial export beside `parent`/`name`, locked while this process writes it; yields the folder to
    write the export in (it must not exist yet: TF 1.14's SavedModel builder creates it). The partial folder
    is removed when the block ends, whether it renamed the export into place or failed."""
    path = os.path.join(parent, ".%s.partial-%d" % (name, os.getpid()))
    attempt = 1
    while True:
        try:
            os.mkdir(path)
            break
        except FileExistsError:
            attempt += 1
            path = os.path.join(parent, ".%s.partial-%d-%d" % (name, os.getpid(), attempt))
    try:
        with folder_lock(path) as locked:
            if locked:  # else no other process can tell it is in use: it is never removed as stale
                run_files.write_json(os.path.join(path, PARTIAL_MARKER), {
                    "written_by": PARTIAL_WRITER, "host": socket.gethostname(), "pid": os.getpid()})
            yield os.path.join(path, EXPORT_INSIDE)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale_partial_exports(parent):
    """Removes the partial exports in `parent` that an export stopped before its end left (killed: it could
    not clean up); returns their paths.

    Only a folder certainly ours and certainly abandoned is removed: named as partial_export names them,
    holding our PARTIAL_MARKER written on this host, and not locked (the lock of a running export; the
    operating system releases it when its process ends, however it ends). Where folders cannot be locked
    (no fcntl: Windows) nothing is removed.
    """
    removed = []
    for name in sorted(os.listdir(parent)):
        path = os.path.join(parent, name)
        if not PARTIAL_NAME.match(name) or os.path.islink(path) or not os.path.isdir(path):
            continue
        try:
            marker = run_files.read_json(os.path.join(path, PARTIAL_MARKER))
        except (OSError, ValueError):
            continue
        if not isinstance(marker, dict) or marker.get("written_by") != PARTIAL_WRITER or \
                marker.get("host") != socket.gethostname():
            continue
        with folder_lock(path) as locked:
            if locked:
                shutil.rmtree(path)
                removed.append(path)
    return removed


@contextlib.contextmanager
def folder_lock(path):
    """Holds an exclusive lock (flock) on the folder `path` if no other process holds one; yields whether it
    got it (False also where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:
        yield False
        return
    handle = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(handle)


def write_saved_model(session, signatures, path):
    """Writes the graph and variables of `session` as a SavedModel at `path` (a new folder), tag "serve".

    Args:
      session: a tf.Session whose variables hold the values to save (restored, or initialised).
      signatures: name -> (inputs, outputs), dicts of name -> tensor of the session's graph.
      path: the folder to create.
    """
    with session.graph.as_default():
        builder = tf.saved_model.Builder(path)
        signature_defs = dict((name, tf.saved_model.predict_signature_def(inputs, outputs))
                              for name, (inputs, outputs) in signatures.items())
        builder.add_meta_graph_and_variables(session, [SERVING_TAG], signature_def_map=signature_defs,
                                             strip_default_attrs=True)
        builder.save()


def default_export_dir(run_dir, now=None):
    """RUN_DIR/export/<YYYYmmddHHMMSS>: a number, as TensorFlow Serving expects of a model version folder
    (it serves the largest), one more than a taken one."""
    version = int((now or datetime.datetime.now()).strftime("%Y%m%d%H%M%S"))
    while os.path.exists(os.path.join(run_dir, "export", str(version))):
        version += 1
    return os.path.join(run_dir, "export", str(version))

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
carries the state over the whole history, and `step` continues from any stored state.

The SavedModel is written with tf.compat.v1.saved_model (tag "serve"), which TF 1.14 and 2.x both load
without this repository's code (README, "Use a trained model in an application").
"""
import collections
import datetime
import errno
import os
import platform

import numpy as np
import tensorflow.compat.v1 as tf

import models
from utils import run_files
from utils.metrics import concatenated, scored_positions
from utils.trained_model import EvaluationBatches, SessionOwner

# The signatures of the serving graph and SavedModel: name -> (inputs, outputs), each name: what it is.
SIGNATURES = collections.OrderedDict([
    ("step", (
        collections.OrderedDict([
            ("state", "float32 [B, S]: each student's state (from initial_state or an earlier step)"),
            ("skill", "int32 [B]: the skill index (skills.csv `skill`) each student answers"),
            ("answer", "int32 [B]: the answer, 1 = correct, 0 = wrong")]),
        collections.OrderedDict([
            ("p", "float32 [B]: P(correct) on this skill predicted before the answer"),
            ("new_state", "float32 [B, S]: the state after the answer (store it for the next step)"),
            ("knowledge_state", "float32 [B, n_skills]: P(correct) of every skill at the next answer")]))),
    ("initial_state", (
        collections.OrderedDict([
            ("batch_size", "int32 []: how many new students")]),
        collections.OrderedDict([
            ("state", "float32 [batch_size, S]: the state of a student with no answer yet")]))),
    ("predict_history", (
        collections.OrderedDict([
            ("skills", "int32 [B, T]: skill indices of each student's answers in time order, padded"),
            ("answers", "int32 [B, T]: the 0/1 answers, padded"),
            ("lengths", "int32 [B]: the number of real answers of each row (the rest is padding)")]),
        collections.OrderedDict([
            ("p", "float32 [B, T]: P(correct) of each answer from the answers before it (0 on padding)"),
            ("final_state", "float32 [B, S]: the state after each student's last answer"),
            ("knowledge_state", "float32 [B, n_skills]: P(correct) of every skill after the last answer")]))),
])

SERVING_TAG = "serve"  # tf.saved_model.SERVING in both TensorFlows

ServingGraph = collections.namedtuple("ServingGraph", [
    "signatures",       # name -> (inputs dict, outputs dict) of tensors, as SIGNATURES describes them
    "model_variables",  # the model's variables, to restore from a run's checkpoint
    "load_tables",      # op: computes the cached tables from the restored variables
])


def build_serving_graph(model_name, n_skills, hparams):
    """Builds the model's variables and the three signatures in the default graph.

    The variables are created here under the model's scope with the names of training (so a tf.train.Saver
    over `model_variables` restores them from a run's checkpoint); dropout is off. What depends on the
    variables alone (the model's `state_tables`) is cached in non-trainable variables that `load_tables`
    fills after the restore, so a step does not recompute it.

    Args:
      model_name: a key of models.MODELS.
      n_skills: the run's number of skills.
      hparams: the run's constants (models.checked_hparams picks what the model reads).

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

    signatures = collections.OrderedDict()
    with tf.name_scope("step"):
        state = tf.placeholder(tf.float32, [None, size], name="state")
        skill = tf.placeholder(tf.int32, [None], name="skill")
        answer = tf.placeholder(tf.int32, [None], name="answer")
        checked_skill, checked_answer = checked_inputs(skill, answer, n_skills)
        new_state = update(state, checked_skill, checked_answer)
        signatures["step"] = (
            {"state": state, "skill": skill, "answer": answer},
            named({"p": predict(state, checked_skill[:, None])[:, 0], "new_state": new_state,
                   "knowledge_state": knowledge(new_state)}))
    with tf.name_scope("initial_state"):
        batch_size = tf.placeholder(tf.int32, [], name="batch_size")
        states = tf.tile(model.initial_state(n_skills, hp)[None], tf.stack([batch_size, 1]))
        signatures["initial_state"] = ({"batch_size": batch_size},
                                       named({"state": tf.reshape(states, [-1, size])}))
    with tf.name_scope("predict_history"):
        skills = tf.placeholder(tf.int32, [None, None], name="skills")
        answers = tf.placeholder(tf.int32, [None, None], name="answers")
        lengths = tf.placeholder(tf.int32, [None], name="lengths")
        # Whatever the padding holds: 0 there, so only the real answers are checked and looked up.
        real = tf.sequence_mask(lengths, tf.shape(skills)[1])
        checked_skills, checked_answers = checked_inputs(
            tf.where(real, skills, tf.zeros_like(skills)), tf.where(real, answers, tf.zeros_like(answers)),
            n_skills)
        first = tf.tile(model.initial_state(n_skills, hp)[None], tf.stack([tf.shape(skills)[0], 1]))
        p, final_state = carried_history(checked_skills, checked_answers, lengths,
                                         tf.reshape(first, [-1, size]), predict, update)
        signatures["predict_history"] = (
            {"skills": skills, "answers": answers, "lengths": lengths},
            named({"p": p, "final_state": final_state, "knowledge_state": knowledge(final_state)}))
    return ServingGraph(signatures=signatures, model_variables=model_variables, load_tables=load_tables)


def checked_inputs(skills, answers, n_skills):
    """`skills` and `answers` once they are checked: skill indices in [0, n_skills), answers 0 or 1.

    Raises (when run) InvalidArgumentError with a message that says what is valid: a skill id looked up by
    hand, or an answer that is not 0/1, must not read another skill's row (on a GPU an out-of-range gather
    gives zeros, not an error). One Assert for both rules: fewer ops per step than four tf.assert_*.
    """
    valid = tf.reduce_all(tf.logical_and(tf.logical_and(skills >= 0, skills < n_skills),
                                         tf.logical_and(answers >= 0, answers <= 1)))
    message = ("skill indices must be in [0, %d) (the `skill` column of skills.csv) and answers 0 (wrong) or "
               "1 (correct)" % n_skills)
    with tf.control_dependencies([tf.Assert(valid, [message])]):
        return tf.identity(skills), tf.identity(answers)


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
      skills, answers: int32 [B, T] (T >= 1), padded after each row's length.
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
    return tf.transpose(p_by_time.stack()), final_states


class ServingModel(SessionOwner):
    """The serving graph of a trained run (utils.trained_model.TrainedModel) in its own graph and session,
    with the run's selected checkpoint restored."""

    def __init__(self, trained):
        self.trained = trained
        self.model_name = trained.kt.model_name
        self.hparams = trained.kt.hparams
        self.n_skills = trained.n_skills
        self.state_size = models.MODELS[self.model_name].state_size(trained.n_skills, self.hparams)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.serving = build_serving_graph(self.model_name, self.n_skills, self.hparams)
            self.session = tf.Session(graph=self.graph, config=tf.ConfigProto(
                intra_op_parallelism_threads=int(trained.config["threads"]),
                inter_op_parallelism_threads=int(trained.config["threads"])))
            checkpoint = os.path.join(trained.run_dir, trained.checkpoint)
            tf.train.Saver(self.serving.model_variables).restore(self.session, checkpoint)
            self.session.run(self.serving.load_tables)

    def run(self, signature, **inputs):
        """Runs one signature: inputs by name (numpy-convertible), outputs as a dict of numpy arrays."""
        feeds, outputs = self.serving.signatures[signature]
        feed_dict = dict((feeds[name], value) for name, value in inputs.items())
        return self.session.run(outputs, feed_dict=feed_dict)

    def export(self, out_dir):
        """Writes the SavedModel, skills.csv and export.json to `out_dir`, which must not exist.

        Everything is written to a sibling folder first and renamed at the end, so `out_dir` is either the
        whole export or absent.
        """
        if os.path.exists(out_dir):
            raise FileExistsError(errno.EEXIST, "an export never overwrites; choose another folder", out_dir)
        parent = os.path.dirname(os.path.abspath(out_dir))
        if not os.path.isdir(parent):
            os.makedirs(parent)
        name = os.path.basename(os.path.abspath(out_dir))
        partial = os.path.join(parent, ".%s.partial-%d" % (name, os.getpid()))
        write_saved_model(self.session, self.serving.signatures, partial)
        skills = run_files.read_skills(self.trained.run_dir, self.n_skills)
        run_files.write_csv(os.path.join(partial, "skills.csv"), ["skill", "skill_id", "name"],
                            zip(skills["skill"], skills["skill_id"], skills["name"]))
        run_files.write_json(os.path.join(partial, "export.json"), self.description())
        os.rename(partial, out_dir)
        return out_dir

    def description(self):
        """export.json: what the export holds and how to use its state."""
        model = models.MODELS[self.model_name]
        summary = run_files.read_summary(self.trained.run_dir) or {}
        return {
            "format": "TensorFlow SavedModel (tf.compat.v1.saved_model), tag %r" % SERVING_TAG,
            "model": self.model_name, "n_skills": self.n_skills, "state_size": self.state_size,
            "state_layout": model.state_layout(self.hparams),
            "initial_state": "run the initial_state signature (the state before any answer; %s)"
                             % {"dkvmn": "the trained M^v_0", "bkt": "each skill's fitted prior"}.get(
                                 self.model_name, "zeros"),
            "skills": "skills.csv: `skill` is the index the signatures take, `skill_id` the data set's id",
            "signatures": dict((name, {"inputs": dict(inputs), "outputs": dict(outputs)})
                               for name, (inputs, outputs) in SIGNATURES.items()),
            "no_cut": "the state is carried over the whole history; training cut histories into chunks of "
                      "seq_len = %d answers, each from the initial state"
                      % int(self.trained.config["seq_len"]),
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

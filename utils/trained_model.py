"""A finished run's model, ready to score data: what evaluate.py and predict.py share.

    with TrainedModel(run_dir) as model:          # graph from config.json, selected checkpoint restored
        batches = EvaluationBatches(sequences, model.config["seq_len"], model.config["batch_size"])
        predictions = model.predict(batches)      # p of every scored position (utils.metrics columns)
        state = model.knowledge_state(sequences)  # p and P(correct) of every skill after every step

The graph is the run's own (models.build_graph with the constants of config.json: same model, same
hyperparameters, same n_skills), and the checkpoint is the one the run selected on validation (state.json
best_checkpoint, the one summary.json's test figures come from). Nothing here trains.

Data from elsewhere is matched to the run by the ORIGINAL skill id (skills.csv skill_id, `skill_ids` here),
never by index: see data.map_skills and data.remap_sequences.
"""
import contextlib
import os

import numpy as np
import tensorflow.compat.v1 as tf

import models
from data import DataError, carried_batches, make_batches
from utils import run_files
from utils.errors import ConfigError, RunFolderError, short_reason
from utils.metrics import concatenated, in_sequence_order, scored_positions

# Largest number of floats the knowledge-state graph may hold for one batch (~160 MB of float32).
KNOWLEDGE_STATE_FLOATS = 4 * 10 ** 7


def loops_per_batch(config):
    """How many loops run the recurrence of a batch (models.build_graph's batch_parts): BATCH_PARTS, but no
    more than the threads that run them (THREADS; 0 = the machine's cores), since two loops on one thread
    only add the cost of the split. A run made before BATCH_PARTS existed has one."""
    threads = int(config["threads"]) or os.cpu_count() or 1
    return max(1, min(int(config.get("batch_parts", 1)), threads))


def session_config(threads):
    return tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)


class EvaluationBatches(object):
    """The batches that score a split: its sequences shortest first, and how to put predictions back.

    make_batches cuts each batch to its longest chunk, so batching sequences of similar lengths pads little:
    at batch 32 on assist2009_updated fold 1 the validation and test splits take 1,978 + 3,844 loop steps
    over 58k + 118k slots instead of 4,335 + 7,599 steps over 138k + 239k (most students answer far fewer
    than SEQ_LEN questions). The scored positions and their predictions are the same; `in_split_order`
    restores the order of make_batches on the split (students in split order, positions ascending). Each
    batch is padded when it is reached (data.sequences.Batches), so a run does not hold its scored splits
    padded from one epoch to the next.
    """

    def __init__(self, sequences, seq_len, batch_size):
        self.sequences = sequences
        # Reordering finds a student's place by its id, so only a split with unique ids is reordered.
        self.reordered = len(set(seq.student for seq in sequences)) == len(sequences)
        if self.reordered:
            sequences = sorted(sequences, key=lambda seq: len(seq.skills))   # stable: ties keep their order
        self.batches = make_batches(sequences, seq_len, batch_size)

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return iter(self.batches)

    def in_split_order(self, predictions):
        """`predictions` (flatten_predictions of these batches) sorted by (student's place in the split,
        position)."""
        return in_sequence_order(predictions, self.sequences) if self.reordered else predictions


def item_feed(kt, batch):
    """{kt.items: batch.items} for a graph that reads items (models.KTGraph.n_items > 0), else {}; DataError
    when the graph reads items and the batch has none."""
    if kt.items is None:
        return {}
    if batch.items is None:
        raise DataError("the run's %s reads item ids (its config.json has n_items %d), but the data has "
                        "none: score it on data with the item column it was trained with "
                        "(CSV_ITEM_COLUMN, or the ASSISTments file's problem_id)"
                        % (kt.model_name, kt.n_items))
    return {kt.items: batch.items}


def batch_feed(kt, batch):
    """The feed that scores `batch` (a data.Batch) in graph `kt`: skills, answers, mask and, where the graph
    reads them, items."""
    feed = {kt.skills: batch.skills, kt.answers: batch.answers, kt.mask: batch.mask}
    feed.update(item_feed(kt, batch))
    return feed


class CarriedEvaluationBatches(EvaluationBatches):
    """The batches that score a split with the state carried over SEQ_LEN chunks (a run with CARRY_STATE):
    data.carried_batches of its sequences, longest first (the lanes then finish together), no shuffle; each
    history runs from its first answer to its last, as the export serves it. predict_batches feeds each
    row the state its lane's previous row ended in."""

    def __init__(self, sequences, seq_len, batch_size):
        self.sequences = sequences
        self.reordered = len(set(seq.student for seq in sequences)) == len(sequences)
        if self.reordered:
            sequences = sorted(sequences, key=lambda seq: -len(seq.skills))   # stable: ties keep their order
        self.batch_size = batch_size
        self.batches = carried_batches(sequences, seq_len, batch_size)


def lane_states(kt, lanes):
    """float32 [lanes, S]: where each lane's next row starts (read only where the row is not reset)."""
    return np.zeros([lanes, kt.carried_state.shape.as_list()[1]], np.float32)


def carried_feed(kt, batch, states):
    """The feed of a data.carried_batches batch: its rows and the state each one's lane ended in."""
    return {kt.skills: batch.skills, kt.answers: batch.answers, kt.mask: batch.mask, kt.reset: batch.reset,
            kt.carried_state: states[batch.lanes]}


def carried_p(session, kt, batches, bar=None):
    """p [B, T] of each batch of CarriedEvaluationBatches, each row started from the state its lane's
    previous row ended in (or the initial state where reset), dropout off; yields (batch, p)."""
    states = lane_states(kt, batches.batch_size)
    for b in batches:
        p, final = session.run([kt.p, kt.final_state], feed_dict=carried_feed(kt, b, states))
        states[b.lanes] = final
        if bar is not None:
            bar.update(1)
        yield b, p


def predict_batches(session, kt, batches, bar=None):
    """p of every scored position of `batches` (dropout off), with where it comes from (see
    utils.metrics.flatten_predictions); for EvaluationBatches in the split's order. `bar` (a data.progress
    bar), when given, advances by one per batch."""
    parts = []
    if isinstance(batches, CarriedEvaluationBatches):
        for b, p in carried_p(session, kt, batches, bar):
            part = scored_positions(b, p)
            part["chunk_position"] = part["position"]  # no cut: only a history's first answer has no past
            parts.append(part)
        return batches.in_split_order(concatenated(parts))
    for b in batches:
        p = session.run(kt.p, feed_dict=batch_feed(kt, b))
        parts.append(scored_positions(b, p))   # each batch is padded when reached and dropped after it
        if bar is not None:
            bar.update(1)
    predictions = concatenated(parts)
    return batches.in_split_order(predictions) if isinstance(batches, EvaluationBatches) else predictions


@contextlib.contextmanager
def opened(run_dir, model=None):
    """`model` when one is given (a TrainedModel of run_dir that the caller keeps open), else a new
    TrainedModel(run_dir), closed when the block ends."""
    if model is not None:
        yield model
        return
    with TrainedModel(run_dir) as new_model:
        yield new_model


def restore_selected_checkpoint(saver, session, run_dir, checkpoint):
    """Restores the run's selected checkpoint (`checkpoint`, relative to run_dir) with `saver`.

    Raises RunFolderError naming the checkpoint when its files are missing or cannot be read: TensorFlow's own
    error for a missing file suggests a graph that does not match the checkpoint, which would send the user
    looking in the wrong place.
    """
    missing = run_files.missing_checkpoint_files(run_dir, checkpoint)
    fix = "copy it back from a backup of the run folder, or train the run again"
    if missing:
        raise RunFolderError("the selected checkpoint %s of %s (state.json best_checkpoint) lacks the "
                             "file(s) %s: %s" % (checkpoint, run_dir, ", ".join(missing), fix))
    try:
        saver.restore(session, os.path.join(run_dir, checkpoint))
    except (tf.errors.OpError, ValueError) as error:
        raise RunFolderError("cannot restore the selected checkpoint %s of %s (%s): it is damaged, or was "
                             "not made by the model of its config.json; %s"
                             % (checkpoint, run_dir, short_reason(error), fix))


class SessionOwner(object):
    """A graph's session that `with` closes: what TrainedModel and utils.serving.ServingModel share."""

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class TrainedModel(SessionOwner):
    """The graph and session of a finished run, with its selected checkpoint restored.

    Fields: run_dir, config (the run's constants), n_skills, skill_ids and skill_names (skills.csv, by
    index), n_items and item_ids (items.csv, by index; 0 and [] when the model reads no items), checkpoint
    (relative to run_dir), graph, session, kt (models.KTGraph).
    """

    def __init__(self, run_dir):
        saved, state = run_files.read_finished_run(run_dir)
        self.run_dir = run_dir
        self.config = saved["constants"]
        self.n_skills = int(saved["n_skills"])
        self.n_items = run_files.recorded_items(saved)
        self.item_ids = run_files.read_item_ids(run_dir, self.n_items) if self.n_items else []
        skills = run_files.read_skills(run_dir, self.n_skills)
        self.skill_ids = list(skills["skill_id"])
        self.skill_names = list(skills["name"])
        self.checkpoint = state["best_checkpoint"]
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.kt = models.build_graph(self.config["model"], self.n_skills, self.config,
                                         batch_parts=loops_per_batch(self.config), n_items=self.n_items)
            self.session = tf.Session(config=session_config(self.config["threads"]))
            try:
                restore_selected_checkpoint(tf.train.Saver(), self.session, run_dir, self.checkpoint)
            except RunFolderError:
                self.session.close()
                raise
        self._knowledge_state = None

    def predict(self, batches):
        """p of every scored position of `batches` (made from sequences in the run's skill indices)."""
        return predict_batches(self.session, self.kt, batches)

    def whole_history_predictions(self, sequences, batch_size):
        """p of every interaction of `sequences`, each whole history read as one chunk (no SEQ_LEN cut): what
        a state carried over the history predicts, from the run's own graph, for a run with no serving graph
        (one that reads items). Rows are ordered as predict's; a batch holds at most KNOWLEDGE_STATE_FLOATS
        floats of T x T (the regressions compare every position with every earlier one)."""
        longest = max(len(seq.skills) for seq in sequences)
        rows = max(1, min(int(batch_size), KNOWLEDGE_STATE_FLOATS // longest ** 2))
        return self.predict(EvaluationBatches(sequences, longest, rows))

    def knowledge_state(self, sequences, carry_state=False):
        """p and the knowledge state of every interaction of `sequences` (in the run's skill indices).

        Sequences are cut into chunks of the run's SEQ_LEN, each starting from the model's initial state, as
        in training; with carry_state, not cut: each runs whole, from its first answer to its last, as the
        export's predict_history does (a run trained with CARRY_STATE). Returns a dict of arrays: student,
        position, skill (run index), answer, p [n], and
        mastery [n, n_skills] (P(correct) of every skill at the next step, after this step's answer), rows
        ordered by student (input order) then position.
        """
        if self.n_items:
            raise ConfigError(refused_for_items(self, "the knowledge state per skill (predict.py)"))
        if self._knowledge_state is None:  # built once, so a reused model does not grow its graph
            with self.graph.as_default():
                self._knowledge_state = models.knowledge_state(self.kt)
        seq_len = int(self.config["seq_len"])
        if carry_state:  # one chunk per history: the model's recurrence carries the state over all of it
            seq_len = max([len(seq.skills) for seq in sequences] + [1])
        model = models.MODELS[self.kt.model_name]
        floats_per_row = seq_len * model.knowledge_state_floats(self.n_skills, self.kt.hparams)
        rows = max(1, min(int(self.config["batch_size"]), KNOWLEDGE_STATE_FLOATS // floats_per_row))
        columns = dict((name, []) for name in ("student", "position", "skill", "answer", "p", "mastery"))
        for batch in make_batches(sequences, seq_len, rows):
            p, mastery = self.session.run([self.kt.p, self._knowledge_state], feed_dict={
                self.kt.skills: batch.skills, self.kt.answers: batch.answers, self.kt.mask: batch.mask})
            r, t = np.nonzero(batch.mask)
            columns["student"].append(np.asarray(batch.students, dtype=object)[r])
            columns["position"].append(np.asarray(batch.offsets)[r] + t)
            columns["skill"].append(batch.skills[r, t])
            columns["answer"].append(batch.answers[r, t])
            columns["p"].append(p[r, t])
            columns["mastery"].append(mastery[r, t])
        return in_sequence_order(dict((name, np.concatenate(parts)) for name, parts in columns.items()),
                                 sequences)


def refused_for_items(trained, what):
    """The message of a ConfigError for what a run whose model reads item ids cannot do: its predictions need
    the item of each answer, which the serving graph and the knowledge state (skill ids alone) do not take."""
    return ("%s: its %s reads item ids (%d items), and %s reads skill ids alone; evaluate.py scores it "
            "(cut at SEQ_LEN or, with --carry_state true, over whole histories); to serve a csv log's model, "
            "train it with CSV_ITEM_COLUMN \"\""
            % (trained.run_dir, trained.kt.model_name, trained.n_items, what))

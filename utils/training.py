"""The training run: train, select on validation, test the selected checkpoint once (docs/results.md).

Every epoch trains on shuffled chunks of the training students, then evaluates the whole validation and
test splits from scratch (utils.metrics). Only the validation AUC selects: the checkpoint of the best
validation epoch is kept in checkpoints/best, and the final test figures come from it. The per-epoch test
figures are logged for the plots and never looked at by the loop; with SCORE_TEST off (a settings search)
the test split is never scored at all and its columns stay empty.

A run writes as it goes (utils.run_files). After each finished epoch it saves checkpoints/last and then
state.json, which is the commit point: a run killed later resumes from that epoch with the same batches
(the shuffling seed is a function of SEED and the epoch), so it loses at most the epoch in progress.
"""
import contextlib
import math
import os
import platform
import time

import numpy as np
import tensorflow.compat.v1 as tf

import models
from data import DataError, carried_batches, make_batches
from data.progress import progress
from utils import run_files
from utils.errors import ConfigError, RunFolderError, TrainingDiverged
from utils.metrics import split_metrics
from utils.trained_model import (CarriedEvaluationBatches, EvaluationBatches, carried_feed, item_feed,
                                 lane_states, loops_per_batch, predict_batches, session_config)


# The divergence rule for a loss that stays finite: an epoch whose mean training loss (binary cross-entropy
# per answer) is above ten times ln 2, the loss of predicting 0.5 for every answer, has diverged. Predicting
# the training split's share of correct answers scores at most ln 2, and a model that learns starts there
# and goes down; a mean ten times worse gives the answer that came a probability of about 1/1000 on
# average, which no learning run does, while a learning rate far too large reaches 1e6 and beyond.
DIVERGED_LOSS = 10 * math.log(2)

# TensorFlow makes a variable's initial value as one tensor proto, limited to 2 GB: 2**29 float32 values.
MAX_VARIABLE_FLOATS = 2 ** 29


def _check_buildable(variables):
    """ConfigError for a variable too large for TensorFlow to initialise (a size typed with extra zeros)."""
    for variable in variables:
        floats = variable.shape.num_elements()
        if floats is not None and floats > MAX_VARIABLE_FLOATS:
            raise ConfigError("the model is too large to build: %s would hold %s floats, above the %s that "
                              "TensorFlow can initialise; lower the model's sizes (MEMORY_SIZE, KEY_DIM, "
                              "VALUE_DIM, FINAL_DIM, HIDDEN_SIZE, DKT_EMBEDDING_SIZE)"
                              % (variable.op.name, "{:,}".format(floats), "{:,}".format(MAX_VARIABLE_FLOATS)))


def out_of_memory(error):
    """The message of a ResourceExhaustedError (the model or a batch does not fit in memory)."""
    return ("out of memory (%s): lower BATCH_SIZE, SEQ_LEN or the model's sizes"
            % _short_reason(error).split(" [[")[0][:200])


def check_scorable(dataset, splits):
    """DataError for a split in `splits` whose AUC is undefined: no answers, or answers of one class only.

    Checked when the data is loaded, before the run folder exists: the validation AUC selects the checkpoint
    and the test AUC is the result, so a NaN in either would be a silent wrong answer.
    """
    fixes = {"valid": "it selects the checkpoint: use data with correct and wrong answers in every split "
                      "(another SEED or VALID_FRACTION, or for three-line files another _valid file)",
             "test": "use a test split with both, or --score_test false to train without scoring it"}
    for split in splits:
        sequences = getattr(dataset, split)
        answers = np.concatenate([seq.answers for seq in sequences]) if sequences else np.zeros(0)
        if answers.size == 0:
            raise DataError("the %s split has no answers, so its AUC is undefined; %s"
                            % (split, fixes[split]))
        if answers.min() == answers.max():
            raise DataError("the %s split has only %s answers (%d answers of %d students), so its AUC is "
                            "undefined; %s" % (split, "correct" if answers[0] == 1 else "wrong", answers.size,
                                               len(sequences), fixes[split]))


def learning_rate_at(config, epoch):
    """Step decay of the DKVMN paper: LEARNING_RATE * LR_DECAY every LR_DECAY_EPOCHS, floored."""
    decays = (epoch - 1) // config["lr_decay_epochs"] if config["lr_decay_epochs"] > 0 else 0
    rate = config["learning_rate"] * config["lr_decay"] ** decays
    return max(rate, config["min_learning_rate"])


def why_training_ended(config, state):
    """Why the loop of Trainer.fit ended at state["epoch"] (a divergence ends it with TrainingDiverged)."""
    if state["epoch"] < config["epochs"]:
        return "early stop: no better validation AUC for %d epochs (the best was epoch %d)" % (
            config["early_stop_patience"], state["best_epoch"])
    return "the epoch limit (EPOCHS = %d)" % config["epochs"]


def carries_state(config):
    """Whether the run trains and scores with the state carried over SEQ_LEN chunks (CARRY_STATE; a run made
    before the constant cuts)."""
    return bool(config.get("carry_state", False))


def training_batches(config, sequences, epoch):
    """The batches of an epoch, in an order that depends on SEED and the epoch alone: shuffled chunks
    (data.make_batches), or with CARRY_STATE each student's chunks in order in BATCH_SIZE lanes, the students
    shuffled (data.carried_batches)."""
    seed = epoch_shuffle_seed(config["seed"], epoch)
    if carries_state(config):
        return carried_batches(sequences, config["seq_len"], config["batch_size"], shuffle=True, seed=seed)
    return make_batches(sequences, config["seq_len"], config["batch_size"], shuffle=True, seed=seed)


def epoch_shuffle_seed(seed, epoch):
    """The seed of an epoch's batch order: depends on nothing else, so a resumed run sees the same batches."""
    return (seed * 1000003 + epoch) % (2 ** 32)


def library_versions():
    """What config.json records of the software a run used."""
    import pandas
    import sklearn
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "numpy": np.__version__,
            "pandas": pandas.__version__, "scikit-learn": sklearn.__version__}


# Sequences per scoring call, at least (BATCH_SIZE if larger): a prediction does not depend on the batch it
# is in. With the batch in two loops (BATCH_PARTS 2), 32 scores fastest: on assist2009_updated fold 1,
# validation + test took 0.84-0.89 s at 32 against 1.12-1.26 s at 128 for DKVMN, 0.77-0.79 s against
# 0.84-0.85 s for DKT (2 cores, quiet machine): a part of 16 sequences keeps the [16, N, d_v] memory in cache.
# (With one loop it was the other way round: ~1.2-1.6 s at 128 against ~2.3-2.8 s at 32 for DKVMN.)
SCORING_BATCH_SIZE = 32


class Trainer(object):
    """Owns the graph, the session and the run folder of one run."""

    # A trainer that always stops after this many epochs (BKT: one EM fit per setting), fewer only when EPOCHS
    # is lower; None: EPOCHS and the early stop decide.
    FIXED_EPOCHS = None

    def __init__(self, config, dataset, run_dir, log=print):
        self.config = config
        self.dataset = dataset
        self.run_dir = run_dir
        self.log = log
        self.n_items = run_items(config, dataset, run_dir)
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.set_random_seed(config["seed"])
            self.model = models.build_graph(config["model"], dataset.n_skills, config,
                                            batch_parts=loops_per_batch(config), n_items=self.n_items,
                                            carry_state=carries_state(config))
            _check_buildable(tf.global_variables())
            self.weights_finite = tf.reduce_all(tf.stack(  # [] bool: no weight is NaN or infinite
                [tf.reduce_all(tf.math.is_finite(v)) for v in tf.trainable_variables()]))
            # No saver deletes a checkpoint: run_files.prune_checkpoints does, once state.json no longer
            # names it (a saver's max_to_keep would delete the old best before state.json moves on).
            self.last_saver = tf.train.Saver(max_to_keep=None)
            self.best_saver = tf.train.Saver(max_to_keep=None)
            self.session = tf.Session(config=session_config(config["threads"]))
            try:
                self.session.run(tf.global_variables_initializer())
            except tf.errors.ResourceExhaustedError as error:
                self.session.close()
                raise ConfigError(out_of_memory(error))
        self.num_parameters = self.model.num_parameters
        scored = ("valid", "test") if config["score_test"] else ("valid",)
        scoring = CarriedEvaluationBatches if carries_state(config) else EvaluationBatches
        self.eval_batches = {
            split: scoring(getattr(dataset, split), config["seq_len"],
                           max(config["batch_size"], SCORING_BATCH_SIZE))
            for split in scored}

    # -- the loop ---------------------------------------------------------------------------------------

    def fit(self, state):
        """Trains from the epoch after `state["epoch"]` to the end; returns the final state."""
        with self._writing("the TensorBoard events in tensorboard/"):
            writer = tf.summary.FileWriter(os.path.join(self.run_dir, "tensorboard"),
                                           self.graph if state["epoch"] == 0 else None)
        step_log = run_files.CsvLog(os.path.join(self.run_dir, run_files.STEPS), run_files.STEP_COLUMNS)
        epoch_log = run_files.CsvLog(os.path.join(self.run_dir, run_files.EPOCHS), run_files.EPOCH_COLUMNS)
        try:
            while (state["epoch"] < self.config["epochs"] and not self._should_stop(state)
                   and not self.paused(state)):
                epoch = state["epoch"] + 1
                row = self._train_epoch(epoch, state, step_log, writer)
                if not self.session.run(self.weights_finite):
                    raise self._diverged(epoch, state, "the model's weights became NaN or infinite")
                if row["train_loss"] > DIVERGED_LOSS:  # before the epoch is committed: never selected
                    raise self._diverged(epoch, state, "its mean training loss %.4g is above %.2f (10 x ln "
                                         "2, ten times the loss of predicting 0.5 for every answer)"
                                         % (row["train_loss"], DIVERGED_LOSS))
                row.update(self._evaluate_epoch(epoch, state))
                epoch_log.append(row)
                self._write_scalars(writer, state["step"], row)
                state = self._finish_epoch(epoch, row, state)
        finally:
            step_log.close()
            epoch_log.close()
            writer.close()
        return state

    def _train_epoch(self, epoch, state, step_log, writer):
        learning_rate = learning_rate_at(self.config, epoch)
        batches = training_batches(self.config, self.dataset.train, epoch)
        self.lane_states = lane_states(self.model, self.config["batch_size"]) if carries_state(self.config) \
            else None
        losses, weights = [], []
        started = time.time()
        # `with` clears the bar before an error (divergence) is printed
        with progress(batches, "epoch %d/%d" % (epoch, self.config["epochs"]), unit="step") as bar:
            for batch in bar:
                loss = self._train_step(batch, learning_rate)
                state["step"] += 1
                if not math.isfinite(loss):
                    raise self._diverged(epoch, state, "the training loss became %s at step %d" % (
                        loss, state["step"]))
                step_log.append({"step": state["step"], "epoch": epoch, "train_loss": loss})
                losses.append(loss)
                weights.append(batch.mask.sum())
                bar.set_postfix_str("loss %.4f" % loss, refresh=False)  # shown at the bar's next refresh
        self._write_scalars(writer, state["step"], {"train_loss_step": losses[-1]})
        return {"epoch": epoch, "learning_rate": learning_rate,
                "train_loss": float(np.average(losses, weights=weights)),
                "train_seconds": time.time() - started}

    def _train_step(self, batch, learning_rate):
        m = self.model
        if self.lane_states is None:
            _, loss = self.session.run([m.train_op, m.loss], feed_dict={
                m.skills: batch.skills, m.answers: batch.answers, m.mask: batch.mask,
                m.learning_rate: learning_rate, m.training: True, **item_feed(m, batch)})
            return float(loss)
        # The state each row ends in is computed before the step's update, with the weights that computed
        # the loss (the row's forward pass); the next chunk starts from it under the updated weights.
        feed = carried_feed(m, batch, self.lane_states)
        feed.update({m.learning_rate: learning_rate, m.training: True})
        _, loss, final = self.session.run([m.train_op, m.loss, m.final_state], feed_dict=feed)
        self.lane_states[batch.lanes] = final
        return float(loss)

    def _evaluate_epoch(self, epoch, state):
        started = time.time()
        row = {}
        with progress(None, "epoch %d/%d scoring" % (epoch, self.config["epochs"]), unit="batch",
                      total=sum(len(batches) for batches in self.eval_batches.values())) as bar:
            for split, batches in sorted(self.eval_batches.items()):
                predictions = self.predict(batches, bar)
                if not np.isfinite(predictions["p"]).all():  # finite weights can still overflow in the graph
                    raise self._diverged(epoch, state, "its %s predictions became NaN or infinite" % split)
                for name, value in split_metrics(predictions).items():
                    row["%s_%s" % (split, name)] = value
        row["eval_seconds"] = time.time() - started
        return row

    def _diverged(self, epoch, state, what):
        """The TrainingDiverged of epoch `epoch` (state: the last committed epoch), naming what is kept."""
        kept = ("no epoch had finished, so no checkpoint was kept" if state["epoch"] == 0 else
                "the last good checkpoint (epoch %d) is kept: %s" % (
                    state["epoch"], os.path.join(self.run_dir, state["last_checkpoint"])))
        return TrainingDiverged("training diverged in epoch %d: %s; %s. Lower LEARNING_RATE or set "
                                "MAX_GRAD_NORM, then start a new run" % (epoch, what, kept))

    def _finish_epoch(self, epoch, row, state):
        """Saves the epoch's checkpoints, then state.json (the commit point of the epoch)."""
        state = dict(state, epoch=epoch)
        checkpoints = os.path.join(self.run_dir, "checkpoints")
        for kind in ("last", "best"):
            os.makedirs(os.path.join(checkpoints, kind), exist_ok=True)
        state["last_checkpoint"] = self._save(self.last_saver, "last", epoch)
        improved = state["best_epoch"] == 0 or row["valid_auc"] > state["best_valid_auc"]
        if improved:
            state["best_epoch"], state["best_valid_auc"] = epoch, row["valid_auc"]
            state["best_checkpoint"] = self._save(self.best_saver, "best", epoch)
        run_files.write_json(os.path.join(self.run_dir, run_files.STATE), state)
        run_files.prune_checkpoints(self.run_dir, state)
        self.log("epoch %3d  train loss %.4f  valid loss %.4f acc %.4f auc %.4f  best %.4f @%d  "
                 "(train %.1fs, eval %.1fs)" % (
            epoch, row["train_loss"], row["valid_loss"], row["valid_acc"], row["valid_auc"],
            state["best_valid_auc"], state["best_epoch"], row["train_seconds"], row["eval_seconds"]))
        return state

    def paused(self, state):
        """True when this sitting ends at state["epoch"] (PAUSE_AFTER_EPOCH) before the run's own end."""
        pause = self.config.get("pause_after_epoch", 0)
        return (0 < pause <= state["epoch"] < self.config["epochs"]) and not self._should_stop(state)

    def why_training_ended(self, state):
        """Why `fit` ended at state["epoch"], for the run's log."""
        return why_training_ended(self.config, state)

    def stopped(self, state):
        """Why `fit` ended, for summary.json's "stopped"; None: run_files.write_summary's words (EPOCHS
        reached, or the early stop)."""
        return None

    def _should_stop(self, state):
        patience = self.config["early_stop_patience"]
        return patience > 0 and state["epoch"] - state["best_epoch"] >= patience

    # -- checkpoints and predictions ------------------------------------------------------------------

    def _save(self, saver, kind, epoch):
        """Saves checkpoints/<kind>/model-<epoch>; returns its path relative to the run folder."""
        prefix = os.path.join(self.run_dir, "checkpoints", kind, "model")
        with self._writing("the checkpoint %s" % os.path.join("checkpoints", kind, "model-%d" % epoch)):
            path = saver.save(self.session, prefix, global_step=epoch, write_meta_graph=False)
        return os.path.relpath(path, self.run_dir)

    @contextlib.contextmanager
    def _writing(self, what):
        """Turns TensorFlow's error for a failed write (a full or read-only disk) into a RunFolderError."""
        try:
            yield
        except tf.errors.OpError as error:
            raise run_files.write_failed(self.run_dir, what, _short_reason(error))

    def _write_scalars(self, writer, step, values):
        summary = tf.Summary(value=[tf.Summary.Value(tag=name, simple_value=float(value))
                                    for name, value in sorted(values.items()) if name != "epoch"])
        try:
            writer.add_summary(summary, step)
            writer.flush()
        except Exception as error:
            # TF re-raises its writer thread's failure with whatever type its C++ binding chose (IndexError
            # on TF 2.21 for a full disk); these two calls do nothing but write the events file.
            raise run_files.write_failed(self.run_dir, "the TensorBoard events in tensorboard/",
                                         _short_reason(error))

    def restore(self, relative_checkpoint):
        """Restores a checkpoint of the run; RunFolderError naming it when it cannot be read."""
        try:
            self.last_saver.restore(self.session, os.path.join(self.run_dir, relative_checkpoint))
        except (tf.errors.OpError, ValueError) as error:  # ValueError: TF 2.x for a missing checkpoint
            raise RunFolderError("cannot restore the checkpoint %s of %s (%s): it is damaged or incomplete, "
                                 "so the run cannot continue from it; start a new run" % (
                                     relative_checkpoint, self.run_dir, _short_reason(error)))

    def predict(self, batches, bar=None):
        """p of every scored position of `batches` (see utils.trained_model.predict_batches). `bar` (a
        data.progress bar) advances by one per batch."""
        return predict_batches(self.session, self.model, batches, bar)

    def skill_correlation_weights(self):
        if self.model.skill_correlation_weights is None:
            return None
        return self.session.run(self.model.skill_correlation_weights)

    def close(self):
        self.session.close()


def run_items(config, dataset, run_dir):
    """The items the run's model reads: a resumed run (run_dir given) those its config.json records (none for
    a run made before items), a new one the data's when the model reads items (models.item_count)."""
    if run_dir:
        return run_files.recorded_items(run_files.read_config(run_dir))
    return models.item_count(config["model"], dataset.n_items)


def _short_reason(error):
    """The line of a TensorFlow error that says what failed (its message also holds the graph's stack)."""
    lines = [line.strip() for line in str(getattr(error, "message", None) or error).splitlines()]
    telling = [line for line in lines if "; " in line and os.sep in line]
    return (telling or [line for line in lines if line] or [type(error).__name__])[0]

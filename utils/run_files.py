"""The run folder: its one format (file names, columns, readers and writers), written so a kill loses little.

Layout (main.py writes it; evaluate.py, predict.py, plots/ and scripts/ read it through this module):
    config.json           every constant, library versions, the data fingerprint, n_skills, n_items (the
                          items the model reads: 0 = none, also for a run made before items), parameters
    steps.csv             STEP_COLUMNS                            (one row per training step)
    epochs.csv            EPOCH_COLUMNS                           (one row per finished epoch)
    state.json            the last finished epoch and the checkpoints that go with it (the commit point)
    summary.json          the selected epoch and its test figures (written at the end: the run is finished)
    skills.csv            skill index -> original id, name, true concept when known
    items.csv             item index -> original id (only when the model reads items: n_items > 0)
    correlation_weights.csv  DKVMN: each skill's softmax(k . M^k) from the selected checkpoint
    predictions.csv       test predictions of the selected checkpoint, one row per interaction
    checkpoints/          last/ (resume) and best/ (selection on validation)
    .lock                 locked while a main.py writes the folder (one process at a time)
    tensorboard/          TensorBoard events

Writes are atomic (a reader sees the old file or the new one) and logs are appended and flushed row by row.
Every reader raises RunFolderError, with the file and what to do, for a folder that is not what it should be.
No TensorFlow here: the plot scripts read run folders through this module too.
"""
import contextlib
import csv
import datetime
import glob
import io
import json
import os
import re

import numpy as np
import pandas as pd

from utils.errors import ConfigError, RunFolderError

CONFIG = "config.json"
STATE = "state.json"
SUMMARY = "summary.json"
STEPS = "steps.csv"
EPOCHS = "epochs.csv"
SKILLS = "skills.csv"
ITEMS = "items.csv"
PREDICTIONS = "predictions.csv"
CORRELATION_WEIGHTS = "correlation_weights.csv"
LOCK = ".lock"

STEP_COLUMNS = ["step", "epoch", "train_loss"]
EPOCH_COLUMNS = ["epoch", "learning_rate", "train_loss",
                 "valid_loss", "valid_acc", "valid_auc", "valid_auc_from2",
                 "test_loss", "test_acc", "test_auc", "test_auc_from2",
                 "train_seconds", "eval_seconds"]


RUNS_DIR_ADVICE = "give a writable folder with free space as RUNS_DIR (--runs_dir PATH)"


def create_run_dir(runs_dir, dataset, model, now=None, what="a run folder", advice=RUNS_DIR_ADVICE):
    """Makes a new, empty run folder `<runs_dir>/<dataset>-<model>-<timestamp>`; never reuses one.

    Raises RunFolderError when RUNS_DIR cannot hold a new folder (read-only, full, not a folder): "cannot
    create `what` in RUNS_DIR", then `advice`: how to choose another folder with the caller's own option.
    """
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = os.path.join(runs_dir, "%s-%s-%s" % (folder_name(dataset), folder_name(model), stamp))
    try:
        os.makedirs(runs_dir, exist_ok=True)
        for attempt in range(1, 100):
            path = base if attempt == 1 else "%s-%d" % (base, attempt)
            try:
                os.makedirs(path)
                return path
            except FileExistsError:
                continue
    except OSError as error:
        raise RunFolderError("cannot create %s in %s (%s): %s" % (what, runs_dir, error.strerror or error,
                                                                  advice))
    raise RunFolderError("could not create a fresh run folder under %s: 99 folders %s-* exist" % (
        runs_dir, base))


def folder_name(text):
    """`text` as one safe folder-name part: a data set name may be a path ("../sub/x" for three-line files
    elsewhere), but the run folder must stay inside RUNS_DIR."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", str(text)).strip("._-") or "data"


def write_config(run_dir, constants, versions, data_fingerprint, n_skills, num_parameters, n_items=0,
                 train_correct_rate=None):
    """config.json: what a run was made with; evaluate.py, predict.py and a resume rebuild the run from it.
    `train_correct_rate`: the share of correct answers in the training split, the P(correct) an export
    answers for a skill the run never saw (utils/serving.py UNKNOWN_SKILL)."""
    config = {"constants": constants, "versions": versions, "data_fingerprint": data_fingerprint,
              "n_skills": int(n_skills), "num_parameters": int(num_parameters), "n_items": int(n_items)}
    if train_correct_rate is not None:
        config["train_correct_rate"] = float(train_correct_rate)
    write_json(os.path.join(run_dir, CONFIG), config)


def recorded_items(config):
    """The items a run's model reads, from its config.json (`config`, read_config's dict): 0 for a run made
    before items, which read none."""
    return int(config.get("n_items") or 0)


def write_json(path, obj):
    """Writes JSON atomically: a reader sees the old file or the new one, never half of one.

    A NaN or infinite number is written as null: JSON has no such values (Python would write a bare NaN,
    which strict readers refuse) and an undefined figure must not pass for a number.
    """
    text = json.dumps(_finite_or_null(obj), indent=2, sort_keys=True, default=_plain, allow_nan=False)
    write_text(path, text + "\n")


def _finite_or_null(value):
    """`value` with every non-finite float (Python or numpy) inside dicts and lists replaced by None."""
    if isinstance(value, dict):
        return dict((key, _finite_or_null(item)) for key, item in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_finite_or_null(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_text(path, text):
    """Writes `text` to `path` atomically (a full `path`.partial, then renamed); on a failed write (a full or
    read-only disk) the old file is intact and no partial file is left behind."""
    partial = path + ".partial"
    try:
        with open(partial, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError:
        if os.path.isfile(partial):
            os.remove(partial)
        raise


def write_csv(path, columns, rows):
    """Writes a whole CSV atomically; rows are sequences in the order of `columns`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


class CsvLog(object):
    """An append-only CSV log, flushed after every row so a killed run keeps what it wrote."""

    def __init__(self, path, columns):
        self.columns = list(columns)
        is_new = not os.path.exists(path)
        self._file = open(path, "a")
        self._writer = csv.writer(self._file, lineterminator="\n")
        if is_new:
            self._writer.writerow(self.columns)
            self._file.flush()

    def append(self, row):
        """`row` is a dict of column -> value; a column it lacks is left empty (e.g. test figures that a run
        without SCORE_TEST never computes)."""
        self._writer.writerow([_format(row.get(column, "")) for column in self.columns])
        self._file.flush()

    def close(self):
        self._file.close()


def truncate_log(path, columns, last_epoch):
    """Drops the rows of epochs after `last_epoch` (the epoch a killed run was in) before a resume, and a
    half-written row (a write cut by a full disk); `columns` is the header of a file that lost its own."""
    with open(path, "rb") as f:  # a crash of the machine can leave NUL bytes or broken UTF-8 at the end
        text = f.read().decode("utf-8", errors="replace").replace("\0", "")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0] if rows and "epoch" in rows[0] else list(columns)
    epoch_column = header.index("epoch")
    kept = [row for row in rows[1:] if len(row) == len(header) and row[epoch_column].isdigit()
            and int(row[epoch_column]) <= last_epoch]
    write_csv(path, header, kept)


def truncate_logs(run_dir, last_epoch):
    """truncate_log of steps.csv and epochs.csv; called once a resume has checked and restored everything."""
    for name, columns in ((STEPS, STEP_COLUMNS), (EPOCHS, EPOCH_COLUMNS)):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            truncate_log(path, columns, last_epoch)


def _format(value):
    if isinstance(value, float):
        return repr(value)
    return value


def _plain(value):
    """JSON for numpy scalars."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError("not JSON serialisable: %r" % (value,))


def fresh_state(constants):
    """What state.json holds before the first epoch. It keeps a copy of the run's constants as written to
    config.json, so that a resume finds a config.json edited since (see resumable_config)."""
    return {"epoch": 0, "step": 0, "best_epoch": 0, "best_valid_auc": float("-inf"),
            "last_checkpoint": None, "best_checkpoint": None, "constants": constants}


def resumable_config(run_dir):
    """The constants a run was started with, checked to be a run that can be resumed."""
    saved = read_config(run_dir)
    if os.path.exists(os.path.join(run_dir, SUMMARY)):
        raise RunFolderError("%s has finished (summary.json exists); start a new run instead" % run_dir)
    _check_constants_unchanged(run_dir, saved["constants"])
    config = dict(saved["constants"])
    config["resume"] = run_dir
    return config


def _check_constants_unchanged(run_dir, constants):
    """RunFolderError naming each constant of config.json whose value differs from the copy in state.json:
    an edited learning rate would train on with the new value while config.json claimed it for the whole
    run, and an edited size would not fit the checkpoints. A state.json that cannot be read is left to
    resume_state, which says what is wrong with it; one without the copy (an older run) is not checked."""
    try:
        started = _read_json_file(os.path.join(run_dir, STATE)).get("constants")
    except (RunFolderError, AttributeError):
        return
    if not isinstance(started, dict):
        return
    changed = ["%s %s -> %s" % (name, json.dumps(started[name]), json.dumps(constants[name]))
               for name in sorted(set(started) & set(constants))
               if name != "resume" and started[name] != constants[name]]
    if changed:
        raise RunFolderError("%s was edited since the run started (%s): a resume continues the run with the "
                             "constants it started with; put them back, or start a new run with the new "
                             "values" % (os.path.join(run_dir, CONFIG), "; ".join(changed)))


@contextlib.contextmanager
def run_lock(run_dir):
    """Holds an exclusive lock on the run folder (its file .lock) while a run writes it, so a second main.py
    (a resume of a run that is still running) is refused instead of writing the same files. The lock is the
    operating system's (flock): a killed process releases it. Where fcntl is missing (Windows) nothing is
    locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = os.path.join(run_dir, LOCK)
    try:
        handle = open(path, "a")
    except OSError as error:
        raise write_failed(run_dir, path, error.strerror or error)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RunFolderError("%s is in use by another process (a main.py that is still running): wait "
                                 "for it to end, or stop it and then resume" % run_dir)
        yield
    finally:
        handle.close()


def resume_state(run_dir, data_fingerprint):
    """The state a resume continues from, once everything it needs is checked; changes nothing on disk.

    Checks the data fingerprint, state.json (present, valid, an epoch finished) and the files of the two
    checkpoints it names. Their contents are checked by restoring them (utils.training), still before the
    logs are cut back (truncate_logs). Raises RunFolderError saying what is missing or damaged.
    """
    saved = read_config(run_dir)
    if saved.get("data_fingerprint") != data_fingerprint:
        raise RunFolderError("the data of %s changed since the run started (fingerprint differs); "
                             "resume with the same data set files and options" % run_dir)
    state_path = os.path.join(run_dir, STATE)
    if not os.path.isfile(state_path):
        finished = len(read_epochs(run_dir))
        why = ("it was stopped before its first epoch ended" if not finished else
               "it was deleted or lost: without it the %d finished epochs in epochs.csv have no known "
               "checkpoint or step count" % finished)
        raise RunFolderError("%s has no state.json, the record of its last finished epoch (%s); it cannot be "
                             "resumed: start a new run" % (run_dir, why))
    try:
        state = _read_json_file(state_path)
    except RunFolderError as error:
        raise RunFolderError("%s; the run cannot be resumed without it: start a new run" % error)
    problem = _state_problem(run_dir, state)
    if problem:
        raise RunFolderError("%s: %s; the run cannot be resumed: start a new run" % (state_path, problem))
    return state


def _state_problem(run_dir, state):
    """What is wrong with a state.json about to be resumed (None when nothing is)."""
    if not isinstance(state, dict):
        return "expected a JSON object"
    for name in ("epoch", "step", "best_epoch"):
        if not isinstance(state.get(name), int) or isinstance(state.get(name), bool) or state[name] < 0:
            return "%s should be a whole number >= 0, got %r" % (name, state.get(name))
    if state["epoch"] == 0:
        return "no epoch has finished"
    if not 1 <= state["best_epoch"] <= state["epoch"]:
        return "best_epoch %d is not one of the finished epochs 1..%d" % (state["best_epoch"], state["epoch"])
    if not isinstance(state.get("best_valid_auc"), (int, float)):
        return "best_valid_auc should be a number, got %r" % (state.get("best_valid_auc"),)
    for name in ("last_checkpoint", "best_checkpoint"):
        if not isinstance(state.get(name), str) or not state[name]:
            return "%s should name a checkpoint, got %r" % (name, state.get(name))
        parts = os.path.normpath(state[name]).split(os.sep)
        if len(parts) != 3 or parts[:2] != ["checkpoints", name.split("_")[0]]:
            return "%s %r is not a checkpoint of the run folder (checkpoints/%s/model-N)" % (
                name, state[name], name.split("_")[0])
        missing = missing_checkpoint_files(run_dir, state[name])
        if missing:
            return "%s %s lacks the file(s) %s" % (name, state[name], ", ".join(missing))
    return None


def missing_checkpoint_files(run_dir, checkpoint):
    """The files of a tf.train.Saver checkpoint (`checkpoint` relative to run_dir) that are not there: its
    .index and every .data shard (names relative to run_dir)."""
    prefix = os.path.join(run_dir, checkpoint)
    missing = [] if os.path.isfile(prefix + ".index") else [checkpoint + ".index"]
    shards = [os.path.basename(path) for path in glob.glob(glob.escape(prefix) + ".data-*-of-*")]
    totals = set(name.rsplit("-of-", 1)[1] for name in shards)
    if not shards:
        return missing + [checkpoint + ".data-*"]
    for total in totals:
        for shard in range(int(total)):
            name = "%s.data-%05d-of-%s" % (os.path.basename(prefix), shard, total)
            if name not in shards:
                missing.append(os.path.join(os.path.dirname(checkpoint), name))
    return missing


def prune_checkpoints(run_dir, state):
    """Deletes the checkpoint files in checkpoints/last and checkpoints/best that `state` does not name.

    Called after state.json is written: until then the checkpoints the old state.json names are kept, so a
    kill between a checkpoint save and state.json leaves a resumable folder.
    """
    for name in ("last_checkpoint", "best_checkpoint"):
        folder = os.path.join(run_dir, os.path.dirname(state[name]))
        keep = os.path.basename(state[name])
        for file_name in os.listdir(folder):
            if file_name.startswith("model-") and file_name.split(".")[0] != keep:
                path = os.path.join(folder, file_name)
                if os.path.isfile(path):
                    os.remove(path)


def write_failed(run_dir, what, reason):
    """The RunFolderError of a write that failed in a run folder (a full or read-only disk): what failed and
    how to continue from the last epoch that state.json committed."""
    state_path = os.path.join(run_dir, STATE)
    try:
        epoch = int(_read_json_file(state_path).get("epoch", 0)) if os.path.isfile(state_path) else 0
    except (RunFolderError, AttributeError, TypeError, ValueError):
        epoch = 0
    then = ("then `python main.py --resume %s` continues after epoch %d" % (run_dir, epoch) if epoch else
            "then start a new run (no epoch had finished)")
    return RunFolderError("cannot write %s (%s): free disk space or make %s writable, %s"
                          % (what, reason, run_dir, then))


def write_skills(run_dir, dataset):
    """skills.csv: what the plots need to name skills and score clusters, without re-reading the data."""
    concepts = dataset.true_concepts
    rows = [(index, dataset.skill_ids[index], dataset.skill_names[index],
             "" if concepts is None else int(concepts[index])) for index in range(dataset.n_skills)]
    write_csv(os.path.join(run_dir, SKILLS), ["skill", "skill_id", "name", "true_concept"], rows)


def write_items(run_dir, item_ids):
    """items.csv: the original id of each item index, so that data read again is matched by id."""
    write_csv(os.path.join(run_dir, ITEMS), ["item", "item_id"], enumerate(item_ids))


def read_item_ids(run_dir, n_items):
    """The original item ids of items.csv, by index; RunFolderError when it is missing or does not hold
    n_items rows 0..n_items-1."""
    path = os.path.join(run_dir, ITEMS)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise RunFolderError("cannot read %s (%s): the run reads item ids and needs it; it was not made by "
                             "main.py, or is damaged" % (path, str(e).strip().splitlines()[-1])) from None
    if list(table.columns[:2]) != ["item", "item_id"] or list(table["item"]) != [
            str(index) for index in range(n_items)]:
        raise RunFolderError("%s: expected the header item,item_id and the item indices 0..%d once each, in "
                             "order" % (path, n_items - 1))
    return list(table["item_id"])


def write_predictions(run_dir, predictions):
    """predictions.csv: one row per scored test interaction, `skill` being the index of skills.csv."""
    columns = ["student", "position", "skill", "answer", "p"]
    rows = zip(predictions["student"], predictions["position"].tolist(), predictions["skill"].tolist(),
               predictions["answer"].tolist(), ("%.6f" % p for p in predictions["p"]))
    write_csv(os.path.join(run_dir, PREDICTIONS), columns, rows)


def write_correlation_weights(run_dir, weights):
    """correlation_weights.csv (DKVMN): row q is softmax(A q . M^k) over the memory slots."""
    if weights is None:
        return
    columns = ["skill"] + ["w%d" % slot for slot in range(weights.shape[1])]
    rows = ([index] + ["%.6f" % w for w in row] for index, row in enumerate(weights))
    write_csv(os.path.join(run_dir, CORRELATION_WEIGHTS), columns, rows)


def write_summary(run_dir, config, state, test_metrics, num_parameters, stopped=None):
    """summary.json: the selected epoch and the test figures of its checkpoint, measured once (test_metrics
    names without their test_ prefix; empty when the run does not score the test split). `stopped`: why
    training ended, in words; None: from EPOCHS and EARLY_STOP_PATIENCE."""
    if stopped is None:
        stopped = ("early stop: no better validation AUC for %d epochs" % config["early_stop_patience"]
                   if state["epoch"] < config["epochs"] else "reached EPOCHS")
    summary = {"model": config["model"], "dataset": config["dataset"], "best_epoch": state["best_epoch"],
               "epochs_run": state["epoch"], "valid_auc": state["best_valid_auc"],
               "num_parameters": num_parameters, "stopped": stopped, "state": state_mode(config)}
    for name, value in test_metrics.items():
        summary["test_" + name] = value
    write_json(os.path.join(run_dir, SUMMARY), summary)
    return summary


def state_mode(config):
    """How a run trains, selects and scores (summary.json "state"): "carried" over each student's SEQ_LEN
    chunks (CARRY_STATE), or "cut": every chunk from the initial state (the paper's protocol)."""
    return "carried" if config.get("carry_state") else "cut"


# -- readers ------------------------------------------------------------------------------------------------

def read_config(run_dir):
    """config.json of a run folder (a dict with "constants"); RunFolderError when `run_dir` is not a run."""
    if not os.path.isdir(run_dir):
        raise RunFolderError("%s is not a folder (expected a run folder made by main.py, e.g. "
                             "runs/synthetic-dkvmn-20260101-120000)" % run_dir)
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path):
        raise RunFolderError("%s is not a run folder: it has no config.json (expected a folder made by "
                             "main.py, e.g. runs/synthetic-dkvmn-20260101-120000)" % run_dir)
    config = _read_json_file(path)
    if not isinstance(config, dict) or not isinstance(config.get("constants"), dict):
        raise RunFolderError("%s: expected a JSON object with the run's \"constants\"" % path)
    return config


def read_finished_run(run_dir):
    """(config.json, state.json) of a finished run: summary.json written and a selected checkpoint named."""
    config = read_config(run_dir)
    state_path = os.path.join(run_dir, STATE)
    state = _read_json_file(state_path) if os.path.isfile(state_path) else {}
    if not os.path.isfile(os.path.join(run_dir, SUMMARY)) or not state.get("best_checkpoint"):
        raise RunFolderError("%s has not finished (no summary.json or no selected checkpoint): wait for it "
                             "to end, or resume it with `python main.py --resume %s`" % (run_dir, run_dir))
    return config, state


def read_summary(run_dir):
    """summary.json, or None while the run is in progress."""
    path = os.path.join(run_dir, SUMMARY)
    return _read_json_file(path) if os.path.isfile(path) else None


def read_epochs(run_dir):
    """epochs.csv as a DataFrame (EPOCH_COLUMNS that are present), one row per finished epoch, sorted."""
    path = os.path.join(run_dir, EPOCHS)
    if not os.path.isfile(path):
        return pd.DataFrame(columns=EPOCH_COLUMNS)
    return _read_log(path, ["epoch"], "epoch")


def read_steps(run_dir):
    """steps.csv as a DataFrame (STEP_COLUMNS), finite losses only, sorted by step; None without the file."""
    path = os.path.join(run_dir, STEPS)
    if not os.path.isfile(path):
        return None
    steps = _read_log(path, STEP_COLUMNS, "step")
    return steps[np.isfinite(steps["train_loss"].values.astype(float))].reset_index(drop=True)


def read_skills(run_dir, n_skills=None):
    """skills.csv -> DataFrame(skill int, skill_id str, name str (the id when empty), true_concept float,
    NaN when unknown), one row per skill index in order; checked against `n_skills` when given."""
    path = os.path.join(run_dir, SKILLS)
    if not os.path.isfile(path):
        raise RunFolderError("%s has no skills.csv: it was not made by main.py, or is damaged" % run_dir)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise RunFolderError("cannot parse %s (%s)" % (path, str(e).strip().splitlines()[-1])) from None
    missing = [c for c in ("skill", "skill_id") if c not in table.columns]
    if missing:
        raise RunFolderError("%s lacks the column(s) %s (header: %s); expected skill,skill_id,name,"
                             "true_concept" % (path, ",".join(missing), ",".join(map(str, table.columns))))
    index = pd.to_numeric(table["skill"], errors="coerce")
    if index.isnull().any():
        bad = int(np.flatnonzero(index.isnull().values)[0])
        raise RunFolderError("%s:%d: skill %r is not an integer index" % (path, bad + 2, table["skill"][bad]))
    skills = pd.DataFrame({"skill": index.astype(int), "skill_id": table["skill_id"].astype(str)})
    skills["name"] = table["name"].astype(str) if "name" in table else ""
    concepts = table["true_concept"] if "true_concept" in table else ""
    skills["true_concept"] = pd.to_numeric(concepts, errors="coerce")
    skills = skills.sort_values("skill").reset_index(drop=True)
    if not np.array_equal(skills["skill"].values, np.arange(len(skills))) or (
            n_skills is not None and len(skills) != n_skills):
        raise RunFolderError("%s: expected the skill indices 0..%d once each, found %d rows"
                             % (path, (n_skills or len(skills)) - 1, len(skills)))
    empty = skills["name"].str.strip() == ""
    skills.loc[empty, "name"] = skills.loc[empty, "skill_id"]
    return skills


def read_correlation_weights(run_dir):
    """correlation_weights.csv -> (skill indices int array [S], weights float array [S, N])."""
    path = os.path.join(run_dir, CORRELATION_WEIGHTS)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise RunFolderError("cannot parse %s (%s)" % (path, str(e).strip().splitlines()[-1])) from None
    except OSError as e:
        raise RunFolderError("cannot read %s (%s)" % (path, e.strerror or e)) from None
    w_columns = [c for c in table.columns if str(c).startswith("w")]
    if "skill" not in table.columns or not w_columns:
        raise RunFolderError("%s: expected the header skill,w0,w1,...,w{N-1} (got %s)"
                             % (path, ",".join(map(str, table.columns))))
    w_columns.sort(key=lambda c: int(c[1:]) if c[1:].isdigit() else -1)
    values = table[w_columns].apply(pd.to_numeric, errors="coerce").values.astype(float)
    skills = pd.to_numeric(table["skill"], errors="coerce").values
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1) | ~np.isfinite(skills))
    if len(bad_rows):
        raise RunFolderError("%s:%d: not a number in this row" % (path, bad_rows[0] + 2))
    if len(values) == 0:
        raise RunFolderError("%s has no rows" % path)
    return skills.astype(int), values


def _read_json_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError as e:
        raise RunFolderError("%s is not valid JSON (%s)" % (path, e)) from None
    except OSError as e:
        raise RunFolderError("cannot read %s (%s)" % (path, e.strerror or e)) from None


def _read_log(path, columns, key):
    """A log written as training goes: tolerates a half-written last line and the rows repeated by a resumed
    run (the last one wins); checks the header."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=columns)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise RunFolderError("cannot parse %s (%s)" % (path, str(e).strip().splitlines()[-1])) from None
    except OSError as e:
        raise RunFolderError("cannot read %s (%s)" % (path, e.strerror or e)) from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise RunFolderError("%s lacks the column(s) %s (header: %s); expected %s" % (
            path, ",".join(missing), ",".join(map(str, table.columns)), ",".join(columns)))
    out = pd.DataFrame({c: pd.to_numeric(table[c], errors="coerce") for c in table.columns})
    out = out[np.isfinite(out[key].values.astype(float))]
    return out.drop_duplicates(subset=[key], keep="last").sort_values(key).reset_index(drop=True)


PREDICTION_COLUMNS = ["student", "position", "skill", "answer", "p"]


def read_predictions(run_dir):
    """predictions.csv of a run folder (written by write_predictions) as a dict of [n] numpy arrays.

    Returns:
      student (str), position (int, 0-based in the student's whole sequence), skill (int, the index of
      skills.csv), answer (int, 0/1), p (float, predicted P(correct)); one entry per scored test answer.

    Raises:
      RunFolderError: the folder or the file is missing, or the file is not what write_predictions writes.
    """
    if not os.path.isdir(run_dir):
        raise RunFolderError("%s is not a folder (expected a run folder made by main.py, e.g. "
                             "runs/synthetic-dkvmn-20260101-120000)" % run_dir)
    path = os.path.join(run_dir, PREDICTIONS)
    if not os.path.isfile(path):
        raise RunFolderError("%s has no predictions.csv: a run writes it when it ends; finish or resume the "
                             "run (`python main.py --resume %s`), or evaluate it with evaluate.py"
                             % (run_dir, run_dir))
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise RunFolderError("cannot read %s (%s)" % (path, e))
    if not rows or rows[0] != PREDICTION_COLUMNS:
        raise RunFolderError("%s: expected the header %s, got %s" % (
            path, ",".join(PREDICTION_COLUMNS), ",".join(rows[0]) if rows else "an empty file"))
    body = rows[1:]
    for line, row in enumerate(body, 2):
        if len(row) != len(PREDICTION_COLUMNS):
            raise RunFolderError("%s:%d: expected the %d fields %s, got %d" % (
                path, line, len(PREDICTION_COLUMNS), ",".join(PREDICTION_COLUMNS), len(row)))
    columns = {"student": np.array([row[0] for row in body], dtype=str)}
    converters = {"position": int, "skill": int, "answer": int, "p": float}
    for index, name in enumerate(PREDICTION_COLUMNS[1:], 1):
        columns[name] = _number_column(path, body, index, name, converters[name])
    checks = (("position", columns["position"] >= 0, "a position >= 0"),
              ("answer", (columns["answer"] == 0) | (columns["answer"] == 1), "an answer of 0 or 1"),
              ("p", (columns["p"] >= 0) & (columns["p"] <= 1), "a probability p in [0, 1]"))
    for name, valid, expected in checks:
        if not valid.all():
            bad = int(np.flatnonzero(~valid)[0])
            raise RunFolderError("%s:%d: expected %s, got %s=%r" % (path, bad + 2, expected, name,
                                                                     body[bad][PREDICTION_COLUMNS.index(name)]))
    return columns


def _number_column(path, body, index, name, convert):
    """Field `index` of every CSV row, converted by `convert` (int or float), as a numpy array."""
    values = []
    for line, row in enumerate(body, 2):
        try:
            values.append(convert(row[index]))
        except ValueError:
            raise RunFolderError("%s:%d: %s %r is not a%s number" % (
                path, line, name, row[index], "n integer" if convert is int else ""))
    return np.array(values, dtype=np.int64 if convert is int else np.float64)


def check_output_file(path, option, overwrite, overwrite_option, protected=()):
    """ConfigError unless writing the file `path` (the value of the command-line `option`, e.g. "--out")
    replaces nothing it must not.

    `protected` lists (place, what it is, except_under): an existing file that is `place` (a file: also a link
    to it or another name of it) or lies inside it (a folder), but not inside `except_under` (None: nowhere),
    is never replaced, not even with `overwrite`; the error reads "<option> <path> is <what it is>", so
    `what` also says how to choose another file. Any other existing file is replaced only with `overwrite`
    (given on the command line as `overwrite_option`). A path that does not exist replaces nothing.
    """
    if os.path.isdir(path):
        raise ConfigError("%s %s is a folder: give a file name" % (option, path))
    if not os.path.lexists(path):
        return
    for place, what, except_under in protected:
        if _is_or_inside(path, place) and not (except_under and _is_or_inside(path, except_under)):
            raise ConfigError("%s %s is %s" % (option, path, what))
    if not overwrite:
        raise ConfigError("%s %s exists: pass %s to replace it, or give another file name"
                          % (option, path, overwrite_option))


def _is_or_inside(path, place):
    """Whether the existing `path` is the file `place`, or lies in the folder `place` (links followed)."""
    if os.path.exists(path) and os.path.exists(place) and os.path.samefile(path, place):
        return True
    folder = os.path.realpath(place)
    return os.path.commonpath([os.path.realpath(path), folder]) == folder


# -- what a driver of many runs asks of a run folder (experiments/) -----------------------------------------

def is_run_folder(path):
    """True when main.py has made `path` a run folder (its config.json is written)."""
    return os.path.isfile(os.path.join(path, CONFIG))


def is_finished(run_dir):
    """True when the run has ended and written its summary.json."""
    return os.path.isfile(os.path.join(run_dir, SUMMARY))


def finished_epochs(run_dir):
    """The last finished epoch that state.json commits (0 when none, or when state.json is unreadable)."""
    try:
        return int(_read_json_file(os.path.join(run_dir, STATE)).get("epoch", 0))
    except (RunFolderError, AttributeError, TypeError, ValueError):
        return 0


def read_epoch_rows(run_dir):
    """epochs.csv's complete rows as dicts of floats (None for an empty cell), in file order; a row still
    being written (no line end yet) is left out, so a reader polling a running run never sees half a row."""
    try:
        with open(os.path.join(run_dir, EPOCHS)) as f:
            text = f.read()
    except OSError:
        return []
    complete = text[:text.rfind("\n") + 1]
    rows = []
    for row in csv.DictReader(complete.splitlines()):
        try:
            rows.append(dict((k, float(v)) if v not in ("", None) else (k, None) for k, v in row.items()))
        except (TypeError, ValueError):
            break
    return rows


def run_identity(run_dir):
    """path, model, dataset, fold, seed of a run from its config.json (None where the folder has none);
    RunFolderError when config.json exists but is not main.py's JSON object."""
    path = os.path.join(run_dir, CONFIG)
    constants = {}
    if os.path.isfile(path):
        config = _read_json_file(path)
        constants = config.get("constants") if isinstance(config, dict) else None
        if not isinstance(constants, dict):
            raise RunFolderError("%s: expected main.py's JSON object with the run's \"constants\"" % path)
    return {"path": run_dir, "model": constants.get("model"), "dataset": constants.get("dataset"),
            "fold": constants.get("fold"), "seed": constants.get("seed")}

"""The run folder: where a run's logs, checkpoints and results live, written so that a kill loses little.

Layout (plots/, evaluate.py and predict.py read it):
    config.json           every constant, library versions, the data fingerprint
    steps.csv             step, epoch, train_loss                 (one row per training step)
    epochs.csv            see EPOCH_COLUMNS                       (one row per finished epoch)
    state.json            the last finished epoch and the checkpoints that go with it
    summary.json          the selected epoch and its test figures (written at the end)
    skills.csv            skill index -> original id, name, true concept when known
    correlation_weights.csv  DKVMN: each skill's softmax(k . M^k) from the selected checkpoint
    predictions.csv       test predictions of the selected checkpoint, one row per interaction
    checkpoints/          last/ (resume) and best/ (selection on validation)
    tensorboard/          TensorBoard events
"""
import csv
import datetime
import io
import json
import os

import numpy as np

STEP_COLUMNS = ["step", "epoch", "train_loss"]
EPOCH_COLUMNS = ["epoch", "learning_rate", "train_loss",
                 "valid_loss", "valid_acc", "valid_auc", "valid_auc_from2",
                 "test_loss", "test_acc", "test_auc", "test_auc_from2",
                 "train_seconds", "eval_seconds"]


def create_run_dir(runs_dir, dataset, model, now=None):
    """Makes a new, empty run folder `<runs_dir>/<dataset>-<model>-<timestamp>`; never reuses one."""
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = os.path.join(runs_dir, "%s-%s-%s" % (dataset, model, stamp))
    os.makedirs(runs_dir, exist_ok=True)
    for attempt in range(1, 100):
        path = base if attempt == 1 else "%s-%d" % (base, attempt)
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            continue
    raise RuntimeError("could not create a fresh run folder under %s" % runs_dir)


def write_json(path, obj):
    """Writes JSON atomically: a reader sees the old file or the new one, never half of one."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_plain) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_text(path, text):
    partial = path + ".partial"
    with open(partial, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


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
        """`row` is a dict holding every column."""
        self._writer.writerow([_format(row[column]) for column in self.columns])
        self._file.flush()

    def close(self):
        self._file.close()


def truncate_log(path, last_epoch):
    """Drops the rows of epochs after `last_epoch` (the epoch a killed run was in) before a resume."""
    with open(path) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    epoch_column = header.index("epoch")
    kept = [row for row in body if row and int(row[epoch_column]) <= last_epoch]
    write_csv(path, header, kept)


def _format(value):
    if isinstance(value, float):
        return repr(value)
    return value


def _plain(value):
    """JSON for numpy scalars."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError("not JSON serialisable: %r" % (value,))


class RunFolderError(Exception):
    """A run folder that cannot be used as asked (missing, not a run, finished); shown to the user as is."""


def fresh_state():
    """What state.json holds before the first epoch."""
    return {"epoch": 0, "step": 0, "best_epoch": 0, "best_valid_auc": float("-inf"),
            "last_checkpoint": None, "best_checkpoint": None}


def resumable_config(run_dir):
    """The constants a run was started with, checked to be a run that can be resumed."""
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(config_path):
        raise RunFolderError("%s is not a run folder (no config.json); RESUME takes a folder made by "
                             "main.py, e.g. runs/synthetic-dkvmn-20260101-120000" % run_dir)
    if os.path.exists(os.path.join(run_dir, "summary.json")):
        raise RunFolderError("%s has finished (summary.json exists); start a new run instead" % run_dir)
    config = read_json(config_path)["constants"]
    config["resume"] = run_dir
    return config


def prepare_resume(run_dir, data_fingerprint):
    """Checks the data is unchanged and cuts the logs back to the last finished epoch; returns the state."""
    saved = read_json(os.path.join(run_dir, "config.json"))
    if saved["data_fingerprint"] != data_fingerprint:
        raise RunFolderError("the data of %s changed since the run started (fingerprint differs); "
                             "resume with the same data set files and options" % run_dir)
    state_path = os.path.join(run_dir, "state.json")
    state = read_json(state_path) if os.path.exists(state_path) else fresh_state()
    for log_name in ("steps.csv", "epochs.csv"):
        log_path = os.path.join(run_dir, log_name)
        if os.path.exists(log_path):
            truncate_log(log_path, state["epoch"])
    if state["epoch"] == 0:
        raise RunFolderError("%s was stopped before its first epoch ended: nothing to resume, start a new "
                             "run" % run_dir)
    return state


def write_skills(run_dir, dataset):
    """skills.csv: what the plots need to name skills and score clusters, without re-reading the data."""
    concepts = dataset.true_concepts
    rows = [(index, dataset.skill_ids[index], dataset.skill_names[index],
             "" if concepts is None else int(concepts[index])) for index in range(dataset.n_skills)]
    write_csv(os.path.join(run_dir, "skills.csv"), ["skill", "skill_id", "name", "true_concept"], rows)


def write_predictions(run_dir, predictions):
    """predictions.csv: one row per scored test interaction, `skill` being the index of skills.csv."""
    columns = ["student", "position", "skill", "answer", "p"]
    rows = zip(predictions["student"], predictions["position"].tolist(), predictions["skill"].tolist(),
               predictions["answer"].tolist(), ("%.6f" % p for p in predictions["p"]))
    write_csv(os.path.join(run_dir, "predictions.csv"), columns, rows)


def write_correlation_weights(run_dir, weights):
    """correlation_weights.csv (DKVMN): row q is softmax(A q . M^k) over the memory slots."""
    if weights is None:
        return
    columns = ["skill"] + ["w%d" % slot for slot in range(weights.shape[1])]
    rows = ([index] + ["%.6f" % w for w in row] for index, row in enumerate(weights))
    write_csv(os.path.join(run_dir, "correlation_weights.csv"), columns, rows)


def write_summary(run_dir, config, state, test_metrics, num_parameters):
    """summary.json: the selected epoch and the test figures of its checkpoint, measured once."""
    stopped = ("early stop: no better validation AUC for %d epochs" % config["early_stop_patience"]
               if state["epoch"] < config["epochs"] else "reached EPOCHS")
    summary = {"model": config["model"], "dataset": config["dataset"], "best_epoch": state["best_epoch"],
               "epochs_run": state["epoch"], "valid_auc": state["best_valid_auc"],
               "num_parameters": num_parameters, "stopped": stopped}
    for name, value in test_metrics.items():
        summary["test_" + name] = value
    write_json(os.path.join(run_dir, "summary.json"), summary)
    return summary


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
    path = os.path.join(run_dir, "predictions.csv")
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

"""Predictions and knowledge state of a trained run for students' response histories.

    python predict.py RUN_DIR --input history.csv [--out FILE] [--students ID,ID]
    python predict.py RUN_DIR --split test --students 17,42     # students of the run's own data set

--input reads a response log with the columns of the run's CSV_* constants (as the `csv` data source does;
override them as --csv_student_column user_id etc.); --split takes the students of a split of the run's own
data set instead (its data options can be overridden as in evaluate.py). Skills are matched to the run's by
their original id (skills.csv skill_id); unknown skills are an error, or dropped with
--drop_unknown_skills true (the positions then count the kept interactions only).

Writes one CSV row per student and step, atomically (default RUN_DIR/predictions/<input>-<timestamp>.csv;
--out never replaces the input nor a file of the run folder, and an existing file only with --overwrite true):
    student, position (0-based), skill_id, answer, p, mastery_<skill_id> for every skill of the run
p is the model's P(correct) for this step's skill from the steps before it (the same number as the run's
predictions.csv); mastery_<q> is P(correct) for skill q at the next step, i.e. the knowledge state after this
step's answer (models.knowledge_state). For a run that cuts (summary.json "state": "cut", the paper's
protocol), histories longer than the run's SEQ_LEN are cut into chunks of SEQ_LEN and each chunk starts from
the model's initial state, exactly as in training and evaluation: the state does not carry over a chunk
boundary. For a run trained with CARRY_STATE ("carried") nothing is cut: each history runs from its first
answer to its last, and p is the export's (export.py, predict_history). --carry_state true or false
overrides the run's mode.
"""
import datetime
import os
import sys

from utils.quiet import quiet_tensorflow
quiet_tensorflow()  # before TensorFlow loads: its start-up lines are noise (utils/quiet.py)

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

from data import (SPLITS, DataError, load_from_config, make_sequence, map_skills, read_response_log,  # noqa: E402
                  remap_sequences)
from utils import run_files  # noqa: E402
from utils.commands import run_folder_program  # noqa: E402
from utils.config import ConfigError, run_overrides  # noqa: E402
from utils.trained_model import opened  # noqa: E402


def read_history(path, config):
    """The students of a response-log CSV as (student ids, skill ids, answers) per student."""
    frame, report = read_response_log(
        path, config["csv_student_column"], config["csv_skill_column"], config["csv_correct_column"],
        config["csv_order_column"] or None, delimiter=config["csv_delimiter"] or None,
        skill_separator=config["csv_skill_separator"], multi_skill=config["multi_skill"])
    histories = []
    for student, rows in frame.groupby("student", sort=False):
        histories.append((str(student), [str(s) for s in rows["skill_id"]],
                          np.asarray(rows["correct"], dtype=np.int32)))
    return histories, report


def split_histories(config, split):
    """The students of a split of the (run's) data set, as read_history returns them."""
    dataset = load_from_config(config)
    ids = dataset.skill_ids
    return [(seq.student, [ids[s] for s in seq.skills], seq.answers) for seq in getattr(dataset, split)], \
        dataset.report


def to_sequences(histories, run_skill_ids, drop_unknown, where):
    """data.Sequence per student with the run's skill indices; (sequences, dropped counts)."""
    source_ids = sorted(set(s for _, skills, _ in histories for s in skills))
    source_index = dict((skill_id, i) for i, skill_id in enumerate(source_ids))
    sequences = [make_sequence(student, [source_index[s] for s in skills], answers)
                 for student, skills, answers in histories]
    mapping = map_skills(source_ids, run_skill_ids)
    return remap_sequences(sequences, mapping, source_ids, drop_unknown, where=where)


def write_mastery_csv(path, result, run_skill_ids):
    header = ["student", "position", "skill_id", "answer", "p"] + ["mastery_%s" % s for s in run_skill_ids]
    rows = ([student, int(position), run_skill_ids[skill], int(answer), "%.6f" % p]
            + ["%.6f" % m for m in state]
            for student, position, skill, answer, p, state in zip(
                result["student"], result["position"], result["skill"], result["answer"], result["p"],
                result["mastery"]))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    run_files.write_csv(path, header, rows)


def predict(run_dir, argv=(), log=print, model=None):
    """Runs the command line `argv` (without RUN_DIR); returns (output path, result dict).

    `model` (a utils.trained_model.TrainedModel of run_dir) reuses an open model instead of building one.
    """
    saved, _ = run_files.read_finished_run(run_dir)
    extra = {"input": "", "split": "", "out": "", "students": "", "drop_unknown_skills": False,
             "overwrite": False, "carry_state": run_files.state_mode(saved["constants"]) == "carried"}
    config, extra = run_overrides(list(argv), saved["constants"], extra)
    if bool(extra["input"]) == bool(extra["split"]):
        raise ConfigError("give either --input history.csv or --split test|valid|train")
    if extra["split"] and extra["split"] not in SPLITS:
        raise ConfigError("--split takes one of %s, not %r" % (", ".join(SPLITS), extra["split"]))
    if extra["out"]:  # before any work: a refused --out costs nothing
        check_out(extra["out"], run_dir, extra["input"],
                  config["dataset_dir"] if extra["split"] and config["dataset"] != "synthetic" else None,
                  extra["overwrite"])
    if extra["input"]:
        if not os.path.isfile(extra["input"]):
            raise DataError("%s: no such file" % extra["input"])
        histories, report = read_history(extra["input"], config)
        where = extra["input"]
    else:
        histories, report = split_histories(config, extra["split"])
        where = "the %s split" % extra["split"]
    for line in report:
        log(line)
    if extra["students"]:
        wanted = [s.strip() for s in extra["students"].split(",") if s.strip()]
        known = dict((h[0], h) for h in histories)
        missing = [s for s in wanted if s not in known]
        if missing:
            raise DataError("student(s) %s not in %s; e.g. %s" % (
                ", ".join(missing[:5]), where, ", ".join(h[0] for h in histories[:5])))
        histories = [known[s] for s in wanted]

    run_skill_ids = list(run_files.read_skills(run_dir, int(saved["n_skills"]))["skill_id"])
    sequences, dropped = to_sequences(histories, run_skill_ids, extra["drop_unknown_skills"], where)
    if not sequences:
        raise DataError("%s has no interaction left to predict" % where)
    with opened(run_dir, model) as model:
        result = model.knowledge_state(sequences, carry_state=extra["carry_state"])
    if dropped["interactions"]:
        log("dropped %d interactions of %d skills the run never saw" % (
            dropped["interactions"], len(dropped["skills"])))
    out = extra["out"] or default_out(run_dir, extra["input"] or extra["split"])
    write_mastery_csv(out, result, run_skill_ids)
    log("%d students, %d steps, %d skills: wrote %s" % (
        len(sequences), len(result["p"]), len(run_skill_ids), out))
    return out, result


def check_out(out, run_dir, input_path, data_dir, overwrite):
    """ConfigError unless writing --out replaces nothing it must not: never the input (the --input file, or
    with --split a file of DATASET_DIR), never a file of the run folder outside its predictions/, and an
    existing file only with --overwrite true."""
    protected = [(run_dir, "a file of the run folder %s; write the predictions elsewhere (or under its "
                           "predictions/)" % run_dir, os.path.join(run_dir, "predictions"))]
    if input_path:
        protected.insert(0, (input_path, "the --input file: the predictions would replace the history they "
                                         "are made from; write them to another file", None))
    if data_dir:
        protected.append((data_dir, "a file of DATASET_DIR %s, the data the predictions are made from; write "
                                    "them to another file" % data_dir, None))
    run_files.check_output_file(out, "--out", overwrite, "--overwrite true", protected)


def default_out(run_dir, source):
    stem = os.path.splitext(os.path.basename(source))[0] or "input"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(run_dir, "predictions", "%s-%s" % (stem, stamp))
    path, attempt = base + ".csv", 1
    while os.path.exists(path):
        attempt += 1
        path = "%s-%d.csv" % (base, attempt)
    return path


USAGE = ("usage: python predict.py RUN_DIR (--input history.csv | --split test) [--out FILE "
         "[--overwrite true]] [--students ID,ID] [--carry_state true|false]")


def main(argv):
    def body(run_dir, options):
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.disable_v2_behavior()
        predict(run_dir, options, log=lambda *a: print(*a, file=sys.stderr))
    return run_folder_program(argv, USAGE, body, writing="the predictions (--out FILE writes them elsewhere)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

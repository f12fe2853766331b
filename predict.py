"""Predictions and knowledge state of a trained run for students' response histories.

    python predict.py RUN_DIR --input history.csv [--out FILE] [--students ID,ID]
    python predict.py RUN_DIR --split test --students 17,42     # students of the run's own data set

--input reads a response log with the columns of the run's CSV_* constants (as the `csv` data source does;
override them as --csv_student_column user_id etc.); --split takes the students of a split of the run's own
data set instead (its data options can be overridden as in evaluate.py). Skills are matched to the run's by
their original id (skills.csv skill_id); unknown skills are an error, or dropped with
--drop_unknown_skills true (the positions then count the kept interactions only), or with
--unknown_skill_fallback true answered as the export's client answers them (utils/serving.py UNKNOWN_SKILL):
left out of the model's history, their row written with p = the share of correct answers in the run's training
split (config.json train_correct_rate), the mastery unchanged, and the column unknown_skill = 1.

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
from utils.serving import ServingModel  # noqa: E402
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


def with_unknown_skills(histories, result, run_skill_ids, rate, initial):
    """Every answer of `histories` (student, skill ids, answers), in order: the model's rows of `result`
    (knowledge_state of the histories without their unknown skills; None when none is left) where the skill
    is known, and where it is not p = `rate`, the mastery of the row before (initial(): a new student's)
    and unknown_skill 1. Returns result's columns with skill_id and unknown_skill added (skill -1 where
    unknown); positions count every answer."""
    index = dict((str(skill_id), i) for i, skill_id in enumerate(run_skill_ids))  # as data.map_skills
    first_row = {}
    for row, student in enumerate([] if result is None else result["student"]):
        first_row.setdefault(student, row)
    columns = dict((name, []) for name in ("student", "position", "skill", "skill_id", "answer", "p",
                                           "mastery", "unknown_skill"))
    for student, skills, answers in histories:
        row, mastery = first_row.get(student), None
        for position, (skill_id, answer) in enumerate(zip(skills, answers)):
            skill_id = str(skill_id)
            known = skill_id in index
            if known:
                p, mastery, row = result["p"][row], result["mastery"][row], row + 1
            else:
                p, mastery = rate, initial() if mastery is None else mastery
            for name, value in (("student", student), ("position", position), ("skill_id", skill_id),
                                ("skill", index.get(skill_id, -1)), ("answer", answer), ("p", p),
                                ("mastery", mastery), ("unknown_skill", int(not known))):
                columns[name].append(value)
    return dict((name, np.asarray(values, dtype=object if name in ("student", "skill_id") else None))
                for name, values in columns.items())


def once(compute):
    """compute(), computed at the first call only."""
    done = []

    def value():
        if not done:
            done.append(compute())
        return done[0]
    return value


def initial_knowledge(model):
    """P(correct) of every skill for a student with no answer yet (the export's empty history)."""
    with ServingModel(model) as serving:
        empty = np.zeros((1, 0), np.int64)
        return serving.run("predict_history", skills=empty, answers=empty, lengths=[0])["knowledge_state"][0]


def write_mastery_csv(path, result, run_skill_ids):
    flagged = "unknown_skill" in result  # --unknown_skill_fallback: its rows name their own skill id
    header = ["student", "position", "skill_id", "answer", "p"] + ["mastery_%s" % s for s in run_skill_ids]
    skill_ids = result["skill_id"] if flagged else [run_skill_ids[skill] for skill in result["skill"]]
    flags = result["unknown_skill"] if flagged else [None] * len(skill_ids)
    rows = ([student, int(position), skill_id, int(answer), "%.6f" % p] + ["%.6f" % m for m in state]
            + ([int(flag)] if flagged else [])
            for student, position, skill_id, answer, p, state, flag in zip(
                result["student"], result["position"], skill_ids, result["answer"], result["p"],
                result["mastery"], flags))
    header += ["unknown_skill"] if flagged else []
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
             "unknown_skill_fallback": False, "overwrite": False,
             "carry_state": run_files.state_mode(saved["constants"]) == "carried"}
    config, extra = run_overrides(list(argv), saved["constants"], extra)
    if bool(extra["input"]) == bool(extra["split"]):
        raise ConfigError("give either --input history.csv or --split test|valid|train")
    fallback = extra["unknown_skill_fallback"]
    if fallback and saved.get("train_correct_rate") is None:
        raise ConfigError("--unknown_skill_fallback needs the run's share of correct answers in training "
                          "(config.json train_correct_rate), which %s lacks (made by an older main.py): "
                          "train it again, or use --drop_unknown_skills true" % run_dir)
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
    sequences, dropped = to_sequences(histories, run_skill_ids, extra["drop_unknown_skills"] or fallback,
                                      where)
    if not sequences and not fallback:
        raise DataError("%s has no interaction left to predict" % where)
    with opened(run_dir, model) as model:
        result = model.knowledge_state(sequences, carry_state=extra["carry_state"]) if sequences else None
        if fallback:
            result = with_unknown_skills(histories, result, run_skill_ids, float(saved["train_correct_rate"]),
                                         once(lambda: initial_knowledge(model)))
            log("%d answers on %d skills the run never saw: p = %.4f, the share of correct answers in its "
                "training split, flagged in the column unknown_skill" % (
                    dropped["interactions"], len(dropped["skills"]), saved["train_correct_rate"]))
            dropped = {"interactions": 0}
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
         "[--overwrite true]] [--students ID,ID] [--carry_state true|false] "
         "[--drop_unknown_skills true | --unknown_skill_fallback true]")


def main(argv):
    def body(run_dir, options):
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.disable_v2_behavior()
        predict(run_dir, options, log=lambda *a: print(*a, file=sys.stderr))
    return run_folder_program(argv, USAGE, body, writing="the predictions (--out FILE writes them elsewhere)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Predictions and knowledge state of a trained run for students' response histories.

    python predict.py RUN_DIR --input history.csv [--out FILE] [--students ID,ID]
    python predict.py RUN_DIR --split test --students 17,42     # students of the run's own data set

--input reads a response log with the columns of main.py's CSV_* constants (as the `csv` data source does;
override them as --csv_student_column user_id etc.); --split takes the students of a split of the run's own
data set instead (its data options can be overridden as in evaluate.py). Skills are matched to the run's by
their original id (skills.csv skill_id); unknown skills are an error, or dropped with
--drop_unknown_skills true (the positions then count the kept interactions only).

Writes one CSV row per student and step (default RUN_DIR/predictions/<input>-<timestamp>.csv):
    student, position (0-based), skill_id, answer, p, mastery_<skill_id> for every skill of the run
p is the model's P(correct) for this step's skill from the steps before it (the same number as the run's
predictions.csv); mastery_<q> is P(correct) for skill q at the next step, i.e. the knowledge state after this
step's answer (models/mastery.py). Histories longer than the run's SEQ_LEN are cut into chunks of SEQ_LEN and
each chunk starts from the model's initial state, exactly as in training and evaluation: the state does not
carry over a chunk boundary.
"""
import datetime
import os
import sys

import numpy as np

# The csv source's columns where neither the run nor main.py defines the CSV_* constants.
CSV_FALLBACK = {"csv_student_column": "student", "csv_skill_column": "skill",
                "csv_correct_column": "correct", "csv_order_column": "order", "csv_skill_separator": "",
                "csv_delimiter": ""}
_MASTERY = {}  # tf.Graph -> its mastery tensor
FLOATS_BUDGET = 4 * 10 ** 7  # largest [B, T, n_skills, d] tensor the mastery graph may build (~160 MB)


def read_history(path, config):
    """The students of a response-log CSV as (student ids, skill ids, answers) per student."""
    from data.response_log import read_response_log
    frame, report = read_response_log(
        path, config["csv_student_column"], config["csv_skill_column"], config["csv_correct_column"],
        config["csv_order_column"] or None, delimiter=config["csv_delimiter"] or None,
        skill_separator=config["csv_skill_separator"], multi_skill=config.get("multi_skill", "first"))
    histories = []
    for student, rows in frame.groupby("student", sort=False):
        histories.append((str(student), [str(s) for s in rows["skill_id"]],
                          np.asarray(rows["correct"], dtype=np.int32)))
    return histories, report


def split_histories(config, split):
    """The students of a split of the (run's) data set, as read_history returns them."""
    import main
    dataset = main.load_data(config)
    ids = dataset.skill_ids
    return [(seq.student, [ids[s] for s in seq.skills], seq.answers) for seq in getattr(dataset, split)], \
        dataset.report


def to_sequences(histories, run_skill_ids, drop_unknown, where):
    """data.Sequence per student with the run's skill indices; (sequences, dropped counts)."""
    from data.dataset import make_sequence
    from utils import checkpoint
    source_ids = sorted(set(s for _, skills, _ in histories for s in skills))
    source_index = dict((skill_id, i) for i, skill_id in enumerate(source_ids))
    sequences = [make_sequence(student, [source_index[s] for s in skills], answers)
                 for student, skills, answers in histories]
    mapping = checkpoint.map_skills(source_ids, run_skill_ids)
    return checkpoint.remap_sequences(sequences, mapping, source_ids, drop_unknown, where=where)


def predict_sequences(trained, sequences):
    """p and mastery of every interaction: dict student, position, skill (run index), answer, p [n],
    mastery [n, n_skills], rows ordered by student (input order) then position."""
    from data import make_batches
    from models.mastery import skill_mastery

    config, kt = trained.config, trained.trainer.model
    graph = trained.trainer.graph
    if graph not in _MASTERY:  # built once per graph, so a reused model does not grow its graph
        with graph.as_default():
            _MASTERY[graph] = skill_mastery(kt, config["model"], trained.n_skills)
    mastery = _MASTERY[graph]
    # floats per sequence step: DKVMN keeps the memory (N x d_v) and reads it for every skill (Q x d_v)
    per_step = (trained.n_skills * max(int(config["value_dim"]) + int(config["key_dim"]),
                                       int(config["hidden_size"]))
                + int(config["memory_size"]) * int(config["value_dim"]))
    rows = max(1, min(int(config["batch_size"]), FLOATS_BUDGET // (int(config["seq_len"]) * per_step)))
    columns = dict((name, []) for name in ("student", "position", "skill", "answer", "p", "mastery"))
    for batch in make_batches(sequences, config["seq_len"], rows):
        p, state = trained.trainer.session.run([kt.p, mastery], feed_dict={
            kt.skills: batch.skills, kt.answers: batch.answers, kt.mask: batch.mask})
        r, t = np.nonzero(batch.mask)
        columns["student"].append(np.asarray(batch.students, dtype=object)[r])
        columns["position"].append(np.asarray(batch.offsets)[r] + t)
        columns["skill"].append(batch.skills[r, t])
        columns["answer"].append(batch.answers[r, t])
        columns["p"].append(p[r, t])
        columns["mastery"].append(state[r, t])
    out = dict((name, np.concatenate(parts)) for name, parts in columns.items())
    order_of = dict((seq.student, i) for i, seq in enumerate(sequences))
    order = np.lexsort((out["position"], [order_of[s] for s in out["student"]]))
    return dict((name, values[order]) for name, values in out.items())


def write_mastery_csv(path, result, run_skill_ids):
    from utils import run_files
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


def predict(run_dir, argv=(), log=print, trained=None):
    """Runs the command line `argv` (without RUN_DIR); returns (output path, result dict).

    `trained` (utils.checkpoint.load_trained(run_dir)) reuses an open model instead of building one.
    """
    import evaluate
    from data import DataError
    from utils import checkpoint
    from utils.config import ConfigError

    run_constants, saved, _ = checkpoint.read_run(run_dir)
    constants = dict(run_constants)
    extra = {"input": "", "split": "", "out": "", "students": "", "drop_unknown_skills": False}
    config, extra = evaluate.parse_args(list(argv), constants, extra)
    for name, value in CSV_FALLBACK.items():
        config.setdefault(name, value)
    if bool(extra["input"]) == bool(extra["split"]):
        raise ConfigError("give either --input history.csv or --split test|valid|train")
    if extra["split"] and extra["split"] not in evaluate.SPLITS:
        raise ConfigError("--split takes one of %s, not %r" % (", ".join(evaluate.SPLITS), extra["split"]))
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

    run_skill_ids, _ = checkpoint.run_skills(run_dir, int(saved["n_skills"]))
    sequences, dropped = to_sequences(histories, run_skill_ids, extra["drop_unknown_skills"], where)
    if not sequences:
        raise DataError("%s has no interaction left to predict" % where)
    own = trained is None
    trained = trained or checkpoint.load_trained(run_dir)
    try:
        result = predict_sequences(trained, sequences)
    finally:
        if own:
            trained.trainer.close()
    if dropped["interactions"]:
        log("dropped %d interactions of %d skills the run never saw" % (
            dropped["interactions"], len(dropped["skills"])))
    out = extra["out"] or default_out(run_dir, extra["input"] or extra["split"])
    write_mastery_csv(out, result, run_skill_ids)
    log("%d students, %d steps, %d skills: wrote %s" % (
        len(sequences), len(result["p"]), trained.n_skills, out))
    return out, result


def default_out(run_dir, source):
    stem = os.path.splitext(os.path.basename(source))[0] or "input"
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(run_dir, "predictions", "%s-%s" % (stem, stamp))
    path, attempt = base + ".csv", 1
    while os.path.exists(path):
        attempt += 1
        path = "%s-%d.csv" % (base, attempt)
    return path


USAGE = ("usage: python predict.py RUN_DIR (--input history.csv | --split test) [--out FILE] "
         "[--students ID,ID]")


def main(argv):
    from utils.commands import exit_status
    if not argv or argv[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2

    def body():
        import tensorflow.compat.v1 as tf
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.disable_v2_behavior()
        predict(argv[0], argv[1:], log=lambda *a: print(*a, file=sys.stderr))
    return exit_status(body)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main(sys.argv[1:]))

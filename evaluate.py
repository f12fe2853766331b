"""Score a finished run's selected checkpoint on a data set and split of your choice.

    python evaluate.py RUN_DIR                                   # the run's own data set, test split
    python evaluate.py RUN_DIR --split valid
    python evaluate.py RUN_DIR --dataset assist2015 --dataset_dir dataset/dkvmn --split test
    python evaluate.py RUN_DIR --seed 1 --synthetic_students 500 --drop_unknown_skills true
    python evaluate.py RUN_DIR --carry_state true               # the state carried over whole histories

The graph is built from the run's config.json and the checkpoint is the one the run selected on validation
(state.json best_checkpoint, the one summary.json's test figures come from). The data options are the run's
own unless overridden: every data constant of main.py (data.DATA_OPTIONS: dataset, dataset_dir, fold, folds,
split_design, split_seed, valid_fraction, test_fraction, skill_key, synthetic_*, csv_*, ...) can be given as
--name value. Sequences are chunked and batched exactly as in training (SEQ_LEN and BATCH_SIZE of the run), so
on the run's own test split the figures reproduce summary.json. With --carry_state true there is no cut: each
history runs from its first answer to its last with the model's state carried across the SEQ_LEN chunk
boundaries (utils/serving.py, the graph of export.py's predict_history), and metrics.json says so. The
default is the run's own mode (summary.json "state": a run trained with CARRY_STATE is scored carried);
--carry_state false or true scores any run the other way.

Skills are matched to the run's by their original id (skills.csv skill_id), not by index. A skill the run
never saw is an error; with --drop_unknown_skills true its interactions are dropped and counted.

Writes a new folder RUN_DIR/evaluations/<dataset>-<split>-<timestamp>/ (never overwrites; --evaluations_dir
DIR puts it in DIR instead, e.g. for a run folder you cannot write) with
metrics.json (loss, acc, auc, auc_from2 = AUC on positions >= 2 of each chunk, the AUC's 95% interval by
bootstrap over students seeded with the run's SEED, brier, ece and its reliability_bins, auc_by_position
for positions 1-10, 11-50, 51-200, > 200 of each history, counts, options), predictions.csv (student,
position, skill = the run's skill index, answer, p), auc_by_skill.csv (skill, skill_id, count, auc) and
8_calibration.png (the reliability diagram). Exit status 2 with a one-line message for bad input (not a
run, unfinished run, a missing or damaged checkpoint, unknown skills, bad data options, a folder that cannot
be written).
"""
import os
import sys

from utils.quiet import quiet_tensorflow
quiet_tensorflow()  # before TensorFlow loads: its start-up lines are noise (utils/quiet.py)

import tensorflow.compat.v1 as tf  # noqa: E402

from data import (DATA_OPTIONS, SPLITS, DataError, load_from_config, map_skills, older_run_split,  # noqa: E402
                  remap_sequences)
from data.dataset import remap_items  # noqa: E402
from utils import run_files  # noqa: E402
from utils.commands import run_folder_program  # noqa: E402
from utils.config import ConfigError, run_overrides  # noqa: E402
from plots.lib.calibration import draw_reliability_diagram  # noqa: E402
from utils.metrics import (auc_by_position, auc_by_skill, auc_interval, brier_score,  # noqa: E402
                           expected_calibration_error, reliability_bins, split_metrics)
from utils.serving import ServingModel  # noqa: E402
from utils.trained_model import EvaluationBatches, opened  # noqa: E402


def evaluate(run_dir, argv=(), log=print, model=None):
    """Scores the run's selected checkpoint; returns (evaluation folder, metrics dict).

    `model` (a utils.trained_model.TrainedModel of run_dir) reuses an open model instead of building one.
    """
    saved, _ = run_files.read_finished_run(run_dir)
    run_constants = saved["constants"]
    config, extra = run_overrides(list(argv), run_constants, {
        "split": "test", "drop_unknown_skills": False, "evaluations_dir": "",
        "carry_state": run_files.state_mode(run_constants) == "carried"})  # as the run was selected
    if extra["split"] not in SPLITS:
        raise ConfigError("--split takes one of %s, not %r" % (", ".join(SPLITS), extra["split"]))
    dataset = load_from_config(config)
    for line in dataset.report:
        log(line)
    as_trained = dict(older_run_split(run_constants), **run_constants)  # a run made before split options
    same_data = all(config[name] == as_trained[name] for name in DATA_OPTIONS)
    if same_data and dataset.fingerprint != saved.get("data_fingerprint"):
        log("warning: the run's data changed since it was trained (fingerprint differs)")

    run_skill_ids = list(run_files.read_skills(run_dir, int(saved["n_skills"]))["skill_id"])
    sequences, dropped = remap_sequences(
        getattr(dataset, extra["split"]), map_skills(dataset.skill_ids, run_skill_ids), dataset.skill_ids,
        extra["drop_unknown_skills"], where="the %s split of %s" % (extra["split"], dataset.name))
    if not sequences:
        raise DataError("the %s split of %s has no interaction to score" % (extra["split"], dataset.name))
    n_items = run_files.recorded_items(saved)
    if n_items:  # a model that reads items (IRT, Best-LR on data with items): matched by id as the skills
        sequences = remap_items(sequences, dataset.item_ids, run_files.read_item_ids(run_dir, n_items),
                                where="the %s split of %s" % (extra["split"], dataset.name))
    batches = EvaluationBatches(sequences, config["seq_len"], config["batch_size"])
    with opened(run_dir, model) as model:
        if extra["carry_state"] and model.n_items:  # no serving graph: the graph reads whole histories
            predictions = model.whole_history_predictions(sequences, config["batch_size"])
        elif extra["carry_state"]:
            with ServingModel(model) as serving:
                predictions = serving.carried_predictions(sequences, config["batch_size"])
        else:
            predictions = model.predict(batches)
    metrics = split_metrics(predictions)
    metrics.update(auc_interval(predictions, run_constants["seed"]))  # as main.py: summary.json's interval
    metrics.update(calibration_and_breakdowns(predictions))

    out_dir = run_files.create_run_dir(
        extra["evaluations_dir"] or os.path.join(run_dir, "evaluations"), config["dataset"], extra["split"],
        what="an evaluation folder", advice="give a writable folder with free space as --evaluations_dir DIR")
    run_files.write_predictions(out_dir, predictions)
    write_auc_by_skill(out_dir, predictions, run_skill_ids)
    title = "%s\n%s %s: ECE %.4f, Brier %.4f" % (
        os.path.basename(os.path.normpath(run_dir)), config["dataset"], extra["split"], metrics["ece"],
        metrics["brier"])
    draw_reliability_diagram(metrics["reliability_bins"], os.path.join(out_dir, CALIBRATION_FIGURE), title)
    report = dict(metrics)
    report.update({
        "run_dir": run_dir, "checkpoint": model.checkpoint, "model": config["model"],
        "dataset": config["dataset"], "split": extra["split"], "same_data_as_run": same_data,
        "data_fingerprint": dataset.fingerprint,
        "data_options": dict((name, config[name]) for name in DATA_OPTIONS),
        "carry_state": extra["carry_state"],
        "state": ("carried over each whole history (no SEQ_LEN cut; auc_from2 leaves out only each "
                  "student's first answer)" if extra["carry_state"] else
                  "reset at every chunk of SEQ_LEN = %d answers, as in training" % config["seq_len"]),
        "students": len(sequences), "interactions": int(len(predictions["p"])),
        "dropped_unknown_skills": dropped})
    run_files.write_json(os.path.join(out_dir, "metrics.json"), report)
    if dropped["interactions"]:
        log("dropped %d interactions of %d skills the run never saw (%d students left with none)" % (
            dropped["interactions"], len(dropped["skills"]), dropped["students"]))
    log("%s %s (%d students, %d interactions, state %s): loss %.4f  ACC %.4f  AUC %.4f  AUC from 2nd %.4f" % (
        config["dataset"], extra["split"], report["students"], report["interactions"],
        "carried" if extra["carry_state"] else "reset at each chunk", metrics["loss"],
        metrics["acc"], metrics["auc"], metrics["auc_from2"]))
    for line in breakdown_lines(metrics):
        log(line)
    log("wrote %s" % out_dir)
    return out_dir, report


CALIBRATION_BINS = 10  # equal-width bins of P(correct) for the ECE and the reliability diagram
AUC_BY_SKILL = "auc_by_skill.csv"
CALIBRATION_FIGURE = "8_calibration.png"


def calibration_and_breakdowns(predictions):
    """Whether the probabilities can be read as such (Brier score, ECE and its bins), and the AUC by where
    an answer lies in the student's history; the figures metrics.json adds to the AUC."""
    answers, p = predictions["answer"], predictions["p"]
    return {"brier": brier_score(answers, p),
            "ece": expected_calibration_error(answers, p, CALIBRATION_BINS),
            "reliability_bins": reliability_bins(answers, p, CALIBRATION_BINS),
            "auc_by_position": auc_by_position(predictions["position"], answers, p)}


def write_auc_by_skill(out_dir, predictions, skill_ids):
    """auc_by_skill.csv: skill (the run's index), skill_id (skills.csv), count, auc (empty where the skill's
    answers hold one class), one row per skill with an answer in the split."""
    by_skill = auc_by_skill(predictions["skill"], predictions["answer"], predictions["p"])
    rows = [(skill, skill_ids[skill], count, "" if auc is None else "%.6f" % auc)
            for skill, count, auc in by_skill]
    run_files.write_csv(os.path.join(out_dir, AUC_BY_SKILL), ["skill", "skill_id", "count", "auc"], rows)


def breakdown_lines(metrics):
    """The interval, calibration and position figures as printed lines."""
    by_position = "  ".join(
        "%s: %s (%d)" % (row["positions"], "-" if row["auc"] is None else "%.4f" % row["auc"], row["count"])
        for row in metrics["auc_by_position"])
    return ["AUC 95%% CI %.4f-%.4f (%d resamples of the students)  Brier %.4f  ECE %.4f (%d bins)" % (
                metrics["auc_ci_low"], metrics["auc_ci_high"], metrics["auc_ci_resamples"], metrics["brier"],
                metrics["ece"], CALIBRATION_BINS),
            "AUC by position in the history (answers): %s" % by_position]


USAGE = "usage: python evaluate.py RUN_DIR [--split test|valid|train] [--drop_unknown_skills true] " \
        "[--carry_state true] [--evaluations_dir DIR] [--<data constant> value ...]"


def main(argv):
    def body(run_dir, options):
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.disable_v2_behavior()
        evaluate(run_dir, options)
    return run_folder_program(argv, USAGE, body, writing="the evaluation folder")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

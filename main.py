"""Knowledge tracing with DKVMN or DKT, TF1 style.

Edit the constants below and run `python main.py`, or override any of them on the command line with the
constant's name in lower case: `python main.py --model dkt --epochs 5`. A run writes one folder under
RUNS_DIR (logs, checkpoints, predictions, summary); `python plots/plot_results.py RUN_DIR ...` draws it.

These constants are the one home of every default: the library takes every value explicitly, a run records
them all in its config.json (which evaluate.py, predict.py and a resume read), and scripts/ run this file as
a program with overrides (or read the constants from its text: utils.config.main_constants). Nothing imports
main.py but the tests.
"""
import os
import sys

from utils.quiet import quiet_tensorflow
quiet_tensorflow()  # before TensorFlow loads: its start-up lines are noise (utils/quiet.py)

import tensorflow.compat.v1 as tf  # noqa: E402

import data  # noqa: E402
from data.dataset import correct_rate, unseen_in_training  # noqa: E402
import models  # noqa: E402
from utils import model_registry, run_files  # noqa: E402
from utils.bkt_fit import BktTrainer  # noqa: E402
from utils.commands import exit_status  # noqa: E402
from utils.errors import RunFolderError  # noqa: E402
from utils.config import (ConfigError, override_pairs, parse_overrides, require_number,  # noqa: E402
                          require_whole)
from utils.metrics import auc_interval, oracle_auc, split_metrics  # noqa: E402
from utils.training import Trainer, check_scorable, library_versions, out_of_memory  # noqa: E402

# --- data ------------------------------------------------------------------------------------------------
DATASET = "synthetic"          # "synthetic" (built in), "assistments", "csv", "ednet" or a three-line prefix
DATASET_DIR = "dataset"        # folder of the data set files (not used by "synthetic")
DATA_CACHE = True              # csv/assistments/ednet: keep the preprocessed data in .cache/data/
# how synthetic/assistments/csv/ednet split the students (data/sequences.py); three-line sets: by their files
SPLIT_DESIGN = "cross_validation"  # "cross_validation": fold FOLD of FOLDS tests, the next fold validates
                               # (every student tested once over the folds); "fixed_test": one TEST_FRACTION
                               # test split for all folds, the others cut into FOLDS validation folds;
                               # "holdout": one split by VALID_FRACTION / TEST_FRACTION, FOLD unused
SPLIT_SEED = 0                 # shuffles the students into splits (and makes the synthetic data); not SEED
FOLDS = 5                      # outer folds (cross_validation, >= 3) or validation folds (fixed_test, >= 2)
FOLD = 1                       # the fold, 1..FOLDS; three-line sets: the pair <name>_train<FOLD>/_valid<FOLD>
VALID_FOLD = 0                 # cross_validation: the fold that validates, not FOLD; 0 = the next, FOLD + 1
VALID_FRACTION = 0.2           # holdout: share of students held out to validate
TEST_FRACTION = 0.2            # fixed_test / holdout: share of students held out to test
SKILL_KEY = "skill_id"         # assistments: a "skill" is "skill_id", "skill_name" or "problem_id" (items)
MULTI_SKILL = "first"          # assistments/csv/ednet: answer with several skills: "first", "drop", "expand"
MAIN_PROBLEMS_ONLY = False     # assistments: keep only main problems (original == 1), drop scaffolding rows
MIN_INTERACTIONS = 1           # assistments/csv/ednet: drop students with fewer interactions (1 keeps all)
CSV_FILE = "responses.csv"     # csv: your response log (one row per answer) in DATASET_DIR; .tsv/.txt = tabs
CSV_DELIMITER = ""             # csv: field separator, e.g. "," or "tab"; "" = from CSV_FILE's extension
CSV_STUDENT_COLUMN = "student"  # csv: name of the column with the student id
CSV_SKILL_COLUMN = "skill"     # csv: name of the column with the skill (or item) id
CSV_CORRECT_COLUMN = "correct"  # csv: name of the column with the answer, 0 or 1
CSV_ORDER_COLUMN = "order"     # csv: column of the time order (numbers or date-times); "" = file order
CSV_SKILL_SEPARATOR = ""       # csv: separator of several skills in one cell, e.g. "_" for "12_45"; "" = off
CSV_ITEM_COLUMN = ""           # csv: column of the item (question) id beside the skill, read by IRT and
                               # Best-LR; "" = none (every model then reads the skill column alone)
EDNET_KT1_DIR = "KT1"          # ednet: folder of the students' u<user id>.csv files, in DATASET_DIR
EDNET_QUESTIONS_FILE = "contents/questions.csv"  # ednet: the questions' answers and tags, in DATASET_DIR
EDNET_SKILL = "question"       # ednet: a "skill" is the "question" (item) or its "tags" (see MULTI_SKILL)
EDNET_MAX_STUDENTS = 0         # ednet: read only the first N students by user id, to try a subset; 0 = all
SYNTHETIC_STUDENTS = 4000      # synthetic: number of virtual students
SYNTHETIC_EXERCISES = 50       # synthetic: exercises, answered by every student in the same order
SYNTHETIC_CONCEPTS = 5         # synthetic: hidden concepts behind the exercises
SEQ_LEN = 200                  # sequences are cut into chunks of this length, each trained on its own
CARRY_STATE = False            # DKVMN/DKT: a chunk starts from the state its student's previous chunk ended
                               # in (as the export serves), not the initial state (the paper's cut)

# --- model -----------------------------------------------------------------------------------------------
MODEL = "dkvmn"                # a name in utils/model_registry.py: "dkvmn", "dkt", or a classical baseline:
                               # "bkt", "irt", "pfa", "best_lr"
MEMORY_SIZE = 20               # DKVMN: N, memory slots (latent concepts)
KEY_DIM = 50                   # DKVMN: d_k, size of the key embedding and of M^k's rows
VALUE_DIM = 200                # DKVMN: d_v, size of the value embedding and of M^v's rows
FINAL_DIM = 50                 # DKVMN: units of the summary layer f_t
KEY_PROJECTION = False         # DKVMN: feed f_t with tanh(W k_t + b) as the authors' MXNet code does
HIDDEN_SIZE = 200              # DKT: LSTM units
DKT_EMBEDDING_SIZE = 200       # DKT: size of the (skill, answer) embedding; 0 = the paper's one-hot input
DROPOUT = 0.2                  # dropout rate before the output layer while training
INIT_STD = 0.1                 # std of the normal initialiser of embeddings and memories
BASELINE_L2 = 1e-6             # IRT/PFA/Best-LR: L2 penalty on the per-id weights, added to the mean BCE

# --- optimisation ----------------------------------------------------------------------------------------
OPTIMIZER = "adam"             # "adam" or "sgd" (with momentum, as in the DKVMN paper)
LEARNING_RATE = 5e-3           # initial learning rate (5e-3: the built-in data is learnt in ~10 epochs)
MOMENTUM = 0.9                 # sgd only
LR_DECAY = 1.0                 # multiply the learning rate by this every LR_DECAY_EPOCHS (paper: 0.667)
LR_DECAY_EPOCHS = 20           # epochs between two decays
MIN_LEARNING_RATE = 1e-5       # floor of the decayed learning rate (the authors' code)
MAX_GRAD_NORM = 50.0           # clip gradients to this global norm; 0 turns clipping off
LOSS_SCALE = "mean"            # minimise the "mean" BCE per answer, or its "sequence_sum" (authors' code)
BATCH_SIZE = 32                # sequences (chunks) per training step
EPOCHS = 15                    # most epochs to train
EARLY_STOP_PATIENCE = 5        # stop after this many epochs without a better validation AUC; 0 = never

# --- the run ---------------------------------------------------------------------------------------------
SEED = 0                       # seeds the initial weights and the batch order (the split: SPLIT_SEED)
THREADS = 2                    # TensorFlow intra- and inter-op threads; 0 lets TensorFlow choose
BATCH_PARTS = 2                # run the recurrence as this many loops over parts of the batch at once (one
                               # per thread, at most THREADS; same results); 1 may be faster on a busy machine
RUNS_DIR = "runs"              # where run folders are created
RESUME = ""                    # a run folder to continue (its own constants are used)
PAUSE_AFTER_EPOCH = 0          # end this sitting after that epoch, unfinished and resumable (a search's
                               # rung); 0 = never. An option of the sitting, not of the run: not in its key
SCORE_TEST = True              # False: never score the test split (a settings search must not see it)




def constants():
    """Every constant above, by lower-case name: the defaults that the command line overrides."""
    return {name.lower(): value for name, value in globals().items() if name.isupper()}


def older_run_values(saved):
    """Constants added after run folders already existed, with the values that an older run (its saved
    constants `saved`) resumes with: the ones that keep what it did (one loop per batch, no data cache, its
    students split by its SEED as they were: data.older_run_split; the EdNet options cannot concern it)."""
    ednet = dict((name, value) for name, value in constants().items() if name.startswith("ednet_"))
    return dict(ednet, batch_parts=1, data_cache=False, baseline_l2=BASELINE_L2, carry_state=False,
                **data.older_run_split(saved))


def run(config, log=print):
    """Loads the data, trains, tests the best-validation checkpoint once; returns (run_dir, summary), or
    (run_dir, None) for a sitting that PAUSE_AFTER_EPOCH ended before the run did."""
    resuming = bool(config["resume"])
    if resuming:
        run_dir = config["resume"]
        saved = run_files.resumable_config(run_dir)
        filled_in = dict((name, value) for name, value in older_run_values(saved).items()
                         if name not in saved)
        pause = config["pause_after_epoch"]  # this sitting's, never the saved one
        config = dict(filled_in, **saved)
        config["pause_after_epoch"] = pause
        missing = sorted(set(constants()) - set(config))
        if missing:
            raise RunFolderError("%s/config.json lacks the constant(s) %s: it was made by another version of "
                                 "main.py, whose run this one cannot continue; start a new run"
                                 % (run_dir, ", ".join(missing)))
    check_settings(config)
    try:
        dataset = data.load_from_config(config)
    except OSError as error:  # an unreadable data file is bad input, not a failed write
        raise data.DataError("cannot read the data set: %s" % error)
    for line in dataset.report:
        log(line)
    check_scorable(dataset, ("valid", "test") if config["score_test"] else ("valid",))
    unseen = unseen_in_training(dataset)
    for split, (ids, answers) in sorted(unseen.items()):
        if ids:
            log("%s: %d ids (%d answers) never answered in training: the model has learnt nothing of them"
                % (split, ids, answers))

    # the model first: one that cannot be built leaves no run folder behind
    trainer = trainer_class(config["model"])(config, dataset, run_dir if resuming else None, log=log)
    unseen_items = unseen_in_training(dataset, items=True) if trainer.n_items else {}
    for split, (ids, answers) in sorted(unseen_items.items()):
        if ids:
            log("%s: %d items (%d answers) never answered in training: %s predicts them without their own "
                "weight" % (split, ids, answers, config["model"]))
    try:
        if not resuming:
            run_dir = trainer.run_dir = run_files.create_run_dir(config["runs_dir"], config["dataset"],
                                                                 config["model"])
        with run_files.run_lock(run_dir):  # one main.py at a time writes a run folder
            if resuming:  # everything is checked (and both checkpoints read) before anything changes
                state = run_files.resume_state(run_dir, dataset.fingerprint)
                trainer.restore(state["best_checkpoint"])  # so that the final restore cannot fail
                trainer.restore(state["last_checkpoint"])
                run_files.truncate_logs(run_dir, state["epoch"])
                record_filled_in(run_dir, filled_in, log)
                log("resuming %s after epoch %d" % (run_dir, state["epoch"]))
            else:
                state = run_files.fresh_state(config)
                run_files.write_config(run_dir, config, library_versions(), dataset.fingerprint,
                                       dataset.n_skills, trainer.num_parameters, trainer.n_items,
                                       train_correct_rate=correct_rate(dataset.train))
                run_files.write_skills(run_dir, dataset)
                if trainer.n_items:
                    run_files.write_items(run_dir, dataset.item_ids)
            log("run folder: %s  (%s, %d parameters%s)" % (
                run_dir, config["model"], trainer.num_parameters,
                ", reads %d items beside the skills" % trainer.n_items if trainer.n_items else ""))

            state = trainer.fit(state)
            if trainer.paused(state):
                log("paused after epoch %d (PAUSE_AFTER_EPOCH); continue it with: python main.py --resume %s"
                    % (state["epoch"], run_dir))
                return run_dir, None
            log("training ended after epoch %d: %s" % (state["epoch"], trainer.why_training_ended(state)))
            trainer.restore(state["best_checkpoint"])
            test_figures = {}
            if config["score_test"]:  # once, with the checkpoint chosen on validation
                predictions = trainer.predict(trainer.eval_batches["test"])
                run_files.write_predictions(run_dir, predictions)
                test_figures = split_metrics(predictions)
                test_figures.update(auc_interval(predictions, config["seed"]))  # whole students resampled
                test_figures.update(unseen_ids=unseen["test"][0], unseen_id_answers=unseen["test"][1])
                if unseen_items:
                    test_figures.update(unseen_items=unseen_items["test"][0],
                                        unseen_item_answers=unseen_items["test"][1])
                oracle = oracle_auc(predictions, dataset.test)
                if oracle is not None:
                    test_figures["oracle_auc"] = oracle
            run_files.write_correlation_weights(run_dir, trainer.skill_correlation_weights())
            summary = run_files.write_summary(run_dir, config, state, test_figures, trainer.num_parameters,
                                              trainer.stopped(state))
    except OSError as error:  # a full or read-only disk: the last committed epoch stays resumable
        raise run_files.write_failed(run_dir, error.filename or "a file", error.strerror or error)
    except tf.errors.ResourceExhaustedError as error:
        raise ConfigError(out_of_memory(error))
    finally:
        trainer.close()
    test_line = ("test AUC %.4f (95%% CI %.4f-%.4f)  ACC %.4f  loss %.4f" % tuple(
        summary["test_" + name] for name in ("auc", "auc_ci_low", "auc_ci_high", "acc", "loss"))
                 if config["score_test"] else "test split not scored (SCORE_TEST off)")
    if summary.get("test_oracle_auc") is not None:  # synthetic data: the ceiling, on the same positions
        test_line += "  (oracle AUC %.4f)" % summary["test_oracle_auc"]
    log("selected epoch %d (best validation AUC %.4f); %s" % (summary["best_epoch"], summary["valid_auc"],
                                                              test_line))
    log("run folder: %s" % run_dir)
    return run_dir, summary


def trainer_class(model):
    """The run loop of `model`: utils/training.py's Trainer (gradient steps), or BKT's EM fits."""
    return BktTrainer if model == "bkt" else Trainer


def record_filled_in(run_dir, filled_in, log):
    """Says, in the log and in config.json ("older_run_values"), which constants a run made before them
    resumes with: its config.json's constants stay as they were written."""
    if not filled_in:
        return
    log("this run was made before the constant(s) %s: it resumes with %s, as it was made"
        % (", ".join(sorted(filled_in)), ", ".join("%s=%r" % item for item in sorted(filled_in.items()))))
    path = os.path.join(run_dir, run_files.CONFIG)
    saved = run_files.read_json(path)
    saved["older_run_values"] = filled_in
    run_files.write_json(path, saved)


def check_settings(config):
    """What can be checked before anything is written: the model (utils/model_registry.py) and its
    hyperparameters (models/__init__.py), and the numbers of the run; ConfigError saying what a bad one must
    be."""
    try:
        model_registry.check_name(config["model"])
        models.checked_hparams(config["model"], config)
    except ValueError as error:
        raise ConfigError(str(error))
    if not isinstance(config["carry_state"], bool):
        raise ConfigError("carry_state must be true or false, got %r" % (config["carry_state"],))
    if config["carry_state"] and not models.carries_state(config["model"]):
        carriers = " or ".join(m for m in models.MODELS if models.carries_state(m))
        raise ConfigError("--carry_state true needs a model whose state a chunk can start from: %s (%s "
                          "answers each chunk as its own); use --carry_state false"
                          % (carriers, config["model"]))
    for name, lowest in (("batch_size", 1), ("seq_len", 1), ("epochs", 1), ("threads", 0),  # 0 = TF chooses
                         ("batch_parts", 1), ("lr_decay_epochs", 0), ("early_stop_patience", 0), ("seed", 0),
                         ("pause_after_epoch", 0)):
        require_whole(config, name, lowest, highest=2 ** 32 - 1 if name == "seed" else None)
    require_number(config, "lr_decay", lambda v: v > 0, "a number > 0")
    require_number(config, "min_learning_rate", lambda v: 0 <= v <= config["learning_rate"],
                   "a number in [0, learning_rate %r]" % config["learning_rate"])


def main(argv):
    def body():
        config = parse_overrides(argv, constants())
        others = [name for name, _ in override_pairs(argv, constants())
                  if name not in ("resume", "pause_after_epoch")]
        if config["resume"] and others:  # a resume is the run's own constants (config.json), or nothing
            raise ConfigError("--resume continues a run with the constants in its config.json; it takes no "
                              "other option but --pause_after_epoch (got %s): drop them, or start a new run "
                              "with them"
                              % ", ".join("--" + name for name in others))
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.disable_v2_behavior()
        run(config)
    return exit_status(body, writing="the run folder (RUNS_DIR)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

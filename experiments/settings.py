"""The settings of many runs: the per-data-set rows (the paper's Table 3), overrides of main.py's constants
on the command line (--set) and in a data set's options, their hash, and checks made before anything starts.

A run is always `python main.py --name value ...` in its own process: a setting is an override of one of
main.py's constants (read from its text by utils.config.main_constants, never imported), main.py's own values
give the rest. No Ray, no TensorFlow.
"""
import glob
import hashlib
import json
import os

from utils import model_registry
from utils.config import ConfigError, main_constants, parse_value

# The one table of per-data-set settings: overrides of main.py's constants, shared ("all") and per model.
# Every constant that changes what is trained is written out, so a change of main.py's defaults does not
# change a row. The architecture is the DKVMN paper's (Zhang et al. 2017, section 5 and its code); the
# optimiser is Adam with dropout 0.2 (the paper used SGD with momentum 0.9, lr 0.05 x 0.667 every 20 epochs,
# clip 50, on the BCE summed per sequence; to run that: --set optimizer=sgd --set learning_rate=0.05
# --set lr_decay=0.667 --set loss_scale=sequence_sum --set max_grad_norm=5 --set dropout=0). What was tried
# on the validation folds is in results/NOTES.md. `paper` = test AUC of the paper's Table 3; `chosen` says
# whether the row was chosen on validation.
TRAINING = {"optimizer": "adam", "dropout": 0.2, "init_std": 0.1, "max_grad_norm": 50.0, "lr_decay": 1.0,
            "loss_scale": "mean"}
DKT_ROW = {"hidden_size": 200, "dkt_embedding_size": 200}
SYNTHETIC_5 = {  # the DKVMN paper's Synthetic-5 sizes; lr 3e-3 chosen before any run, for run time
    "dataset_dir": "dataset/synthetic",
    "paper": {"dkvmn": 0.8273, "dkt": 0.8034},  # the paper's figure is likely the mean over the 20 versions
    "chosen": "Adam 3e-3 set for run time; DKVMN and DKT sizes the paper's (results/NOTES.md)",
    "all": dict(TRAINING, seq_len=50, batch_size=32, learning_rate=3e-3, epochs=150, early_stop_patience=15),
    "dkvmn": {"memory_size": 5, "key_dim": 10, "value_dim": 10, "final_dim": 50, "key_projection": False},
    "dkt": DKT_ROW,
}
# The regressions (IRT, PFA, Best-LR) keep a row's SEQ_LEN cut and batches, so they see the histories the deep
# models see, but train with a step and a budget of their own: a convex fit wants a larger step than a deep
# model, and with the rows' Adam 1e-3 for 50 epochs their best validation epoch was the last one (not
# converged) on ASSIST2009 and STATICS. Chosen on fold 1's validation split (results/NOTES.md); a row may
# override it under "regressions".
REGRESSIONS = ("irt", "pfa", "best_lr")
REGRESSION_TRAINING = {"learning_rate": 0.01, "epochs": 100, "early_stop_patience": 10}
SETTINGS = {
    "assist2009_updated": {
        "dataset_dir": "dataset/assist2009_updated",
        "paper": {"dkvmn": 0.8157, "dkt": 0.8053},
        "chosen": "on the validation fold (results/NOTES.md)",
        "all": dict(TRAINING, seq_len=200, batch_size=32, learning_rate=1e-3, epochs=50,
                    early_stop_patience=8),
        # DKVMN: the authors' key projection and learning rate 5e-3 (best validation AUC 0.8220, at epoch 60
        # of 60, against 0.8208 at 3e-3 and 0.8204 for the authors' SGD), chosen on validation; as that run
        # was still improving, up to 80 epochs (the validation AUC picks the epoch, so a higher cap is safe)
        "dkvmn": {"memory_size": 20, "key_dim": 50, "value_dim": 200, "final_dim": 50, "learning_rate": 5e-3,
                  "key_projection": True, "epochs": 80, "early_stop_patience": 10},
        "dkt": DKT_ROW,
    },
    "assist2015": {  # the authors' sizes (their code/python3/main.py); optimiser as assist2009's start
        "dataset_dir": "dataset/assist2015",
        "paper": {"dkvmn": 0.7268, "dkt": 0.7252},
        "chosen": ("the authors' sizes; the learning rate chosen on fold 1's validation split: Adam 5e-3 for "
                   "DKVMN, 1e-3 for DKT (results/search/assist2015-<model>.json, results/NOTES.md)"),
        "all": dict(TRAINING, seq_len=200, batch_size=50, learning_rate=1e-3, epochs=50,
                    early_stop_patience=8),
        "dkvmn": {"memory_size": 20, "key_dim": 50, "value_dim": 100, "final_dim": 50,
                  "key_projection": True, "learning_rate": 5e-3},
        "dkt": DKT_ROW,
    },
    "STATICS": {
        "dataset_dir": "dataset/STATICS",
        "paper": {"dkvmn": 0.8284, "dkt": 0.8020},
        "chosen": ("on fold 1's validation split, a grid per model (results/search/STATICS-<model>.json, "
                   "results/NOTES.md): DKVMN N 10 (the authors' 50 overfits by epoch 3-5), d_v 100, "
                   "Adam 1e-3; DKT hidden 100, dropout 0.5, Adam 3e-3"),
        "all": dict(TRAINING, seq_len=200, batch_size=10, learning_rate=1e-3, epochs=50,
                    early_stop_patience=8),
        # DKVMN: N 10 rather than the authors' 50 (best validation AUC 0.8219 at epoch 29 of a 30-epoch trial,
        # against at most 0.8135 for any trial with N 50); the row keeps 50 epochs
        "dkvmn": {"memory_size": 10, "key_dim": 50, "value_dim": 100, "final_dim": 50,
                  "key_projection": True},
        # DKT: best validation AUC 0.8254 at epoch 7, against 0.8025 for the declared start (hidden 200,
        # dropout 0.2, Adam 1e-3), which ASHA stopped at epoch 5
        "dkt": dict(DKT_ROW, hidden_size=100, dropout=0.5, learning_rate=3e-3),
        # Best-LR's best validation AUC 0.8135 at epoch 91 of 100, against 0.8086 at 1e-2 (rising at 100)
        "regressions": {"learning_rate": 0.05},
    },
    "synthetic": {  # our own generator (data/synthetic.py) with Synthetic-5's sizes; no paper figure
        "dataset_dir": "dataset",
        "paper": {"dkvmn": None, "dkt": None},
        "chosen": SYNTHETIC_5["chosen"],
        "all": dict(SYNTHETIC_5["all"], synthetic_students=4000, synthetic_exercises=50, synthetic_concepts=5,
                    valid_fraction=0.2, test_fraction=0.2),
        "dkvmn": SYNTHETIC_5["dkvmn"],
        "dkt": DKT_ROW,
    },
}
for _version in range(20):  # the paper's Synthetic-5, its 20 data versions, all with version 0's settings
    SETTINGS["naive_c5_q50_s4000_v%d" % _version] = SYNTHETIC_5

# --smoke: a tiny model and one epoch, to check the whole pipeline in seconds (not a result).
SMOKE = {"memory_size": 3, "key_dim": 8, "value_dim": 8, "final_dim": 8, "hidden_size": 16,
         "dkt_embedding_size": 16, "seq_len": 20, "batch_size": 16, "epochs": 1, "early_stop_patience": 0,
         "synthetic_students": 200}

# Options of a run that are not settings: where it runs and reads, not what it trains.
NOT_SETTINGS = ("dataset", "model", "fold", "seed", "dataset_dir", "runs_dir", "threads", "batch_parts",
                "data_cache", "resume", "pause_after_epoch")


# --- settings -----------------------------------------------------------------------------------------------

SCRIPT_OPTION = {"dataset": "the data set argument", "model": "--models", "fold": "--folds",
                 "seed": "--seeds", "dataset_dir": "--dataset_dir", "runs_dir": "--runs_dir",
                 "threads": "--cpus_per_run",
                 "resume": "nothing: a killed run is resumed by itself",
                 "pause_after_epoch": "nothing: the study pauses its search's trials itself"}


def parse_set(item):
    """`--set name=value` -> (name, value); the value is a number, true/false or text, as JSON reads it."""
    name, equals, text = item.partition("=")
    if not equals or not name or name.startswith("-"):
        raise ConfigError("--set takes NAME=VALUE, e.g. --set learning_rate=0.003; got %r" % item)
    if name in SCRIPT_OPTION:
        raise ConfigError("--set %s: use %s instead" % (name, SCRIPT_OPTION[name]))
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return name, lowered == "true"
    try:
        value = json.loads(text)
    except ValueError:
        return name, text
    return name, value if isinstance(value, (int, float)) and not isinstance(value, bool) else text


def check_settings(settings, source="--set"):
    """Each setting must be a constant of main.py (read from its text) and read as that constant's type,
    so that a typo is one error line before anything starts, not a failure of every run."""
    defaults = main_constants()
    for name, value in sorted(settings.items()):
        if name not in defaults:
            raise ConfigError("%s: %s is not a constant of main.py; valid names: %s"
                              % (source, name, ", ".join(sorted(defaults))))
        if isinstance(value, (list, dict)):
            continue  # a search dimension: tune.py checks its values
        parse_value(name, command_text(value), defaults[name])


def table_settings(dataset, model):
    """The table's row for (data set, model), or None when the data set (or the model) has no row. A
    registered model without settings of its own in the row (the classical baselines) takes the row's shared
    ones: the same SEQ_LEN cut and batches, so that it sees the histories the deep models see; the regressions
    train with REGRESSION_TRAINING's step and budget (and the row's "regressions" overrides)."""
    row = SETTINGS.get(dataset)
    if row is None or model not in model_registry.names():
        return None
    settings = dict(row["all"])
    if model in REGRESSIONS:
        settings.update(REGRESSION_TRAINING, **row.get("regressions", {}))
    return dict(settings, **row.get(model, {}))


def settings_hash(settings):
    """A short hash of the settings: runs with equal settings share it, whatever the paths or threads."""
    text = json.dumps(dict((k, v) for k, v in settings.items() if k not in NOT_SETTINGS), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def command_text(value):
    """A setting as main.py's command line takes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def settings_argv(settings):
    argv = []
    for name in sorted(settings):
        argv += ["--" + name, command_text(settings[name])]
    return argv


def run_key(model, fold, seed, digest):
    return "%s-f%d-s%d-%s" % (model, fold, seed, digest)


def check_folds(dataset, dataset_dir, folds):
    """Three-line data sets: each fold's train and valid file must exist, checked before anything starts."""
    if dataset == "synthetic":
        return
    if not os.path.isdir(dataset_dir):
        raise ConfigError("data folder %s does not exist: give --dataset_dir, the folder of %s's files"
                          % (dataset_dir, dataset))
    if is_log_source(dataset):
        return  # a csv log, the raw ASSISTments file, EdNet: main.py checks its own files
    if dataset not in SETTINGS and not glob.glob(os.path.join(glob.escape(dataset_dir), dataset + "_t*.csv")):
        raise ConfigError("unknown data set %r: neither a source of main.py (%s) nor three-line files %s "
                          "(e.g. %s_train1.csv); give its folder with --dataset_dir" % (
                              dataset, ", ".join(log_sources() + ("synthetic",)), dataset_dir, dataset))
    for fold in folds:
        for part in ("train%d" % fold, "valid%d" % fold):
            path = os.path.join(dataset_dir, "%s_%s.csv" % (dataset, part))
            if not os.path.isfile(path):
                raise ConfigError("fold %d of %s does not exist: %s is missing (folds found: %s)" % (
                    fold, dataset, path, " ".join(available_folds(dataset_dir, dataset)) or "none"))


def log_sources():
    """main.py's sources that read a response log and split its students themselves (not three-line files)."""
    from data import SOURCES
    return tuple(name for name in sorted(SOURCES) if name != "synthetic")


def is_log_source(dataset):
    return dataset in log_sources()


def available_folds(dataset_dir, dataset):
    prefix = os.path.join(dataset_dir, dataset + "_train")
    folds = [path[len(prefix):-4] for path in glob.glob(prefix + "*.csv")]
    return sorted(f for f in folds if f.isdigit())




def paper_auc(dataset, model):
    """The paper's test AUC for (data set, model), or None."""
    return SETTINGS.get(dataset, {}).get("paper", {}).get(model)


def table_dataset_dir(dataset):
    return SETTINGS.get(dataset, {}).get("dataset_dir", "dataset")


# --- main.py's data options on a script's command line ----------------------------------------------------

# Data options a script names itself (the data set argument, its folds and seeds); the others are main.py's.
OWN_DATA_OPTIONS = ("dataset", "fold", "seed")


def data_option_defaults():
    """main.py's data constants (lower case) -> default, read from main.py's text: every one of them is a
    script option spelled as main.py spells it (--csv_student_column user_id)."""
    from data import DATA_OPTIONS  # the data package declares which constants are data options
    defaults = main_constants()
    names = [name for name in DATA_OPTIONS if name in defaults and name not in OWN_DATA_OPTIONS]
    return dict((name, defaults[name]) for name in names)


def add_data_options(parser):
    """Adds --<data constant> for each of main.py's data constants that the script does not define itself
    (e.g. its --dataset_dir); the default None = main.py's value."""
    group = parser.add_argument_group("data options (as main.py takes them)")
    added = []
    for name, default in sorted(data_option_defaults().items()):
        if "--" + name in parser._option_string_actions:
            continue  # the script's own option of that name (e.g. reproduce.py's list of --folds) wins
        group.add_argument("--" + name, metavar=type(default).__name__.upper(),
                           help="main.py's %s (default %r)" % (name.upper(), default))
        added.append(name)
    parser.set_defaults(main_data_options=tuple(added))


def data_settings(args):
    """The data options given on the command line (name -> value typed as main.py's constant); dataset_dir
    apart, as a path is not a setting."""
    given = {}
    added = getattr(args, "main_data_options", ())
    for name, default in sorted(data_option_defaults().items()):
        text = getattr(args, name, None) if name in added else None
        if text is not None and name != "dataset_dir":
            given[name] = parse_value(name, text, default)
    return given


def model_names():
    return model_registry.names()

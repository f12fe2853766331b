"""Knowledge-tracing data: five sources behind one call, plus batching. No TensorFlow.

    dataset = load_dataset(name, dataset_dir, **options)   # options: the data constants of main.py
    dataset = load_from_config(config)                      # the same, from a run's constants

name "synthetic" -> data/synthetic.py (no file); "assistments" -> data/assistments.py (raw CSV); "csv" ->
data/response_log.py (any response log, CSV or TSV); "ednet" -> data/ednet.py (EdNet KT1, one file per
student); anything else -> data/three_line.py
(<name>_train<fold>.csv, _valid<fold>.csv, _test.csv). The four sources that are not three-line files split
their students as the split options say (split_design, split_seed, folds, fold, valid_fold, valid_fraction,
test_fraction: data/sequences.py), never with the model's seed; a three-line data set keeps the split of its
files (fold picks the pair). Every option a source reads must be given: their
values have one home, the constants of main.py (a run's config.json records them). Options that belong to
another source are ignored, so a caller may pass all of them; an unknown option name raises DataError.
With a cache folder (main.py's DATA_CACHE), a source read from files is preprocessed once (data/cache.py).
Where a source has an item id per answer beside its skill (a csv log's csv_item_column, the raw ASSISTments
file's problem_id, EdNet's question with ednet_skill "tags"), the Dataset carries it (Dataset.item_ids,
Sequence.items; the models that read items are models.reads_items); the others have none.
"""
import os

from data.assistments import OPTIONS as ASSISTMENTS_OPTIONS
from data.assistments import find_file as find_assistments_file
from data.assistments import load_assistments
from data import cache as data_cache
from data.cache import cached_load
from data.ednet import OPTIONS as EDNET_OPTIONS
from data.ednet import input_files as ednet_input_files
from data.ednet import load_ednet
from data.dataset import DataError, Dataset, Sequence, make_sequence, map_skills, remap_sequences
from data.response_log import OPTIONS as RESPONSE_LOG_OPTIONS
from data.response_log import load_response_log, read_response_log
from data.sequences import (Batch, StudentSplit, carried_batches, checked_split, make_batches,
                            split_by_student)
from data.synthetic import OPTIONS as SYNTHETIC_OPTIONS
from data.synthetic import load_synthetic
from data.three_line import load_three_line

__all__ = ["load_dataset", "load_from_config", "DATA_OPTIONS", "SPLITS", "DataError", "Dataset", "Sequence",
           "make_sequence", "map_skills", "remap_sequences", "Batch", "make_batches", "split_by_student",
           "StudentSplit", "read_response_log", "older_run_split", "carried_batches"]

SPLITS = ("test", "valid", "train")  # what evaluate.py and predict.py can score, the usual first
# the options of the sources that split by student, in the order of StudentSplit's fields
SPLIT_OPTIONS = ("split_design", "split_seed", "folds", "fold", "valid_fold", "valid_fraction",
                 "test_fraction")
SOURCES = {  # name -> (loader, the options it reads)
    "synthetic": (load_synthetic, SPLIT_OPTIONS + SYNTHETIC_OPTIONS),
    "assistments": (load_assistments, SPLIT_OPTIONS + ASSISTMENTS_OPTIONS),
    "csv": (load_response_log, SPLIT_OPTIONS + RESPONSE_LOG_OPTIONS),
    "ednet": (load_ednet, SPLIT_OPTIONS + EDNET_OPTIONS),
}
THREE_LINE_OPTIONS = ("fold",)
# Every data constant of main.py (lower case): what evaluate.py and predict.py let a user override.
DATA_OPTIONS = ("dataset", "dataset_dir") + tuple(sorted(
    set(THREE_LINE_OPTIONS).union(*(names for _, names in SOURCES.values()))))


def load_dataset(name, dataset_dir, cache_dir=None, **options):
    """Loads `name` (see the module docstring); returns a Dataset with train / valid / test sequences.

    With cache_dir, a source read from files (INPUT_FILES) is preprocessed once and then read from the cache
    (data/cache.py) while its files and options stay the same.
    """
    known = set(DATA_OPTIONS) - {"dataset", "dataset_dir"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise DataError("unknown data option(s) %s; known: %s"
                        % (", ".join(unknown), ", ".join(sorted(known))))
    loader, names = SOURCES.get(name, (None, THREE_LINE_OPTIONS))
    missing = [option for option in names if option not in options]
    if missing:
        raise TypeError("load_dataset(%r) needs the option(s) %s" % (name, ", ".join(missing)))
    chosen = dict((option, options[option]) for option in names)
    if loader is not None:  # a bad fold or design is told before a large log is read
        checked_split(_student_split(chosen))
    files = INPUT_FILES[name](dataset_dir, chosen) if cache_dir and name in INPUT_FILES else None
    if files:
        return cached_load(cache_dir, name, files, chosen, lambda: _load(loader, name, dataset_dir, chosen))
    return _load(loader, name, dataset_dir, chosen)


def _load(loader, name, dataset_dir, chosen):
    if loader is None:
        return load_three_line(name, dataset_dir, fold=int(chosen["fold"]))
    split = _student_split(chosen)
    options = dict((option, value) for option, value in chosen.items() if option not in SPLIT_OPTIONS)
    if name == "synthetic":
        return loader(split, **options)
    return loader(dataset_dir, split, **options)


def _student_split(options):
    return StudentSplit(*(options[name] for name in SPLIT_OPTIONS))


def older_run_split(constants):
    """The split options that a run made before them (`constants`, its config.json's, lack them) is read
    with: one split by valid_fraction / test_fraction shuffled with the run's seed, as such runs were made,
    so that they resume and are scored on the students they were trained and selected on; and no csv item
    column, which no run made before that option read."""
    return {"split_design": "holdout", "split_seed": constants.get("seed", 0), "folds": 1, "valid_fold": 0,
            "csv_item_column": ""}


def _existing(*paths):
    """The paths when they all exist, else None (the loader then says what is missing)."""
    return list(paths) if all(os.path.isfile(path) for path in paths) else None


def _assistments_file(dataset_dir):
    try:
        return _existing(find_assistments_file(dataset_dir))
    except DataError:
        return None


def _ednet_files(dataset_dir, options):
    try:
        return ednet_input_files(dataset_dir, **dict((name, options[name]) for name in (
            "ednet_kt1_dir", "ednet_questions_file", "ednet_max_students")))
    except DataError:
        return None


# The sources worth caching (slow to preprocess), and the files their Dataset is made from:
# name -> function (dataset_dir, options) -> list of paths, or None when one is missing.
INPUT_FILES = {
    "csv": lambda dataset_dir, options: _existing(os.path.join(dataset_dir, options["csv_file"])),
    "assistments": lambda dataset_dir, options: _assistments_file(dataset_dir),
    "ednet": _ednet_files,
}


def load_from_config(config, cache_dir=None):
    """load_dataset with the data constants of `config` (a dict of main.py's constants, lower case); the
    cache in cache_dir (None: data.cache.DEFAULT_CACHE_DIR, .cache/data) when its constant data_cache is on
    (a run made before that constant: off)."""
    options = dict((name, config[name]) for name in DATA_OPTIONS if name not in ("dataset", "dataset_dir"))
    if config.get("data_cache"):
        cache_dir = cache_dir or data_cache.DEFAULT_CACHE_DIR  # read now: the tests point it elsewhere
    else:
        cache_dir = None
    return load_dataset(config["dataset"], config["dataset_dir"], cache_dir=cache_dir, **options)

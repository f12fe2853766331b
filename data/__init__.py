"""Knowledge-tracing data: four sources behind one call, plus batching. No TensorFlow.

    dataset = load_dataset(name, dataset_dir, **options)   # options: the data constants of main.py
    dataset = load_from_config(config)                      # the same, from a run's constants

name "synthetic" -> data/synthetic.py (no file); "assistments" -> data/assistments.py (raw CSV); "csv" ->
data/response_log.py (any response log, CSV or TSV); anything else -> data/three_line.py
(<name>_train<fold>.csv, _valid<fold>.csv, _test.csv). Every option a source reads must be given: their
values have one home, the constants of main.py (a run's config.json records them). Options that belong to
another source are ignored, so a caller may pass all of them; an unknown option name raises DataError.
"""
from data.assistments import OPTIONS as ASSISTMENTS_OPTIONS
from data.assistments import load_assistments
from data.dataset import DataError, Dataset, Sequence, make_sequence, map_skills, remap_sequences
from data.response_log import OPTIONS as RESPONSE_LOG_OPTIONS
from data.response_log import load_response_log, read_response_log
from data.sequences import Batch, make_batches, split_by_student
from data.synthetic import OPTIONS as SYNTHETIC_OPTIONS
from data.synthetic import load_synthetic
from data.three_line import load_three_line

__all__ = ["load_dataset", "load_from_config", "DATA_OPTIONS", "SPLITS", "DataError", "Dataset", "Sequence",
           "make_sequence", "map_skills", "remap_sequences", "Batch", "make_batches", "split_by_student",
           "read_response_log"]

SPLITS = ("test", "valid", "train")  # what evaluate.py and predict.py can score, the usual first
SPLIT_OPTIONS = ("seed", "valid_fraction", "test_fraction")  # the sources that split by student
SOURCES = {  # name -> (loader, the options it reads)
    "synthetic": (load_synthetic, SPLIT_OPTIONS + SYNTHETIC_OPTIONS),
    "assistments": (load_assistments, SPLIT_OPTIONS + ASSISTMENTS_OPTIONS),
    "csv": (load_response_log, SPLIT_OPTIONS + RESPONSE_LOG_OPTIONS),
}
THREE_LINE_OPTIONS = ("fold",)
# Every data constant of main.py (lower case): what evaluate.py and predict.py let a user override.
DATA_OPTIONS = ("dataset", "dataset_dir") + tuple(sorted(
    set(THREE_LINE_OPTIONS).union(*(names for _, names in SOURCES.values()))))


def load_dataset(name, dataset_dir, **options):
    """Loads `name` (see the module docstring); returns a Dataset with train / valid / test sequences."""
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
    if loader is None:
        return load_three_line(name, dataset_dir, fold=int(chosen["fold"]))
    if name == "synthetic":
        return loader(**chosen)
    return loader(dataset_dir, **chosen)


def load_from_config(config):
    """load_dataset with the data constants of `config` (a dict of main.py's constants, lower case)."""
    options = dict((name, config[name]) for name in DATA_OPTIONS if name not in ("dataset", "dataset_dir"))
    return load_dataset(config["dataset"], config["dataset_dir"], **options)

"""Knowledge-tracing data: three sources behind one call, plus batching. No TensorFlow.

    load_dataset(name, dataset_dir, seed=0, fold=1, valid_fraction=0.2, test_fraction=0.2, **options)

name "synthetic" -> data/synthetic.py (no file; options synthetic_students, synthetic_exercises,
synthetic_concepts); "assistments" -> data/assistments.py (raw CSV; options skill_key, multi_skill,
main_problems_only, min_interactions); "csv" -> data/response_log.py (any response log, CSV or TSV; options
csv_file, csv_student_column, csv_skill_column, csv_correct_column, csv_order_column, csv_delimiter,
csv_skill_separator, multi_skill, min_interactions); anything else -> data/three_line.py
(<name>_train<fold>.csv, _valid<fold>.csv, _test.csv; no options).
Options that belong to another source are ignored (so a script may pass all of them); an unknown option
name raises DataError. `fold` only applies to three-line files; the other sources split by `seed`.
"""
from data.assistments import OPTIONS as ASSISTMENTS_OPTIONS
from data.assistments import load_assistments
from data.dataset import DataError, Dataset, Sequence
from data.response_log import OPTIONS as RESPONSE_LOG_OPTIONS
from data.response_log import load_response_log, read_response_log
from data.sequences import Batch, make_batches, split_by_student
from data.synthetic import OPTIONS as SYNTHETIC_OPTIONS
from data.synthetic import load_synthetic
from data.three_line import load_three_line

__all__ = ["load_dataset", "DataError", "Dataset", "Sequence", "Batch", "make_batches", "split_by_student",
           "read_response_log"]


def load_dataset(name, dataset_dir, seed=0, fold=1, valid_fraction=0.2, test_fraction=0.2,
                 **source_options):
    """Load `name` (see module docstring) and return a Dataset with train / valid / test sequences."""
    _check_option_names(source_options)
    if name == "synthetic":
        return load_synthetic(seed=seed, valid_fraction=valid_fraction, test_fraction=test_fraction,
                              **_options_for(SYNTHETIC_OPTIONS, source_options))
    if name == "assistments":
        return load_assistments(dataset_dir, seed=seed, valid_fraction=valid_fraction,
                                test_fraction=test_fraction,
                                **_options_for(ASSISTMENTS_OPTIONS, source_options))
    if name == "csv":
        return load_response_log(dataset_dir, seed=seed, valid_fraction=valid_fraction,
                                 test_fraction=test_fraction,
                                 **_options_for(RESPONSE_LOG_OPTIONS, source_options))
    return load_three_line(name, dataset_dir, fold=int(fold))


def _check_option_names(source_options):
    known = set(SYNTHETIC_OPTIONS) | set(ASSISTMENTS_OPTIONS) | set(RESPONSE_LOG_OPTIONS)
    unknown = sorted(set(source_options) - known)
    if unknown:
        raise DataError("unknown data option(s) %s; known: %s"
                        % (", ".join(unknown), ", ".join(sorted(known))))


def _options_for(source_defaults, source_options):
    return dict((key, value) for key, value in source_options.items() if key in source_defaults)

"""Export any data source to fixed, shareable three-line split files (the layout data/three_line.py reads).

Usage (from the repo root; the data options are main.py's constants, written --name value):
    python scripts/export_splits.py --dataset csv --dataset_dir my_data --csv_file log.tsv \\
        --csv_student_column learner ... --folds 5 --out dataset/mylog --name mylog
    python main.py --dataset mylog --dataset_dir dataset/mylog --fold 3     # train on fold 3

Writes into OUT: <name>_train<k>.csv and <name>_valid<k>.csv for k = 1..K, <name>_test.csv and
<name>_sname_sid ("skill name<TAB>id" lines). Ids are written 1-based (id = skill index + 1).
The split is by student and seeded by SPLIT_SEED: the test students are the source's test split (fixed, as
SPLIT_DESIGN / FOLD choose it); the other students (the source's train + valid) are shuffled with SPLIT_SEED
and cut into K folds; fold k is valid<k>, the rest is train<k>. With --folds 1 the source's own train / valid
split is written as fold 1, so a run on the export sees the very split main.py made. Existing files are
never overwritten.
"""
import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from data import SOURCES, DataError, load_from_config  # noqa: E402
from utils.config import ConfigError, main_constants, parse_overrides  # noqa: E402

SOURCE_NAMES = tuple(SOURCES)  # load_dataset reads these names as sources, not files


class ExportError(Exception):
    """A bad argument or an output that exists; shown to the user as is."""


def fold_splits(dataset, folds, seed):
    """[(train sequences, valid sequences)] for k = 1..folds (see module docstring)."""
    if folds == 1:
        return [(list(dataset.train), list(dataset.valid))]
    rest = list(dataset.train) + list(dataset.valid)
    if folds < 1 or folds > len(rest):
        raise ExportError("--folds must be between 1 and the %d students outside the test split, got %d"
                          % (len(rest), folds))
    fold_of = np.zeros(len(rest), dtype=np.int64)
    for fold, members in enumerate(np.array_split(np.random.RandomState(seed).permutation(len(rest)), folds)):
        fold_of[members] = fold
    return [([seq for seq, where in zip(rest, fold_of) if where != fold],
             [seq for seq, where in zip(rest, fold_of) if where == fold]) for fold in range(folds)]


def three_line_text(sequences):
    """Count line, 1-based ids line, answers line per student."""
    lines = []
    for seq in sequences:
        lines += [str(len(seq.skills)), ",".join(str(int(skill) + 1) for skill in seq.skills),
                  ",".join(str(int(answer)) for answer in seq.answers)]
    return "\n".join(lines) + "\n" if lines else ""


def names_text(dataset):
    """"name<TAB>id" lines (1-based ids); tabs and line breaks inside a name become spaces."""
    return "".join("%s\t%d\n" % (" ".join(str(name).split()) or str(index + 1), index + 1)
                   for index, name in enumerate(dataset.skill_names))


def export(dataset, out_dir, name, folds, seed):
    """Write the files; returns [(path, number of students)]. ExportError when a file exists."""
    if not name or os.sep in name or (os.altsep and os.altsep in name) or name in SOURCE_NAMES:
        raise ExportError("--name %r: give a plain file prefix other than %s (those names load a source, "
                          "not the exported files)" % (name, ", ".join(SOURCE_NAMES)))
    files = []
    for k, (train, valid) in enumerate(fold_splits(dataset, folds, seed), 1):
        files += [("%s_train%d.csv" % (name, k), train), ("%s_valid%d.csv" % (name, k), valid)]
    files.append(("%s_test.csv" % name, dataset.test))
    paths = [os.path.join(out_dir, file_name) for file_name, _ in files]
    names_path = os.path.join(out_dir, "%s_sname_sid" % name)
    existing = [path for path in paths + [names_path] if os.path.exists(path)]
    if existing:
        raise ExportError("refusing to overwrite %d existing file(s): %s%s; remove them or choose another "
                          "--out or --name" % (len(existing), ", ".join(existing[:3]),
                                               ", ..." if len(existing) > 3 else ""))
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    written = []
    for path, (_, sequences) in zip(paths, files):
        with open(path, "w", newline="\n") as handle:
            handle.write(three_line_text(sequences))
        written.append((path, len(sequences)))
    text = names_text(dataset)
    try:  # data/three_line.py reads the names as latin-1
        encoded = text.encode("latin-1")
    except UnicodeEncodeError:
        encoded = text.encode("utf-8")
        print("note: some skill names are not latin-1; %s is UTF-8 (data/three_line.py reads it as latin-1)"
              % names_path)
    with open(names_path, "wb") as handle:
        handle.write(encoded)
    written.append((names_path, None))
    return written


def parse_args(argv):
    parser = argparse.ArgumentParser(
        allow_abbrev=False, epilog="Any other --name value is a main.py constant.",
        description="Export a data source (main.py's data options, e.g. --dataset csv --dataset_dir DIR) to "
                    "three-line split files.")
    parser.add_argument("--folds", type=int, default=5, help="K: train<k>/valid<k> pairs (default 5)")
    parser.add_argument("--out", required=True, help="output folder (created when missing)")
    parser.add_argument("--name", default=None, help="file prefix (default: <dataset>_split)")
    args, rest = parser.parse_known_args(argv)
    config = parse_overrides(rest, main_constants())
    return args, config


def run(argv, log=print):
    args, config = parse_args(argv)
    name = args.name or "%s_split" % config["dataset"]
    dataset = load_from_config(config)
    for line in dataset.report:
        log(line)
    written = export(dataset, args.out, name, args.folds, config["split_seed"])
    log("wrote %d files (ids 1-based, %d skills, %d folds, split seed %d):"
        % (len(written), dataset.n_skills, args.folds, config["split_seed"]))
    for path, students in written:
        log("  %s%s" % (path, "" if students is None else "  (%s students)" % "{:,}".format(students)))
    log("train on it: python main.py --dataset %s --dataset_dir %s --fold 1" % (name, args.out))
    return written


def cli(argv):
    try:
        run(argv)
    except (ConfigError, DataError, ExportError) as error:
        print("error: %s" % error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))

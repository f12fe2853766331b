"""Time `load_dataset("assistments", ...)` on a file the size of the real one (cold, no cache).

Builds a CSV of 525,534 rows (the full ASSISTments 2009-2010 skill builder file's size, same 30 columns
plus the leading unnamed index column) by bootstrapping whole attempts (all rows of one order_id: copies
and multi-skill rows stay together) from ../shared/data/assistments_raw_sample/skill_builder_data_sample.csv,
giving each drawn attempt a new order_id and one of ~4,200 students, keeping the real text. The file is
written ISO-8859-1 encoded like the original (characters outside latin-1, e.g. the sample's em dash, as
their Windows-1252 byte, so the file is not valid UTF-8), in a temporary folder. Prints rows/s and seconds
and writes them as JSON to benchmarks/out/preprocess_speed.json.

Usage: python benchmarks/preprocess_speed.py [--sample PATH] [--rows N]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from data import load_from_config  # noqa: E402
from utils.config import main_constants  # noqa: E402

DEFAULT_SAMPLE = os.path.join(REPO, "..", "shared", "data", "assistments_raw_sample",
                              "skill_builder_data_sample.csv")
FULL_ROWS = 525534
STUDENTS = 4200
TARGET_SECONDS = 5.0


def bootstrap(sample, n_rows, seed=0):
    """n_rows rows made of whole attempts drawn with replacement, with new order_ids and students."""
    rng = np.random.RandomState(seed)
    attempt_codes, attempt_ids = pd.factorize(sample["order_id"])
    rows_of_attempt = pd.Series(np.arange(len(sample))).groupby(attempt_codes).apply(list).tolist()
    n_draws = int(n_rows / (len(sample) / float(len(attempt_ids)))) + 1000
    drawn = rng.randint(len(rows_of_attempt), size=n_draws)
    row_lists = [rows_of_attempt[i] for i in drawn]
    rows = np.concatenate(row_lists)[:n_rows]
    attempt_of_row = np.repeat(np.arange(n_draws), [len(r) for r in row_lists])[:n_rows]
    out = sample.iloc[rows].reset_index(drop=True)
    out["order_id"] = 20000000 + attempt_of_row  # chronological: later draws are later attempts
    out["user_id"] = 70000 + rng.randint(STUDENTS, size=n_draws)[attempt_of_row]
    out[out.columns[0]] = np.arange(n_rows)  # the leading index column
    return out


def write_latin1(table, path):
    text = table.to_csv(index=False)
    with open(path, "wb") as handle:
        handle.write(text.encode("cp1252", errors="replace"))  # = latin-1 for every latin-1 character


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", default=DEFAULT_SAMPLE)
    parser.add_argument("--rows", type=int, default=FULL_ROWS)
    args = parser.parse_args()
    if not os.path.isfile(args.sample):
        print("sample file missing: %s (see ../shared/data/README.md); nothing to benchmark" % args.sample)
        return 1
    sample = pd.read_csv(args.sample, dtype=object, keep_default_na=False)
    tmp_dir = tempfile.mkdtemp(prefix="kt_bench_")
    try:
        path = os.path.join(tmp_dir, "skill_builder_data.csv")
        write_latin1(bootstrap(sample, args.rows), path)
        size = os.path.getsize(path)
        start = time.time()
        dataset = load_from_config(dict(main_constants(), dataset="assistments", dataset_dir=tmp_dir))
        seconds = time.time() - start
    finally:
        shutil.rmtree(tmp_dir)
    result = {"rows": args.rows, "file_bytes": size, "seconds": round(seconds, 3),
              "rows_per_second": int(args.rows / seconds), "students": dataset.stats["students"],
              "interactions": dataset.stats["interactions"], "encoding": dataset.stats["encoding"],
              "target_seconds": TARGET_SECONDS, "python": sys.version.split()[0],
              "pandas": pd.__version__, "numpy": np.__version__}
    print("\n".join(dataset.report))
    print("load_dataset('assistments'): %d rows (%.1f MB) in %.2f s = %s rows/s (target < %.0f s)"
          % (args.rows, size / 1e6, seconds, "{:,}".format(result["rows_per_second"]), TARGET_SECONDS))
    out_dir = os.path.join(REPO, "benchmarks", "out")
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    with open(os.path.join(out_dir, "preprocess_speed.json"), "w") as handle:
        json.dump(result, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

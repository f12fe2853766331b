"""Time the preprocessing of response logs, each load in a fresh process (its own peak RSS), cold.

1. ASSISTments-shaped (--assistments_rows, default 525,534, the real file's size; 0 skips it): a CSV with the
   real file's 30 columns plus the leading unnamed index column, made by bootstrapping whole attempts (all
   rows of one order_id: copies and multi-skill rows stay together) from
   ../shared/data/assistments_raw_sample/skill_builder_data_sample.csv, giving each drawn attempt a new
   order_id and one of ~4,200 students, keeping the real text; written ISO-8859-1 encoded like the original
   (characters outside latin-1, e.g. the sample's em dash, as their Windows-1252 byte, so the file is not
   valid UTF-8). Timed: load_dataset("assistments").
2. csv logs (--rows N [N ...], default 1M and 10M; add 100000000 for the EdNet scale, a 2.5 GB file):
   student, skill, correct, order (seconds); 100 answers per student, 300 skills, rows in time order across
   students (see write_csv_log). Timed: load_dataset("csv") with the file out of the page cache, then its
   load from DATA_CACHE's entry; the exponent of a log-log fit of seconds over every size measured so far.
   With --epoch_rows N among the sizes (default 10M): `python main.py` training one DKVMN epoch on that
   log (EPOCH_OVERRIDES: small model, batch 1024, no final test), its wall time and peak RSS.
Every file is generated in a temporary folder and deleted. Figures: printed, and merged into
benchmarks/out/preprocess.json (keys "assistments", "csv", "ednet"; a size measured again replaces its entry).

Usage: python benchmarks/preprocess_speed.py [--rows N ...] [--assistments_rows N] [--epoch_rows N]
                                             [--sample PATH]
   e.g. python benchmarks/preprocess_speed.py --rows 10000000         (targets: >= 1M rows/s at 10M rows)
        python benchmarks/preprocess_speed.py --rows 100000000 --assistments_rows 0   (peak RSS <= 12 GB)

--ednet_students N times `load_dataset("ednet", ...)` instead, on a generated folder of EdNet KT1's layout
with N student files (see ednet_benchmark), and writes its figures under the key "ednet" of
benchmarks/out/preprocess.json: python benchmarks/preprocess_speed.py --ednet_students 100000
"""
import argparse
import json
import os
import resource
import runpy
import shutil
import subprocess
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
    parser.add_argument("--rows", type=int, nargs="*", default=list(CSV_ROWS),
                        help="sizes (answers) of the generated csv logs to time; none: only ASSISTments")
    parser.add_argument("--assistments_rows", type=int, default=FULL_ROWS,
                        help="rows of the ASSISTments-shaped file; 0 skips it")
    parser.add_argument("--epoch_rows", type=int, default=EPOCH_ROWS,
                        help="time a DKVMN epoch of main.py on the csv log of this size (if made); 0: no")
    parser.add_argument("--ednet_students", type=int, default=0,
                        help="time the EdNet KT1 loader on this many generated student files (only that)")
    parser.add_argument("--child", nargs=3, metavar=("SOURCE", "DATASET_DIR", "CACHE_DIR"),
                        help=argparse.SUPPRESS)  # one load in a fresh process: see run_child
    parser.add_argument("--child_main", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)  # main.py's run
    args = parser.parse_args()
    if args.child:
        return child_load(*args.child)
    if args.child_main is not None:
        return child_main(args.child_main)
    if args.ednet_students:
        return ednet_benchmark(args.ednet_students)
    figures = {}
    if args.assistments_rows:
        figures["assistments"] = assistments_benchmark(args.sample, args.assistments_rows)
    if args.rows:
        figures["csv"] = csv_benchmark(sorted(args.rows), args.epoch_rows)
    path = merge_figures(figures)
    print("figures merged into %s" % os.path.relpath(path, REPO))
    return 0


def merge_figures(figures):
    """Merges `figures` into benchmarks/out/preprocess.json (sizes measured before are kept: the fit of the
    exponent uses every size there); returns its path."""
    path = os.path.join(REPO, "benchmarks", "out", "preprocess.json")
    merged = json.load(open(path)) if os.path.isfile(path) else {}
    for key, value in figures.items():
        if key == "csv":
            sizes = merged.get("csv", {}).get("sizes", {})
            sizes.update(value["sizes"])
            value = dict(value, sizes=sizes, rows_exponent=rows_exponent(sizes))
            value["epoch"] = value.get("epoch") or merged.get("csv", {}).get("epoch")
        merged[key] = value  # the file's other keys are the other benchmarks' figures: kept
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        json.dump(merged, handle, indent=2, sort_keys=True)
    return path


# -- one load in a fresh process, and its peak memory --------------------------------------------------------

def run_child(command):
    """(last stdout line parsed as JSON, peak RSS in MB) of `command`, run in a new process that reports its
    own peak (peak_rss_mb) as the last line: the load's alone, not the benchmark's (a child's rusage would
    also count the memory of the process it was forked from)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=REPO)
    output = process.communicate()[0].decode("utf-8")
    if process.returncode != 0:
        raise RuntimeError("%s failed (status %d):\n%s" % (" ".join(command), process.returncode,
                                                            output[-2000:]))
    result = json.loads([line for line in output.splitlines() if line.strip()][-1])
    return result, result["peak_rss_mb"]


def peak_rss_mb():
    """This process's peak resident memory in MB: VmHWM (Linux), else ru_maxrss."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds():
    """User + system CPU time of this process so far: with other jobs on the machine, wall time / CPU time
    says how much of the cores the load had."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_main(argv):
    """Runs main.py with `argv` in this (fresh) process, then prints its peak RSS as a JSON line."""
    sys.argv = [os.path.join(REPO, "main.py")] + list(argv)
    status = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as done:
        status = done.code or 0
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "status": status}))
    return status


def child_load(source, dataset_dir, cache_dir):
    """Loads `source` with main.py's constants (cache_dir "-": no cache); prints the report, then one JSON
    line with the seconds and the report's counts."""
    start, cpu_start = time.time(), cpu_seconds()
    dataset = load_from_config(dict(main_constants(), dataset=source, dataset_dir=dataset_dir,
                                    data_cache=cache_dir != "-"),
                               cache_dir=None if cache_dir == "-" else cache_dir)
    seconds, cpu = time.time() - start, cpu_seconds() - cpu_start
    print("\n".join(dataset.report))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "stats": dataset.stats,
                      "fingerprint": dataset.fingerprint, "peak_rss_mb": peak_rss_mb()}))
    return 0


def timed_load(source, dataset_dir, cache_dir="-"):
    """(result JSON of child_load, peak RSS MB) of one load in a fresh process."""
    return run_child([sys.executable, os.path.abspath(__file__), "--child", source, dataset_dir, cache_dir])


# -- ASSISTments-shaped: 30 real columns ---------------------------------------------------------------------

def assistments_benchmark(sample_path, n_rows):
    """Times load_dataset("assistments") on a bootstrapped file of n_rows rows (cold, no cache)."""
    if not os.path.isfile(sample_path):
        print("sample file missing: %s (see ../shared/data/README.md); ASSISTments not timed" % sample_path)
        return None
    sample = pd.read_csv(sample_path, dtype=object, keep_default_na=False)
    tmp_dir = tempfile.mkdtemp(prefix="kt_bench_")
    try:
        path = os.path.join(tmp_dir, "skill_builder_data.csv")
        write_latin1(bootstrap(sample, n_rows), path)
        size = os.path.getsize(path)
        loaded, peak_mb = timed_load("assistments", tmp_dir)
    finally:
        shutil.rmtree(tmp_dir)
    seconds = loaded["seconds"]
    result = {"rows": n_rows, "file_bytes": size, "seconds": round(seconds, 3),
              "rows_per_second": int(n_rows / seconds), "peak_rss_mb": round(peak_mb),
              "students": loaded["stats"]["students"], "interactions": loaded["stats"]["interactions"],
              "encoding": loaded["stats"]["encoding"], "target_seconds": TARGET_SECONDS}
    result.update(versions())
    print("load_dataset('assistments'): %d rows (%.1f MB) in %.2f s = %s rows/s, peak RSS %d MB (target < "
          "%.0f s)" % (n_rows, size / 1e6, seconds, "{:,}".format(result["rows_per_second"]), peak_mb,
                       TARGET_SECONDS))
    return result


def versions():
    return {"python": sys.version.split()[0], "pandas": pd.__version__, "numpy": np.__version__,
            "pyarrow": pyarrow_version()}


def pyarrow_version():
    try:
        import pyarrow
    except ImportError:
        return None
    return pyarrow.__version__


# -- generated csv logs of 1M-100M answers ------------------------------------------------------------------

CSV_ROWS = (1000000, 10000000)  # the default sizes; add 100000000 for the EdNet scale (~1.7 GB of CSV)
EPOCH_ROWS = 10000000
CSV_TARGET_ROWS_PER_SECOND = 1000000  # at 10M rows, on 2 cores
CSV_TARGET_PEAK_RSS_MB = 12 * 1024   # at 100M rows
CSV_SKILLS = 300
CSV_ANSWERS_PER_STUDENT = 100
# one epoch of DKVMN with small sizes (the data's memory, not the model's, is measured), a big batch (few
# steps) and no final test scoring (its bootstrap interval over 2M predictions is not the data's cost)
EPOCH_OVERRIDES = ["--model", "dkvmn", "--epochs", "1", "--memory_size", "5", "--key_dim", "8",
                   "--value_dim", "8", "--final_dim", "8", "--batch_size", "1024", "--seq_len", "200",
                   "--early_stop_patience", "0", "--score_test", "false", "--data_cache", "false"]


def write_csv_log(path, n_rows, seed=0, block_students=20000):
    """A response log of n_rows answers in the csv source's default columns (student, skill, correct,
    order): CSV_ANSWERS_PER_STUDENT answers per student (random 6-7 digit ids), CSV_SKILLS skills, 60%
    correct, order = a time in seconds; the rows of each block of students are written in time order
    (interleaved, as a platform logs them), so the loader must sort. Written block by block (pandas' CSV
    writer): the generator's memory stays small. Returns the file's size in bytes."""
    rng = np.random.RandomState(seed)
    n_students = -(-n_rows // CSV_ANSWERS_PER_STUDENT)
    ids = 100000 + rng.permutation(9 * n_students)[:n_students]
    with open(path, "w") as handle:
        handle.write("student,skill,correct,order\n")
        for first in range(0, n_students, block_students):
            students = ids[first:first + block_students]
            rows = min(len(students) * CSV_ANSWERS_PER_STUDENT, n_rows - first * CSV_ANSWERS_PER_STUDENT)
            student = np.repeat(students, CSV_ANSWERS_PER_STUDENT)[:rows]
            step = np.tile(np.arange(CSV_ANSWERS_PER_STUDENT), len(students))[:rows]
            start = np.repeat(1700000000 + rng.randint(0, 10 ** 7, len(students)), CSV_ANSWERS_PER_STUDENT)
            order = start[:rows] + step * 300 + rng.randint(0, 300, rows)  # rising inside a student
            by_time = np.argsort(order, kind="stable")
            pd.DataFrame({"student": student[by_time], "skill": rng.randint(1, CSV_SKILLS + 1, rows),
                          "correct": (rng.rand(rows) < 0.6).astype(np.int64), "order": order[by_time]}
                         ).to_csv(handle, header=False, index=False)
    return os.path.getsize(path)


def csv_benchmark(sizes, epoch_rows):
    """Times load_dataset("csv") cold (a fresh process each, page cache dropped), then from its cache, on a
    generated log of each size; with epoch_rows among them, one epoch of main.py on that log."""
    results, epoch = {}, None
    command = "python benchmarks/preprocess_speed.py --rows %s" % " ".join(str(n) for n in sizes)
    tmp_dir = tempfile.mkdtemp(prefix="kt_bench_csv_")
    try:
        for n_rows in sizes:
            folder = os.path.join(tmp_dir, str(n_rows))
            os.makedirs(folder)
            started = time.time()
            size = write_csv_log(os.path.join(folder, "responses.csv"), n_rows)
            print("generated %s rows (%.0f MB) in %.0f s" % ("{:,}".format(n_rows), size / 1e6,
                                                             time.time() - started))
            drop_from_page_cache(folder)
            results[str(n_rows)] = csv_figures(n_rows, size, folder, os.path.join(tmp_dir, "cache"))
            results[str(n_rows)]["command"] = command
            if n_rows == epoch_rows:
                epoch = epoch_figures(n_rows, folder, os.path.join(tmp_dir, "runs"))
                epoch["measured_by"] = command
            shutil.rmtree(folder)
            shutil.rmtree(os.path.join(tmp_dir, "cache"))
    finally:
        shutil.rmtree(tmp_dir)
    return {"sizes": results, "epoch": epoch, "target_rows_per_second_at_10M": CSV_TARGET_ROWS_PER_SECOND,
            "target_peak_rss_mb_at_100M": CSV_TARGET_PEAK_RSS_MB}


def csv_figures(n_rows, size, folder, cache_dir):
    """The cold load's rows/s and peak RSS, and the load from the cache (written by a first cached load)."""
    cold, cold_mb = timed_load("csv", folder)
    timed_load("csv", folder, cache_dir)  # preprocesses and writes the cache
    cached, cached_mb = timed_load("csv", folder, cache_dir)
    result = {"rows": n_rows, "file_bytes": size, "seconds": round(cold["seconds"], 2),
              "rows_per_second": int(n_rows / cold["seconds"]), "cpu_seconds": round(cold["cpu_seconds"], 2),
              "load_average": round(os.getloadavg()[0], 2), "peak_rss_mb": round(cold_mb),
              "bytes_per_answer": round(cold_mb * 2 ** 20 / n_rows, 1),
              "cached_seconds": round(cached["seconds"], 2), "cached_peak_rss_mb": round(cached_mb),
              "students": cold["stats"]["students"], "interactions": cold["stats"]["interactions"],
              "skills": cold["stats"]["n_skills"], "measured": time.strftime("%Y-%m-%d %H:%M")}
    result.update(versions())
    print("load_dataset('csv'): %s rows (%.0f MB) in %.2f s (CPU %.2f s) = %s rows/s, peak RSS %d MB; from "
          "the cache %.2f s, peak RSS %d MB" % ("{:,}".format(n_rows), size / 1e6, cold["seconds"],
                                                cold["cpu_seconds"], "{:,}".format(result["rows_per_second"]),
                                                cold_mb, cached["seconds"], cached_mb))
    return result


def epoch_figures(n_rows, folder, runs_dir):
    """Wall time and peak RSS of `python main.py` training one DKVMN epoch on the log (EPOCH_OVERRIDES)."""
    command = [sys.executable, os.path.abspath(__file__), "--child_main", "--dataset", "csv", "--dataset_dir",
               folder, "--runs_dir", runs_dir] + EPOCH_OVERRIDES
    started = time.time()
    _, peak_mb = run_child(command)
    seconds = time.time() - started
    print("main.py, one DKVMN epoch on %s answers: %.0f s, peak RSS %d MB" % ("{:,}".format(n_rows), seconds,
                                                                           peak_mb))
    return {"rows": n_rows, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb),
            "command": "python main.py --dataset csv --dataset_dir <log> " + " ".join(EPOCH_OVERRIDES)}


def rows_exponent(sizes):
    """Slope of log(seconds) against log(rows) over the measured sizes (1 = linear), or None below two."""
    if len(sizes) < 2:
        return None
    rows = np.log([float(figures["rows"]) for figures in sizes.values()])
    seconds = np.log([float(figures["seconds"]) for figures in sizes.values()])
    return round(float(np.polyfit(rows, seconds, 1)[0]), 3)


# -- EdNet KT1: many small files -----------------------------------------------------------------------------

EDNET_QUESTIONS = 13169  # as in EdNet's contents/questions.csv
EDNET_TAGS = 188


def generate_ednet(root, n_students, seed=0, block=2000):
    """root/KT1/u1.csv .. u<n>.csv and root/contents/questions.csv, shaped like EdNet KT1: answers per student
    log-normal (median 30, mean ~110, long tail, as KT1's 95M answers of 784k students), timestamps in ms
    rising by 1 s - 10 min with 20% ties (a bundle's questions share one), 1-3 tags per question. Written
    block by block so the generator's memory stays small. Returns (rows, bytes)."""
    rng = np.random.RandomState(seed)
    os.makedirs(os.path.join(root, "KT1"))
    os.makedirs(os.path.join(root, "contents"))
    with open(os.path.join(root, "contents", "questions.csv"), "w") as handle:
        handle.write("question_id,bundle_id,explanation_id,correct_answer,part,tags,deployed_at\n")
        for q in range(1, EDNET_QUESTIONS + 1):
            tags = ";".join(str(t) for t in rng.choice(EDNET_TAGS, rng.randint(1, 4), replace=False) + 1)
            handle.write("q%d,b%d,e%d,%s,%d,%s,1558093217098\n" % (q, q, q, "abcd"[rng.randint(4)],
                                                                      rng.randint(1, 8), tags))
    total_rows, total_bytes = 0, 0
    for first in range(1, n_students + 1, block):
        users = np.arange(first, min(first + block, n_students + 1))
        counts = np.clip(rng.lognormal(np.log(30), 1.6, len(users)), 1, 20000).astype(np.int64)
        starts = np.cumsum(counts) - counts
        gaps = rng.randint(1000, 600000, counts.sum()) * (rng.rand(counts.sum()) > 0.2)
        within = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[starts] - gaps[starts], counts)
        timestamps = np.repeat(rng.randint(1500000000000, 1570000000000, len(users)), counts) + within
        solving = np.arange(counts.sum()) - np.repeat(starts, counts) + 1
        lines = ["%d,%d,q%d,%s,%d" % row for row in zip(
            timestamps.tolist(), solving.tolist(), rng.randint(1, EDNET_QUESTIONS + 1, counts.sum()).tolist(),
            np.array(list("abcd"))[rng.randint(4, size=counts.sum())].tolist(),
            rng.randint(1000, 100000, counts.sum()).tolist())]
        for user, start, count in zip(users, starts, counts):
            text = "timestamp,solving_id,question_id,user_answer,elapsed_time\n%s\n" % "\n".join(
                lines[start:start + count])
            with open(os.path.join(root, "KT1", "u%d.csv" % user), "w") as handle:
                handle.write(text)
            total_bytes += len(text)
        total_rows += int(counts.sum())
    return total_rows, total_bytes


def drop_from_page_cache(folder):
    """Write the folder's files to disk and evict them from the page cache (only them: the machine's other
    work keeps its cache), so the loader reads them cold, as on a first run."""
    os.sync()
    for directory, _, names in os.walk(folder):
        for name in names:
            descriptor = os.open(os.path.join(directory, name), os.O_RDONLY)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(descriptor)


def ednet_benchmark(n_students):
    """Times load_dataset("ednet") on n_students generated files: cold (a fresh process, the files out of the
    page cache), then from DATA_CACHE's entry; merges the figures into preprocess.json under "ednet"."""
    tmp_dir = tempfile.mkdtemp(prefix="kt_bench_ednet_")
    try:
        folder, cache_dir = os.path.join(tmp_dir, "ednet"), os.path.join(tmp_dir, "cache")
        started = time.time()
        rows, size = generate_ednet(folder, n_students)
        print("generated %s student files, %s rows (%.0f MB) in %.0f s" % (
            "{:,}".format(n_students), "{:,}".format(rows), size / 1e6, time.time() - started))
        drop_from_page_cache(folder)
        cold, cold_mb = timed_load("ednet", folder)
        warm, _ = timed_load("ednet", folder)  # the files now in the page cache: the CPU's share
        timed_load("ednet", folder, cache_dir)  # preprocesses and writes the cache
        cached, cached_mb = timed_load("ednet", folder, cache_dir)
    finally:
        shutil.rmtree(tmp_dir)
    seconds = cold["seconds"]
    result = {"files": n_students, "rows": rows, "bytes": size, "seconds": round(seconds, 2),
              "files_per_second": int(n_students / seconds), "rows_per_second": int(rows / seconds),
              "peak_rss_mb": round(cold_mb), "warm_seconds": round(warm["seconds"], 2),
              "cached_seconds": round(cached["seconds"], 2),
              "cached_peak_rss_mb": round(cached_mb), "students": cold["stats"]["students"],
              "interactions": cold["stats"]["interactions"], "skills": cold["stats"]["n_skills"],
              "measured": time.strftime("%Y-%m-%d %H:%M"),
              "command": "python benchmarks/preprocess_speed.py --ednet_students %d" % n_students}
    result.update(versions())
    print("load_dataset('ednet'): %s files, %s rows (%.0f MB) in %.1f s = %s files/s, %s rows/s, peak RSS %d "
          "MB; files in the page cache: %.1f s; from the data cache %.2f s, peak RSS %d MB" % (
              "{:,}".format(n_students), "{:,}".format(rows), size / 1e6, seconds,
              "{:,}".format(result["files_per_second"]), "{:,}".format(result["rows_per_second"]), cold_mb,
              warm["seconds"], cached["seconds"], cached_mb))
    print("figures merged into %s" % os.path.relpath(merge_figures({"ednet": result}), REPO))
    return 0

if __name__ == "__main__":
    sys.exit(main())

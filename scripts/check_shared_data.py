"""Optional check of the data loaders against the real files in ../shared/data (not needed by the tests).

1. assist2009_updated fold 1 (three-line files): students per split (2,291 / 630 / 1,230), 110 skills, and
   the interaction counts of each file, counted here independently by summing the count lines.
2. The 10,000-row raw ASSISTments sample, loaded as `assistments` from a temporary folder that links it as
   skill_builder_data.csv: its report must match counts made here independently with pandas (rows, rows
   without a skill, repeated (order_id, skill_id) rows, multi-skill attempts, students, interactions).
3. Synthetic-5 v0 (when present): the true concepts of cluster_info_0 are read.

Usage: python scripts/check_shared_data.py [SHARED_DATA_DIR]   (default: ../shared/data from the repo root)
Exits 1 on any mismatch, 2 when the folder is missing.
"""
import os
import shutil
import sys
import tempfile

import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from data import load_dataset, load_from_config  # noqa: E402
from utils.config import main_constants  # noqa: E402

FAILURES = []


def expect(what, got, wanted):
    status = "ok" if got == wanted else "MISMATCH"
    print("  %-52s %-12s expected %-12s %s" % (what, got, wanted, status))
    if got != wanted:
        FAILURES.append(what)


def count_three_line(path):
    """(students, interactions) of a three-line file: the sum of its count lines, read plainly."""
    lines = [line.strip().rstrip(",") for line in open(path) if line.strip()]
    counts = [int(line) for line in lines[0::3]]
    return len(counts), sum(counts)


def check_assist2009(shared):
    folder = os.path.join(shared, "dkvmn", "assist2009_updated")
    print("assist2009_updated, fold 1 (%s)" % folder)
    dataset = load_dataset("assist2009_updated", folder, fold=1)
    wanted_students = {"train": 2291, "valid": 630, "test": 1230}
    for split, label in (("train", "train1"), ("valid", "valid1"), ("test", "test")):
        students, interactions = count_three_line(os.path.join(folder, "assist2009_updated_%s.csv" % label))
        expect("%s students (file count %d)" % (split, students), dataset.stats[split + "_students"],
               wanted_students[split])
        expect("%s interactions (= sum of count lines)" % split, dataset.stats[split + "_interactions"],
               interactions)
    expect("skills", dataset.n_skills, 110)
    named = sum(name != skill_id for name, skill_id in zip(dataset.skill_names, dataset.skill_ids))
    expect("skills with a name", named, 110)


def independent_sample_counts(path):
    """The sample's numbers, counted with plain pandas (not with data/assistments.py)."""
    table = pd.read_csv(path)
    with_skill = table[table["skill_id"].notna()]
    unique = with_skill.drop_duplicates(["order_id", "skill_id"])
    skills_per_attempt = unique.groupby("order_id").size()
    kept = unique.drop_duplicates(["order_id"])  # the default multi_skill="first": one row per attempt
    return {"rows": len(table), "no_skill_rows": int(table["skill_id"].isna().sum()),
            "duplicate_rows": len(with_skill) - len(unique),
            "multi_skill_attempts": int((skills_per_attempt > 1).sum()),
            "multi_skill_rows": int(skills_per_attempt[skills_per_attempt > 1].sum()),
            "students": kept["user_id"].nunique(), "interactions": len(kept),
            "n_skills": unique["skill_id"].nunique()}


def check_raw_sample(shared):
    sample = os.path.join(shared, "assistments_raw_sample", "skill_builder_data_sample.csv")
    print("raw ASSISTments sample (%s)" % sample)
    if not os.path.isfile(sample):
        print("  MISSING: %s" % sample)
        FAILURES.append("raw sample missing")
        return
    tmp_dir = tempfile.mkdtemp(prefix="kt_check_")
    try:
        shutil.copy(sample, os.path.join(tmp_dir, "skill_builder_data.csv"))
        dataset = load_from_config(dict(main_constants(), dataset="assistments", dataset_dir=tmp_dir))
    finally:
        shutil.rmtree(tmp_dir)
    report = "\n".join(dataset.report)
    for key, wanted in sorted(independent_sample_counts(sample).items()):
        expect(key, dataset.stats[key], wanted)
        if key != "n_skills":
            expect("  report shows %s" % key, "{:,}".format(wanted) in report, True)
    split_total = sum(dataset.stats[s + "_interactions"] for s in ("train", "valid", "test"))
    expect("splits add up to the interactions", split_total, dataset.stats["interactions"])
    print("  report:\n    " + "\n    ".join(dataset.report))


def check_synthetic(shared):
    folder = os.path.join(shared, "dkvmn", "synthetic")
    print("Synthetic-5 v0 (%s)" % folder)
    dataset = load_dataset("naive_c5_q50_s4000_v0", folder, fold=1)
    expect("skills", dataset.n_skills, 50)
    expect("true concepts read", dataset.true_concepts is not None and len(set(dataset.true_concepts)), 5)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "data")
    shared = os.path.abspath(shared)
    if not os.path.isdir(shared):
        print("shared data folder missing: %s (give its path as the first argument); nothing checked"
              % shared)
        return 2
    check_assist2009(shared)
    check_raw_sample(shared)
    check_synthetic(shared)
    print("FAILED: %s" % ", ".join(FAILURES) if FAILURES else "all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

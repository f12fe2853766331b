"""scripts/export_splits.py: any source -> three-line split files that load back to the same sequences."""
import os
import sys

import pytest

from tiny_runs import load_data

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import export_splits  # noqa: E402

ASSIST_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "assistments")
LOG_TEXT = "".join("u%d\tk%d_k%d\t%d\t2024-01-%02dT10:00:00\n"
                   % (s, (s * t) % 5, (s + t) % 7, (s + t) % 2, t + 1)
                   for s in range(12) for t in range(1 + s % 4))


def _named(dataset, sequences):
    """Sorted (skill names, answers) tuples of some students: comparable across sources."""
    return sorted((tuple(dataset.skill_names[i] for i in seq.skills), tuple(int(a) for a in seq.answers))
                  for seq in sequences)


def _splits(dataset):
    return [("train", dataset.train), ("valid", dataset.valid), ("test", dataset.test)]


def _quiet(*_):
    pass


def _export(argv):
    return export_splits.run(argv, log=_quiet)


@pytest.mark.parametrize("source_argv", [
    ["--dataset", "assistments", "--dataset_dir", ASSIST_DIR],
    ["--dataset", "synthetic", "--synthetic_students", "30", "--synthetic_exercises", "6"],
    ["--dataset", "csv", "--csv_file", "log.tsv", "--csv_student_column", "learner",
     "--csv_skill_column", "kc", "--csv_correct_column", "outcome", "--csv_order_column", "time",
     "--csv_skill_separator", "_", "--multi_skill", "expand"]])
def test_round_trip_gives_the_source_sequences(tmp_path, source_argv):
    (tmp_path / "log.tsv").write_bytes(("learner\tkc\toutcome\ttime\n" + LOG_TEXT).encode("utf-8"))
    if "csv" in source_argv:
        source_argv = source_argv + ["--dataset_dir", str(tmp_path)]
    out = str(tmp_path / "out")
    _export(source_argv + ["--folds", "3", "--out", out, "--name", "mine", "--split_seed", "4"])
    from data import load_from_config
    from utils.config import main_constants, parse_overrides
    source = load_from_config(parse_overrides(source_argv + ["--split_seed", "4"], main_constants()))
    everyone = source.train + source.valid + source.test
    valid_students = []
    for fold in (1, 2, 3):
        exported = load_data("mine", out, fold=fold)
        rest = _named(source, source.train + source.valid)
        assert _named(exported, exported.train + exported.valid) == rest
        assert _named(exported, exported.test) == _named(source, source.test)
        assert _named(exported, exported.train + exported.valid + exported.test) == _named(source, everyone)
        valid_students += _named(exported, exported.valid)
        assert exported.stats["id_base"] == 1
    assert sorted(valid_students) == _named(source, source.train + source.valid)  # folds partition the rest
    names = open(os.path.join(out, "mine_sname_sid"), "rb").read().decode("latin-1").splitlines()
    assert names[0] == "%s\t1" % source.skill_names[0] and len(names) == source.n_skills


def test_one_fold_is_the_source_split_in_order(tmp_path):
    out = str(tmp_path / "out")
    _export(["--dataset", "assistments", "--dataset_dir", ASSIST_DIR, "--folds", "1", "--out", out,
             "--name", "a"])
    source = load_data("assistments", ASSIST_DIR)
    exported = load_data("a", out)
    for (_, mine), (_, theirs) in zip(_splits(exported), _splits(source)):
        assert [list(s.skills) for s in mine] == [list(s.skills) for s in theirs]  # all 5 skills are used
        assert [list(s.answers) for s in mine] == [list(s.answers) for s in theirs]
    assert exported.skill_names == source.skill_names  # latin-1 "Probabilite" with its accent


def test_refuses_to_overwrite_and_bad_arguments(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "s_test.csv").write_text(u"keep me")
    argv = ["--dataset", "synthetic", "--synthetic_students", "20", "--out", str(out), "--name", "s"]
    assert export_splits.cli(argv) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (out / "s_test.csv").read_text() == "keep me"
    assert not (out / "s_train1.csv").exists()
    assert export_splits.cli(argv[:-1] + ["synthetic"]) == 2
    assert export_splits.cli(argv[:-1] + ["t", "--folds", "99"]) == 2
    assert export_splits.cli(argv[:-1] + ["t", "--no_such_constant", "1"]) == 2
    assert "unknown option --no_such_constant" in capsys.readouterr().err


def test_the_fold_option_of_main_is_not_taken_for_folds(tmp_path):
    out = str(tmp_path / "out")
    written = _export(["--dataset", "synthetic", "--synthetic_students", "20", "--fold", "2", "--folds", "2",
                       "--out", out, "--name", "s"])
    assert len(written) == 2 * 2 + 2

"""plots/plot_comparison.py and plots/lib/forest.py: the forest plot of DKVMN - DKT per data set, from tiny
JSON files."""
import json
import os
import subprocess
import sys

import matplotlib.image
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from plots import plot_comparison  # noqa: E402
from plots.lib import forest  # noqa: E402

ACROSS_FOLDS = [
    {"dataset": "assist2009_updated", "difference": -0.004, "low": -0.0052, "high": -0.0028,
     "p_value": 0.0012, "n": 5, "kind": "paired t over folds"},
    {"dataset": "STATICS", "difference": 0.0015, "low": -0.002, "high": 0.005, "p_value": 0.31, "n": 3,
     "kind": "paired t over folds"},
]
# keyed by data set: the entries take their key as data set
PER_FOLD = {"assist2015": {"difference": 0.0021, "low": 0.0008, "high": 0.0034, "p_value": 0.002,
                           "n": 4213, "kind": "paired bootstrap, fold 1"}}
SECOND_FOLD = [{"dataset": "assist2009_updated", "difference": -0.0035, "low": -0.006, "high": -0.001,
                "kind": "paired bootstrap, fold 2"}]


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return str(path)


def test_forest_plot_groups_rows_by_data_set_and_prints_each_interval(tmp_path, capsys):
    inputs = [write(tmp_path, "folds.json", ACROSS_FOLDS), write(tmp_path, "fold1.json", PER_FOLD),
              write(tmp_path, "fold2.json", SECOND_FOLD)]
    out = tmp_path / "figures"
    assert plot_comparison.main(inputs + ["--out", str(out)]) == 0
    image = matplotlib.image.imread(str(out / "7_model_difference.png"))
    assert image.shape[0] > 400 and image.shape[1] > 1200
    lines = capsys.readouterr().out.strip().splitlines()
    # the second assist2009_updated entry joins its data set's block, before STATICS
    assert [line.split()[0] for line in lines[:4]] == ["assist2009_updated", "assist2009_updated", "STATICS",
                                                        "assist2015"]
    assert lines[0].endswith("-0.0040 [-0.0052, -0.0028]  p = 0.0012  n = 5")
    assert lines[1].endswith("-0.0035 [-0.0060, -0.0010]")  # no p, no n
    assert "paired bootstrap, fold 1" in lines[3] and lines[3].endswith("p = 0.002  n = 4213")
    assert lines[4] == "wrote %s" % (out / "7_model_difference.png")


def test_rows_top_to_bottom_and_the_intervals_that_exclude_zero(tmp_path):
    entries = forest.read_entries([write(tmp_path, "all.json", ACROSS_FOLDS + SECOND_FOLD)])
    rows = forest.draw_forest(entries, str(tmp_path / "forest.svg"))
    assert [y for y, _ in rows] == [3, 2, 1]
    assert [(e["dataset"], e["kind"]) for _, e in rows] == [
        ("assist2009_updated", "paired t over folds"), ("assist2009_updated", "paired bootstrap, fold 2"),
        ("STATICS", "paired t over folds")]
    assert [forest.excludes_zero(e) for _, e in rows] == [True, True, False]
    with open(str(tmp_path / "forest.svg")) as f:
        assert "<svg" in f.read()


@pytest.mark.parametrize("content, message", [
    ({"x": [1, 2]}, "entry \"x\": expected an object"),
    ([{"difference": 0.1, "low": 0, "high": 0.2}], "entry 1: needs \"dataset\""),
    ([{"dataset": "a", "difference": 0.1, "low": 0}], "entry 1: \"high\" must be a finite number, got null"),
    ([{"dataset": "a", "difference": 0.3, "low": 0, "high": 0.2}], "expected low <= difference <= high"),
    ([{"dataset": "a", "difference": "0.1", "low": 0, "high": 0.2}], "\"difference\" must be a finite"),
    ([{"dataset": "a", "difference": 0.1, "low": 0, "high": 0.2, "p_value": 1.5}], "must lie in [0, 1]"),
    ([{"dataset": "a", "difference": 0.1, "low": 0, "high": 0.2, "n": 2.5}], "\"n\" must be a whole number"),
    ([], "hold no entry"),
    (3, "expected a list of entries or an object of entries, got int"),
])
def test_bad_entries_are_one_error_line_and_write_nothing(tmp_path, capsys, content, message):
    out = tmp_path / "out"
    assert plot_comparison.main([write(tmp_path, "bad.json", content), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and len(captured.err.strip().splitlines()) == 1
    assert message in captured.err and captured.out == ""
    assert not out.exists()


def test_missing_and_malformed_files_are_one_error_line(tmp_path, capsys):
    assert plot_comparison.main([str(tmp_path / "none.json"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read %s" % (tmp_path / "none.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("[{\"dataset\": ")
    assert plot_comparison.main([str(broken), "--out", str(tmp_path)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_the_script_runs_from_the_repo_root_without_tensorflow(tmp_path):
    path = write(tmp_path, "folds.json", ACROSS_FOLDS)
    code = ("import runpy, sys; sys.argv = ['plot_comparison.py', %r, '--out', %r, '--format', 'pdf']\n"
            "try:\n    runpy.run_path('plots/plot_comparison.py', run_name='__main__')\n"
            "except SystemExit as end:\n    assert end.code == 0, end.code\n"
            "assert 'tensorflow' not in sys.modules\n" % (path, str(tmp_path)))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 0, done.stderr
    with open(str(tmp_path / "7_model_difference.pdf"), "rb") as f:
        assert f.read(5) == b"%PDF-"

"""Progress bars (data/progress.py): shown on a terminal, silent elsewhere, and never change a result."""
import io
import os
import sys

import pandas as pd

import main
from data.progress import progress, shows_progress
from tiny_runs import quiet, tiny_config


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal and keeps what is written to it."""

    def isatty(self):
        return True


def test_only_a_terminal_shows_progress(tmp_path):
    assert shows_progress(FakeTerminal())
    assert not shows_progress(io.StringIO())  # a pipe or a captured stream
    with open(str(tmp_path / "log.txt"), "w") as log_file:  # a log file (CI, nohup)
        assert not shows_progress(log_file)
    log_file_closed = open(str(tmp_path / "log.txt"))
    log_file_closed.close()
    assert not shows_progress(log_file_closed)
    assert not shows_progress(object())  # no isatty at all


def test_a_bar_shows_its_count_and_rate_on_a_terminal_and_nothing_elsewhere():
    terminal, captured = FakeTerminal(), io.StringIO()
    assert list(progress(range(7), "reading KT1", unit="file", stream=terminal)) == list(range(7))
    assert list(progress(range(7), "reading KT1", unit="file", stream=captured)) == list(range(7))
    shown = terminal.getvalue()
    assert "reading KT1" in shown and "/7" in shown and "file/s" in shown
    assert captured.getvalue() == ""
    with progress(None, "scoring", total=3, stream=captured) as bar:  # a manual bar, as scoring uses
        bar.update(3)
    with progress(None, "scoring", total=3, stream=terminal) as bar:
        bar.update(3)
    assert captured.getvalue() == "" and "scoring" in terminal.getvalue()


def test_the_bar_follows_stderr_as_it_is_when_the_bar_starts(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    list(progress(range(3), "loading"))
    assert "loading" in terminal.getvalue()


def _run_with_stderr(tmp_path, monkeypatch, stream, name):
    monkeypatch.setattr(sys, "stderr", stream)
    run_dir, summary = main.run(tiny_config(model="dkt", epochs=2, runs_dir=str(tmp_path / name)),
                                log=quiet)
    return pd.read_csv(os.path.join(run_dir, "epochs.csv")), summary


def test_training_on_a_terminal_shows_bars_and_gives_the_same_results(tmp_path, monkeypatch):
    terminal = FakeTerminal()
    with_bars, summary_with_bars = _run_with_stderr(tmp_path, monkeypatch, terminal, "terminal")
    without, summary_without = _run_with_stderr(tmp_path, monkeypatch, io.StringIO(), "log")
    shown = terminal.getvalue()
    assert "epoch 1/2" in shown and "step/s" in shown  # training steps
    assert "epoch 2/2 scoring" in shown and "batch/s" in shown  # the evaluation of an epoch
    columns = [c for c in with_bars.columns if not c.endswith("_seconds")]
    pd.testing.assert_frame_equal(with_bars[columns], without[columns], atol=1e-6, rtol=0)
    for name in ("valid_auc", "test_auc", "test_loss", "best_epoch"):
        assert abs(summary_with_bars[name] - summary_without[name]) <= 1e-6


def test_reading_a_response_log_shows_its_stages_on_a_terminal(tmp_path, monkeypatch):
    from data.response_log import LOAD_STAGES
    from tiny_runs import load_data
    rows = ["%d,%d,%d,%d" % (student, step % 3, (student + step) % 2, step)
            for student in range(12) for step in range(5)]
    (tmp_path / "responses.csv").write_text("student,skill,correct,order\n" + "\n".join(rows) + "\n")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    shown_on_terminal = load_data("csv", str(tmp_path))
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    quiet_load = load_data("csv", str(tmp_path))
    shown = terminal.getvalue()
    assert "reading responses.csv" in shown and "/%d" % len(LOAD_STAGES) in shown
    assert all(stage in shown for stage in LOAD_STAGES), shown   # each stage named as it starts
    assert sys.stderr.getvalue() == ""
    assert [seq.student for seq in shown_on_terminal.train] == [seq.student for seq in quiet_load.train]

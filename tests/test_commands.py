"""utils/commands.py: how a program ends, whatever its body does."""
import pytest

from data import DataError
from utils.commands import DIVERGED_STATUS, USER_ERROR_STATUS, exit_status
from utils.errors import TrainingDiverged


def test_a_body_that_returns_nothing_is_status_0_and_its_own_status_passes_through():
    assert exit_status(lambda: None) == 0
    assert exit_status(lambda: 1) == 1   # e.g. reproduce.py when some of its runs failed
    assert exit_status(lambda: 0) == 0
    with pytest.raises(TypeError, match="returns None or its exit status"):
        exit_status(lambda: "runs/some-run")   # a bug in the program, not an exit status


def test_expected_errors_are_one_error_line_and_their_status(capsys):
    def bad_data():
        raise DataError("responses.csv:3:2: correct must be 0 or 1, got 'x'")

    def diverged():
        raise TrainingDiverged("training diverged in epoch 2")

    assert exit_status(bad_data) == USER_ERROR_STATUS
    assert capsys.readouterr().err == "error: responses.csv:3:2: correct must be 0 or 1, got 'x'\n"
    assert exit_status(diverged) == DIVERGED_STATUS
    assert capsys.readouterr().err.startswith("error: training diverged")


def test_a_failed_write_is_an_expected_error_only_for_a_program_that_says_what_it_writes(capsys):
    def full_disk():
        raise OSError(28, "No space left on device")

    assert exit_status(full_disk, writing="the figures") == USER_ERROR_STATUS
    assert capsys.readouterr().err.startswith("error: cannot write the figures: ")
    with pytest.raises(OSError):
        exit_status(full_disk)

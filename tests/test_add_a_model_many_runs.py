"""The registered third model of tests/test_add_a_model.py also runs under scripts/reproduce.py (on Ray), with
no other change: the many-runs layer reads the model list from the registry too."""
import json
import os

import pytest

from test_add_a_model import copy_of_the_code, program, register

pytest.importorskip("ray")


def test_a_registered_model_runs_under_reproduce_smoke(tmp_path):
    copy_of_the_code(tmp_path)
    register(tmp_path)
    printed = program(tmp_path, os.path.join("scripts", "reproduce.py"), "synthetic", "--models", "counts",
                      "--smoke", "--out", "smoke", "--runs_dir", "runs", "--num_cpus", "1")
    (record_name,) = os.listdir(str(tmp_path / "smoke" / "runs" / "synthetic"))
    record = json.loads((tmp_path / "smoke" / "runs" / "synthetic" / record_name).read_text())
    assert record["model"] == "counts" and 0 <= record["summary"]["test_auc"] <= 1
    assert "| counts |" in printed or "| counts |" in (tmp_path / "smoke" / "synthetic.md").read_text()

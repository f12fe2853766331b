"""plots/plot_knowledge_state.py: the heatmap from predict.py's mastery file, for every model."""
import os

import pytest

import predict
from plots import plot_knowledge_state
from tiny_runs import quiet, tiny_run
from utils import model_registry

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """model -> (run folder, mastery CSV of its test students, one test student)."""
    root = tmp_path_factory.mktemp("runs")
    made = {}
    for model in model_registry.names():
        run_dir = tiny_run(root, model)
        path, result = predict.predict(run_dir, ["--split", "test", "--out", str(root / (model + ".csv"))],
                                       log=quiet)
        made[model] = (run_dir, path, str(result["student"][0]))
    return made


@pytest.mark.parametrize("model", model_registry.names())
@pytest.mark.parametrize("skills", ["touched", "all"])
def test_writes_a_png(runs, model, skills, tmp_path):
    run_dir, mastery, student = runs[model]
    assert plot_knowledge_state.main([run_dir, "--student", student, "--mastery", mastery,
                                      "--skills", skills, "--out", str(tmp_path)]) == 0
    path = tmp_path / ("knowledge_state_%s.png" % student)
    with open(str(path), "rb") as f:
        assert f.read(8) == PNG_MAGIC
    assert os.path.getsize(str(path)) > 10000


def test_rows_are_grouped_by_dkvmn_cluster(runs):
    run_dir, mastery, student = runs["dkvmn"]
    steps, skill_ids = plot_knowledge_state.read_mastery(mastery, student)
    rows = plot_knowledge_state.skill_rows(run_dir, skill_ids, set(steps["skill_id"]))
    clusters = [cluster for _, _, cluster in rows]
    assert None not in clusters and clusters == sorted(clusters)
    assert set(skill_id for skill_id, _, _ in rows) == set(steps["skill_id"])
    dkt_rows = plot_knowledge_state.skill_rows(runs["dkt"][0], skill_ids, None)  # no weights
    assert [row[0] for row in dkt_rows] == skill_ids and dkt_rows[0][2] is None


def test_unknown_student_is_a_one_line_error(runs, tmp_path, capsys):
    run_dir, mastery, student = runs["dkt"]
    for source in (["--mastery", mastery], []):  # the mastery file, or the run's test split
        argv = [run_dir, "--student", "nobody", "--out", str(tmp_path)] + source
        assert plot_knowledge_state.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: student nobody is not in") and student in err
        assert len(err.strip().splitlines()) == 1
    assert not os.path.exists(str(tmp_path / "knowledge_state_nobody.png"))
    assert plot_knowledge_state.main([str(tmp_path), "--student", student]) == 2
    assert "not a run folder" in capsys.readouterr().err

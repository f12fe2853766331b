"""A third model is one file plus one registry line: registered in a copy of the repository as a user would
(models/counts.py and one line in utils/model_registry.py's ENTRIES, nothing else), it trains with main.py and
goes through evaluate.py, predict.py, export.py and plots/plot_results.py, each run as a program."""
import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE_DIRS = ("data", "models", "utils", "plots", "experiments", "scripts")  # with the top-level programs

# Performance Factors Analysis (Pavlik et al. 2009): P(correct) is a logistic function of the skill and of the
# student's past successes and failures on it. No hyperparameter of its own, so no constant in main.py.
COUNTS_MODEL = '''"""Counts: logistic in each skill's past successes and failures (PFA, Pavlik 2009)."""
import tensorflow.compat.v1 as tf

HPARAMS = ()


def parameters(n_skills, hparams):
    return dict((name, tf.get_variable(name, [n_skills], initializer=tf.zeros_initializer()))
                for name in ("easiness", "per_success", "per_failure"))


def _logits(params, successes, failures):
    return params["easiness"] + params["per_success"] * successes + params["per_failure"] * failures


def _counts(skills, answers, n_skills, exclusive):
    seen = tf.one_hot(skills, n_skills)                                    # [B, T, n_skills]
    right = seen * tf.cast(answers, tf.float32)[:, :, None]
    return (seen, tf.cumsum(right, axis=1, exclusive=exclusive),
            tf.cumsum(seen - right, axis=1, exclusive=exclusive))


def build(skills, answers, n_skills, hparams, training, batch_parts=1):
    with tf.variable_scope("counts"):
        params = parameters(n_skills, hparams)
    seen, successes, failures = _counts(skills, answers, n_skills, exclusive=True)
    return {"logits": tf.reduce_sum(seen * _logits(params, successes, failures), axis=2)}


def knowledge_state(skills, answers, n_skills, hparams):
    with tf.variable_scope("counts", reuse=True):
        params = parameters(n_skills, hparams)
    _, successes, failures = _counts(skills, answers, n_skills, exclusive=False)
    return tf.sigmoid(_logits(params, successes, failures))


def knowledge_state_floats(n_skills, hparams):
    return 4 * n_skills


def state_size(n_skills, hparams):
    return 2 * n_skills


def state_layout(hparams):
    return "state[:n_skills] = successes on each skill, state[n_skills:] = failures"


def state_tables(n_skills, hparams):
    return {}


def initial_state(n_skills, hparams):
    return tf.zeros([2 * n_skills])


def predict_from_state(states, skills, tables, n_skills, hparams):
    with tf.variable_scope("counts", reuse=True):
        params = parameters(n_skills, hparams)
    logits = _logits(params, states[:, :n_skills], states[:, n_skills:])    # [B, n_skills]
    return tf.sigmoid(tf.reduce_sum(tf.one_hot(skills, n_skills) * logits[:, None, :], axis=2))


def update_state(states, skills, answers, tables, n_skills, hparams):
    seen = tf.one_hot(skills, n_skills)
    right = seen * tf.cast(answers, tf.float32)[:, None]
    return states + tf.concat([right, seen - right], axis=1)
'''
REGISTRY_LINE = '    ModelEntry("counts", "models.counts", "Counts", "Performance Factors Analysis"),\n'
TINY_RUN = ["--model", "counts", "--synthetic_students", "60", "--synthetic_exercises", "6",
            "--synthetic_concepts", "2", "--seq_len", "4", "--batch_size", "16", "--epochs", "1",
            "--threads", "1", "--data_cache", "false"]


def copy_of_the_code(into):
    """The repository's code (not its results, runs or virtual environments) copied into `into`."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in CODE_DIRS:
        shutil.copytree(os.path.join(ROOT, folder), str(into / folder), ignore=skip)
    for name in os.listdir(ROOT):
        if name.endswith(".py"):
            shutil.copy(os.path.join(ROOT, name), str(into / name))


def register(repo):
    """What a user does: the model's file, and its line at the end of ENTRIES."""
    (repo / "models" / "counts.py").write_text(COUNTS_MODEL)
    path = repo / "utils" / "model_registry.py"
    lines = path.read_text().splitlines(True)
    start = lines.index("ENTRIES = (\n")
    end = start + lines[start:].index(")\n")
    path.write_text("".join(lines[:end] + [REGISTRY_LINE] + lines[end:]))


def program(repo, *argv):
    """Runs a program of the copy; returns its stdout (a failure shows its stderr)."""
    env = dict(os.environ, PYTHONPATH="", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable] + list(argv), cwd=str(repo), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert done.returncode == 0, "%s failed:\n%s" % (" ".join(argv), done.stderr[-3000:])
    return done.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("clone")
    copy_of_the_code(repo)
    register(repo)
    return repo


def test_a_registered_model_trains_evaluates_predicts_exports_and_plots(repo):
    program(repo, "main.py", "--runs_dir", "runs", *TINY_RUN)
    (run_name,) = os.listdir(str(repo / "runs"))
    run_dir = os.path.join("runs", run_name)
    summary = json.loads((repo / run_dir / "summary.json").read_text())
    assert summary["model"] == "counts" and 0 <= summary["test_auc"] <= 1
    assert not (repo / run_dir / "correlation_weights.csv").exists()  # none to write: not a required output

    program(repo, "evaluate.py", run_dir)
    (evaluation,) = os.listdir(str(repo / run_dir / "evaluations"))
    metrics = json.loads((repo / run_dir / "evaluations" / evaluation / "metrics.json").read_text())
    assert metrics["model"] == "counts" and metrics["auc"] == pytest.approx(summary["test_auc"], abs=1e-6)

    program(repo, "predict.py", run_dir, "--split", "test", "--out", "mastery.csv")
    mastery = pd.read_csv(str(repo / "mastery.csv"))
    assert len(mastery) == len(pd.read_csv(str(repo / run_dir / "predictions.csv")))
    assert [c for c in mastery.columns if c.startswith("mastery_")] == ["mastery_%d" % q for q in range(6)]

    program(repo, "export.py", run_dir, "--out", "export")
    described = json.loads((repo / "export" / "export.json").read_text())
    assert (described["model"], described["state_size"]) == ("counts", 12)

    printed = program(repo, os.path.join("plots", "plot_results.py"), run_dir, "--out", "figures")
    assert "Counts" in printed and (repo / "figures" / "5_test_auc.png").is_file()

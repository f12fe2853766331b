"""The exported model refuses what it cannot answer, and the programs that read a finished run (evaluate.py,
predict.py, export.py) end a damaged checkpoint or a failed write with one `error:` line, leaving nothing
half-written behind.

The signatures are tried in-process (utils.serving.ServingModel, which feeds through session.run as the TF1
loader does) and through plain TensorFlow's loaders in a process that cannot import this repository: the TF1
session loader and tf.saved_model.load (tf.compat.v2 on TF 1.14, eager) on both legs. The failed writes are
real: a file where a folder must be, a file-size limit (RLIMIT_FSIZE: the operating system refuses a write
past it, as on a full disk), a real SIGKILL of an export.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import evaluate
import export
import predict
from tiny_runs import quiet
from utils import run_files, serving
from utils.errors import RunFolderError
from utils.serving import ServingModel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_error_line(capsys):
    """The one `error:` line a program ended with (after what it reported on the way, e.g. the data read)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error")] == lines[-1:], err
    return lines[-1]


@pytest.fixture(scope="module")
def exported(trained_runs, tmp_path_factory):
    """(run folder, TrainedModel, export folder) of the tiny DKVMN run."""
    run_dir, trained = trained_runs["dkvmn"]
    folder = str(tmp_path_factory.mktemp("exported") / "dkvmn")
    export.export(run_dir, ["--out", folder], log=quiet, model=trained)
    return run_dir, trained, folder


# -- the serving graph, in-process -------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["dkvmn", "dkt"])
def test_step_refuses_rows_that_differ_and_a_state_that_is_not_finite(trained_runs, model):
    _, trained = trained_runs[model]
    with ServingModel(trained) as server:
        two = server.run("initial_state", batch_size=2)["state"]
        for state, skill, answer in ((two, [1], [1]), (two[:1], [1, 2], [1, 0]), (two, [1, 2], [1])):
            with pytest.raises(tf.errors.InvalidArgumentError, match="one row per student"):
                server.run("step", state=state, skill=skill, answer=answer)
        for bad in (np.nan, np.inf, -np.inf):
            state = two.copy()
            state[1, 0] = bad
            with pytest.raises(tf.errors.InvalidArgumentError, match="state must be finite"):
                server.run("step", state=state, skill=[1, 2], answer=[1, 0])
        out = server.run("step", state=two, skill=[1, 2], answer=[1, 0])  # what is valid still answers
        assert out["new_state"].shape == two.shape and np.isfinite(out["p"]).all()


def test_integer_inputs_reach_the_graph_as_sent(exported):
    _, trained, _ = exported
    with ServingModel(trained) as server:
        state = server.run("initial_state", batch_size=1)["state"]
        # An int64 value past int32: the graph sees it (fed to int32 it would wrap to skill 3 and pass).
        for skill, answer in (([2 ** 32 + 3], [1]), ([3], [2 ** 32 + 1]), ([-2 ** 40], [0])):
            with pytest.raises(tf.errors.InvalidArgumentError, match="skill indices must be in"):
                server.run("step", state=state, skill=np.array(skill, np.int64),
                           answer=np.array(answer, np.int64))
        with pytest.raises(tf.errors.InvalidArgumentError, match="batch_size must be in"):
            server.run("initial_state", batch_size=np.int64(2 ** 32 + 1))
        # A float that is not a whole number: refused before session.run would cast it to 3.
        for skill in ([3.7], [np.nan]):
            with pytest.raises(ValueError, match="skill takes whole numbers"):
                server.run("step", state=state, skill=skill, answer=[1])
        whole = server.run("step", state=state, skill=[3.0], answer=[1.0])["p"]
        np.testing.assert_array_equal(whole, server.run("step", state=state, skill=[3], answer=[1])["p"])


def test_history_lengths_outside_the_rows_are_refused_not_cut(exported):
    _, trained, _ = exported
    skills = np.array([[1, 2, 3], [4, 5, 0]])
    answers = np.array([[1, 0, 1], [0, 1, 0]])
    with ServingModel(trained) as server:
        for lengths in ([4, 2], [3, -1], [2 ** 32 + 1, 2]):
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"lengths must be in \[0, T\]"):
                server.run("predict_history", skills=skills, answers=answers, lengths=np.array(lengths))
        with pytest.raises(tf.errors.InvalidArgumentError, match="one length per row"):
            server.run("predict_history", skills=skills, answers=answers, lengths=[3, 2, 1])
        with pytest.raises(tf.errors.InvalidArgumentError, match="the same shape"):
            server.run("predict_history", skills=skills, answers=answers[:, :2], lengths=[2, 2])
        full = server.run("predict_history", skills=skills, answers=answers, lengths=[3, 2])
        assert full["p"].shape == (2, 3) and full["p"][1, 2] == 0


@pytest.mark.parametrize("model", ["dkvmn", "dkt"])
def test_an_empty_history_answers_as_the_initial_state(trained_runs, model):
    _, trained = trained_runs[model]
    with ServingModel(trained) as server:
        initial = server.run("initial_state", batch_size=2)["state"]
        empty = server.run("predict_history", skills=np.zeros((2, 0), np.int64),
                           answers=np.zeros((2, 0), np.int64), lengths=[0, 0])
        unanswered = server.run("predict_history", skills=[[0], [0]], answers=[[0], [0]], lengths=[0, 0])
    assert empty["p"].shape == (2, 0)
    np.testing.assert_array_equal(empty["final_state"], initial)
    np.testing.assert_allclose(empty["knowledge_state"], unanswered["knowledge_state"], atol=1e-7)
    assert empty["knowledge_state"].shape == (2, trained.n_skills)


# -- the same through plain TensorFlow's loaders ----------------------------------------------------------

# Loads an export with the loader named in argv (session: TF1's, as the README's client; function: TF 2.x's
# tf.saved_model.load, which TF 1.14 has as tf.compat.v2) and prints, for each case, "ok" and what it gave,
# or the error's type and message.
PROBE = r'''
import json
import os
import sys

import numpy as np
import tensorflow as tf

export_dir, loader = sys.argv[1:]
visible = [p for p in sys.path if os.path.isfile(os.path.join(p or ".", "models", "dkvmn.py"))]
assert not visible, "the repository is importable from %s" % visible
if loader == "session":
    session = tf.compat.v1.Session(graph=tf.Graph())
    with session.graph.as_default():
        signatures = tf.compat.v1.saved_model.loader.load(session, ["serve"], export_dir).signature_def

    def call(name, **inputs):
        signature = signatures[name]
        return session.run(dict((key, info.name) for key, info in signature.outputs.items()),
                           dict((signature.inputs[key].name, value) for key, value in inputs.items()))
else:
    if tf.__version__.startswith("1."):  # TF 1.14 has the 2.x loader, eager only
        tf.compat.v1.enable_eager_execution()
    loaded = tf.compat.v2.saved_model.load(export_dir)

    def call(name, **inputs):
        function = loaded.signatures[name]
        # the dtypes of the arrays (int64, float32): TF 1.14's signatures do not say theirs
        tensors = dict((key, tf.constant(np.asarray(value))) for key, value in inputs.items())
        outputs = function(**tensors)
        return dict((key, value.numpy()) for key, value in outputs.items())

two = call("initial_state", batch_size=2)["state"]
nan = two.copy()
nan[0, 0] = np.nan
square = np.zeros((2, 3), np.int64)


def history(lengths):
    return call("predict_history", skills=square, answers=square, lengths=np.array(lengths))


cases = {
    "rows_differ": lambda: call("step", state=two, skill=np.array([1]), answer=np.array([1])),
    "past_int32": lambda: call("step", state=two[:1], skill=np.array([2 ** 32 + 3]), answer=np.array([1])),
    "nan_state": lambda: call("step", state=nan, skill=np.array([1, 2]), answer=np.array([1, 0])),
    "length_above_T": lambda: history([4, 1]),
    "negative_length": lambda: history([-1, 1]),
    "empty_history": lambda: call("predict_history", skills=np.zeros((2, 0), np.int64),
                                  answers=np.zeros((2, 0), np.int64), lengths=np.array([0, 0])),
}
if loader == "function":  # a float tensor, not cast by the caller
    cases["float_skill"] = lambda: loaded.signatures["step"](
        state=tf.constant(two[:1]), skill=tf.constant([3.7]), answer=tf.constant([1], tf.int64))
report = {}
for name, case in cases.items():
    try:
        out = case()
        report[name] = "ok"
        if name == "empty_history":
            report[name] = {"p_shape": list(out["p"].shape),
                            "final_is_initial": bool(np.array_equal(out["final_state"], two))}
    except Exception as error:
        report[name] = "%s: %s" % (type(error).__name__, " ".join(str(error).split())[:400])
print(json.dumps(report))
'''


def plain_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.parametrize("loader", ["session", "function"])
def test_plain_tensorflow_loaders_refuse_what_the_export_cannot_answer(exported, loader, tmp_path):
    _, _, folder = exported
    (tmp_path / "probe.py").write_text(PROBE)
    result = subprocess.run([sys.executable, "probe.py", folder, loader], cwd=str(tmp_path), env=plain_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    refused = {"rows_differ": "one row per student", "past_int32": "skill indices must be in",
               "nan_state": "state must be finite", "length_above_T": "lengths must be in [0, T]",
               "negative_length": "lengths must be in [0, T]"}
    for case, message in refused.items():
        assert report[case].startswith("InvalidArgumentError: ") and message in report[case], (case, report)
    assert report["empty_history"] == {"p_shape": [2, 0], "final_is_initial": True}
    if loader == "function":
        assert report["float_skill"] != "ok"   # an int64 signature takes no float tensor


# -- a missing or damaged selected checkpoint --------------------------------------------------------------

def _selected_checkpoint_files(run_dir, suffix):
    best = run_files.read_json(os.path.join(run_dir, "state.json"))["best_checkpoint"]
    return glob.glob(os.path.join(run_dir, best + suffix))


def _remove_data(run_dir):
    for path in _selected_checkpoint_files(run_dir, ".data-*"):
        os.remove(path)


def _remove_index(run_dir):
    for path in _selected_checkpoint_files(run_dir, ".index"):
        os.remove(path)


def _truncate_data(run_dir):
    (path,) = _selected_checkpoint_files(run_dir, ".data-*")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def _garble_index(run_dir):
    (path,) = _selected_checkpoint_files(run_dir, ".index")
    with open(path, "r+b") as f:
        f.write(b"\xff" * 64)


PROGRAMS = {
    "evaluate": lambda run_dir, tmp: evaluate.main([run_dir]),
    "predict": lambda run_dir, tmp: predict.main([run_dir, "--split", "test", "--out", str(tmp / "p.csv")]),
    "export": lambda run_dir, tmp: export.main([run_dir, "--out", str(tmp / "exported")]),
}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
@pytest.mark.parametrize("damage, named", [(_remove_data, "lacks the file(s)"),
                                           (_remove_index, "lacks the file(s)"),
                                           (_truncate_data, "cannot restore"),
                                           (_garble_index, "cannot restore")])
def test_a_missing_or_damaged_checkpoint_is_one_error_line(trained_runs, tmp_path, capsys, program, damage,
                                                           named):
    run_dir, _ = trained_runs["dkt"]
    copy = str(tmp_path / "run")
    shutil.copytree(run_dir, copy)
    damage(copy)
    before = sorted(os.listdir(copy))
    capsys.readouterr()
    assert PROGRAMS[program](copy, tmp_path) == 2
    line = one_error_line(capsys)
    best = run_files.read_json(os.path.join(copy, "state.json"))["best_checkpoint"]
    assert named in line and best in line and "train the run again" in line, line
    assert sorted(os.listdir(copy)) == before   # no evaluation, prediction or export folder
    assert sorted(os.listdir(str(tmp_path))) == ["run"]


# -- export.py: failed writes and what a killed export left ------------------------------------------------

def test_an_export_into_a_folder_that_cannot_be_made_is_one_error_line(exported, tmp_path, capsys):
    run_dir, _, _ = exported
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where the export's parent folder should be")
    assert export.main([run_dir, "--out", str(blocked / "exports" / "kt")]) == 2
    line = one_error_line(capsys)
    assert "cannot write the export %s" % (blocked / "exports" / "kt") in line and "--out" in line
    assert sorted(os.listdir(str(tmp_path))) == ["a-file"]


# Runs export.py's main with a limit on the size of any file it writes: the write that passes it fails as on a
# full disk (Python ignores SIGXFSZ, so the write returns EFBIG).
LIMITED_EXPORT = r'''
import resource
import sys

sys.path.insert(0, sys.argv[1])
import export
limit = int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.exit(export.main([sys.argv[2], "--out", sys.argv[3]]))
'''


@pytest.mark.parametrize("limit", [0, 2000])
def test_an_export_on_a_full_disk_is_one_error_line_and_leaves_nothing(exported, tmp_path, limit):
    run_dir, _, _ = exported
    out = tmp_path / "exports" / "kt"
    out.parent.mkdir()
    result = subprocess.run([sys.executable, "-c", LIMITED_EXPORT, REPO, run_dir, str(out), str(limit)],
                            cwd=REPO, env=plain_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("error: cannot write the export %s" % out) and "free space" in lines[0]
    assert os.listdir(str(out.parent)) == []   # neither the export nor its hidden partial folder


# Runs export.py's main and kills its process with SIGKILL once the SavedModel is written, before the export
# is renamed into place: what a kill during an export leaves. The hook lives here, in the test.
KILLED_EXPORT = r'''
import os
import signal
import sys

sys.path.insert(0, sys.argv[1])
import export
from utils import serving

write_saved_model = serving.write_saved_model


def write_then_die(*args):
    write_saved_model(*args)
    os.kill(os.getpid(), signal.SIGKILL)


serving.write_saved_model = write_then_die
export.main([sys.argv[2], "--out", sys.argv[3]])
'''


def test_the_next_export_removes_what_a_killed_export_left_and_nothing_else(exported, tmp_path):
    run_dir, trained, _ = exported
    parent = tmp_path / "exports"
    parent.mkdir()
    result = subprocess.run([sys.executable, "-c", KILLED_EXPORT, REPO, run_dir, str(parent / "first")],
                            cwd=REPO, env=plain_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-3000:]
    (left,) = os.listdir(str(parent))
    assert left.startswith(".first.partial-")
    assert os.path.isfile(str(parent / left / "export" / "saved_model.pb"))

    look_alike = parent / ".mine.partial-1"      # named like ours, but without our marker: not ours
    look_alike.mkdir()
    (look_alike / "notes.txt").write_text("someone's")
    lines = []
    with serving.partial_export(str(parent), "busy"):   # an export that is still being written: locked
        (busy,) = [name for name in os.listdir(str(parent)) if name.startswith(".busy.partial-")]
        export.export(run_dir, ["--out", str(parent / "second")], log=lines.append, model=trained)
        assert sorted(os.listdir(str(parent))) == sorted([busy, ".mine.partial-1", "second"])
    assert [line for line in lines if "removed" in line] == [
        "removed %s: what an export that was stopped before its end left" % (parent / left)]
    assert (look_alike / "notes.txt").read_text() == "someone's"
    assert sorted(os.listdir(str(parent))) == [".mine.partial-1", "second"]   # the busy one cleaned up itself


def test_export_json_has_the_format_version(exported):
    _, _, folder = exported
    described = run_files.read_json(os.path.join(folder, "export.json"))
    assert described["format_version"] == serving.FORMAT_VERSION == 2
    assert "int64" in described["inputs"]


# -- evaluate.py on a run folder it cannot write -----------------------------------------------------------

def test_evaluate_on_a_run_folder_it_cannot_write_advises_an_option_it_takes(exported, tmp_path, capsys):
    run_dir, trained, _ = exported
    copy = tmp_path / "run"
    shutil.copytree(run_dir, str(copy))
    shutil.rmtree(str(copy / "evaluations"), ignore_errors=True)
    (copy / "evaluations").write_text("a file where the evaluations folder should be")
    assert evaluate.main([str(copy)]) == 2
    line = one_error_line(capsys)
    assert "cannot create an evaluation folder in %s" % (copy / "evaluations") in line
    assert "--evaluations_dir" in line and "--runs_dir" not in line
    elsewhere = tmp_path / "elsewhere"
    out_dir, report = evaluate.evaluate(str(copy), ["--evaluations_dir", str(elsewhere)], log=quiet,
                                        model=trained)
    assert os.path.dirname(out_dir) == str(elsewhere)
    assert os.path.isfile(os.path.join(out_dir, "metrics.json"))
    with pytest.raises(RunFolderError, match="--evaluations_dir"):
        evaluate.evaluate(str(copy), ["--evaluations_dir", str(copy / "evaluations" / "x")], log=quiet,
                          model=trained)

"""export.py, utils/serving.py and evaluate.py --carry_state: a SavedModel that plain TensorFlow loads without
this repository, that agrees with predict.py, whose answer-by-answer `step` equals its whole-history
`predict_history` past SEQ_LEN (no cut), and the client of docs/serving.md, run as written."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import evaluate
import export
import predict
from data import load_from_config
import models
from tiny_runs import TINY, quiet
from utils import model_registry
from utils.serving import SIGNATURES, ServingModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEQ_LEN = TINY["seq_len"]

# Run in a fresh process from a temporary folder: plain TensorFlow, no repository on sys.path. For each export
# in turn, feeds the padded histories of its request.json to predict_history, and again answer by answer
# through initial_state and step; writes both to its reply.json.
LOADER = r'''
import json
import os
import sys

import numpy as np
import tensorflow as tf

visible = [p for p in sys.path if os.path.isfile(os.path.join(p or ".", "models", "dkvmn.py"))]
assert not visible, "the repository is importable from %s" % visible


def serve(export_dir, request_path, reply_path):
    with open(request_path) as f:
        request = json.load(f)

    if tf.__version__.startswith("1."):
        session = tf.compat.v1.Session(graph=tf.Graph())
        with session.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], export_dir)

        def call(name, **inputs):
            signature = meta_graph.signature_def[name]
            fetches = dict((key, info.name) for key, info in signature.outputs.items())
            feeds = dict((signature.inputs[key].name, value) for key, value in inputs.items())
            return session.run(fetches, feeds)
    else:
        loaded = tf.saved_model.load(export_dir)

        def call(name, **inputs):
            function = loaded.signatures[name]
            specs = function.structured_input_signature[1]
            tensors = dict((key, tf.constant(value, specs[key].dtype)) for key, value in inputs.items())
            outputs = function(**tensors)
            return dict((key, value.numpy()) for key, value in outputs.items())

    skills, answers, lengths = (np.array(request[key], np.int32) for key in ("skills", "answers", "lengths"))
    history = call("predict_history", skills=skills, answers=answers, lengths=lengths)
    state = call("initial_state", batch_size=len(skills))["state"]
    step_p = np.zeros(skills.shape, np.float32)
    knowledge = np.zeros(history["knowledge_state"].shape, np.float32)
    for t in range(skills.shape[1]):
        out = call("step", state=state, skill=skills[:, t], answer=answers[:, t])
        active = t < lengths
        step_p[:, t] = np.where(active, out["p"], 0.0)
        state = np.where(active[:, None], out["new_state"], state)
        knowledge = np.where(active[:, None], out["knowledge_state"], knowledge)
    reply = {"tensorflow": tf.__version__, "history_p": history["p"].tolist(),
             "history_final_state": history["final_state"].tolist(),
             "history_knowledge_state": history["knowledge_state"].tolist(), "step_p": step_p.tolist(),
             "step_final_state": state.tolist(), "step_knowledge_state": knowledge.tolist()}
    with open(reply_path, "w") as f:
        json.dump(reply, f)


arguments = sys.argv[1:]  # export folder, request, reply: for each export in turn
for start in range(0, len(arguments), 3):
    serve(*arguments[start:start + 3])
'''


def plain_env():
    """The environment of a process that must not see the repository (no PYTHONPATH)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def run_outside_repo(folder, args):
    result = subprocess.run([sys.executable] + args, cwd=str(folder), env=plain_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    return result


@pytest.fixture(scope="module")
def exports(trained_runs, tmp_path_factory):
    """model -> export folder, written by export.py's command line."""
    root = tmp_path_factory.mktemp("exports")
    folders = {}
    for model, (run_dir, _) in trained_runs.items():
        folders[model] = str(root / model)
        assert export.main([run_dir, "--out", folders[model]]) == 0
    return folders


def histories(trained):
    """(short, whole) test histories of a run, (student, skills, answers) each: short ones within SEQ_LEN
    (where predict.py's chunks do not matter) and whole ones (12 answers > SEQ_LEN)."""
    test = load_from_config(trained.config).test
    short = [(seq.student, seq.skills[:3 + i % (SEQ_LEN - 3)], seq.answers[:3 + i % (SEQ_LEN - 3)])
             for i, seq in enumerate(test[:10])]
    whole = [(seq.student, seq.skills, seq.answers) for seq in test[10:16]]
    return short, whole


@pytest.fixture(scope="module")
def replies(trained_runs, exports, tmp_path_factory):
    """model -> LOADER's reply for its export, fed its run's `histories`: one process of plain TensorFlow
    loads every export in turn (its start and TensorFlow's import cost seconds each)."""
    folder = tmp_path_factory.mktemp("loader")
    (folder / "loader.py").write_text(LOADER)
    arguments = []
    for model, (_, trained) in trained_runs.items():
        short, whole = histories(trained)
        request = folder / (model + "-request.json")
        request.write_text(json.dumps(padded([(s, a) for _, s, a in short + whole])))
        arguments += [exports[model], str(request), str(folder / (model + "-reply.json"))]
    result = run_outside_repo(folder, ["loader.py"] + arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict((model, json.loads((folder / (model + "-reply.json")).read_text())) for model in exports)


def carried_differs_from_cut(model, histories):
    """Whether a state carried past SEQ_LEN can predict otherwise than one cut there (models/__init__.py):
    the model reads earlier answers on other ids, or only the id's own and some id of `histories` (skill
    lists) answered after the cut was answered in an earlier chunk. IRT reads none: cut == carried."""
    if not models.reads_history(model):
        return False
    if models.reads_other_ids(model):
        return True
    return any(skills[t] in set(skills[:t - t % SEQ_LEN]) for skills in histories
               for t in range(SEQ_LEN, len(skills)))


def padded(histories):
    """skills, answers [B, T] int lists (zero-padded) and lengths [B] for (skills, answers) pairs."""
    width = max(len(skills) for skills, _ in histories)

    def pad(values):
        return [int(v) for v in values] + [0] * (width - len(values))
    return {"skills": [pad(s) for s, _ in histories], "answers": [pad(a) for _, a in histories],
            "lengths": [len(s) for s, _ in histories]}


@pytest.mark.parametrize("model", model_registry.names())
def test_plain_tensorflow_loads_the_export_agrees_with_predict_and_steps_equal_the_history(
        trained_runs, exports, replies, model, tmp_path):
    run_dir, trained = trained_runs[model]
    folder = exports[model]
    with open(os.path.join(folder, "export.json")) as f:
        described = json.load(f)
    state_size = {"dkvmn": TINY["memory_size"] * TINY["value_dim"],   # M^v; (h, c)
                  "dkt": 2 * TINY["hidden_size"]}.get(model)
    state_size = state_size or models.MODELS[model].state_size(trained.n_skills, TINY)
    assert (described["model"], described["n_skills"], described["state_size"]) == (
        model, trained.n_skills, state_size)
    assert set(described["signatures"]) == {"step", "initial_state", "predict_history"}
    exported_skills = pd.read_csv(os.path.join(folder, "skills.csv"), dtype=str)
    assert list(exported_skills["skill_id"]) == trained.skill_ids

    short, whole = histories(trained)
    assert all(len(s) < SEQ_LEN for _, s, _ in short) and all(len(s) > SEQ_LEN for _, s, _ in whole)
    reply = replies[model]
    history_p, step_p = np.array(reply["history_p"]), np.array(reply["step_p"])

    # 1. predict.py on the short histories: the same p at every step, the same knowledge state after the last.
    log = tmp_path / "history.csv"
    rows = [(student, trained.skill_ids[s], int(a), t)
            for student, skills, answers in short for t, (s, a) in enumerate(zip(skills, answers))]
    pd.DataFrame(rows, columns=["student", "skill", "correct", "order"]).to_csv(str(log), index=False)
    _, predicted = predict.predict(run_dir, ["--input", str(log), "--out", str(tmp_path / "p.csv")],
                                   log=quiet, model=trained)
    for row, (student, skills, _) in enumerate(short):
        mine = predicted["student"] == student
        np.testing.assert_allclose(history_p[row, :len(skills)], predicted["p"][mine], atol=1e-5)
        np.testing.assert_allclose(reply["history_knowledge_state"][row], predicted["mastery"][mine][-1],
                                   atol=1e-5)

    # 2. Answer by answer through `step` == the whole history at once, past SEQ_LEN too.
    np.testing.assert_allclose(step_p, history_p, atol=1e-5)
    np.testing.assert_allclose(reply["step_final_state"], reply["history_final_state"], atol=1e-5)
    np.testing.assert_allclose(reply["step_knowledge_state"], reply["history_knowledge_state"], atol=1e-5)

    # 3. No cut: within the first chunk the run's own (chunked) test predictions, after it not.
    theirs = pd.read_csv(os.path.join(run_dir, "predictions.csv"), dtype={"student": str})
    for row, (student, skills, _) in enumerate(whole, len(short)):
        chunked = theirs[theirs["student"] == student].sort_values("position")["p"].values
        assert len(chunked) == len(skills)
        np.testing.assert_allclose(history_p[row, :SEQ_LEN], chunked[:SEQ_LEN], atol=1e-5)
        if carried_differs_from_cut(model, [skills]):
            assert np.abs(history_p[row, SEQ_LEN:len(skills)] - chunked[SEQ_LEN:]).max() > 1e-4
        else:
            np.testing.assert_allclose(history_p[row, SEQ_LEN:len(skills)], chunked[SEQ_LEN:], atol=1e-5)


def signature_blocks(text):
    """saved_model_cli show --all output -> {signature: {("inputs"|"outputs", name): (dtype, shape)}}."""
    blocks = {}
    for name, body in re.findall(r"signature_def\['([^']+)'\]:(.*?)Method name is", text, re.S):
        blocks[name] = dict(((kind + "s", key), (dtype, shape)) for kind, key, dtype, shape in re.findall(
            r"(input|output)s\['([^']+)'\] tensor_info:\s+dtype: (\w+)\s+shape: (\([^)]*\))", body))
    return blocks


def test_saved_model_cli_lists_the_signatures_with_dtypes_and_shapes(trained_runs, exports, tmp_path):
    _, trained = trained_runs["dkvmn"]
    result = run_outside_repo(tmp_path, ["-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir",
                                         exports["dkvmn"], "--all"])
    assert result.returncode == 0, result.stderr[-3000:]
    size, n_skills = "%d" % (TINY["memory_size"] * TINY["value_dim"]), "%d" % trained.n_skills
    expected = {
        "step": {("inputs", "state"): ("DT_FLOAT", "(-1, %s)" % size),
                 ("inputs", "skill"): ("DT_INT64", "(-1)"), ("inputs", "answer"): ("DT_INT64", "(-1)"),
                 ("outputs", "p"): ("DT_FLOAT", "(-1)"),
                 ("outputs", "new_state"): ("DT_FLOAT", "(-1, %s)" % size),
                 ("outputs", "knowledge_state"): ("DT_FLOAT", "(-1, %s)" % n_skills)},
        "initial_state": {("inputs", "batch_size"): ("DT_INT64", "()"),
                          ("outputs", "state"): ("DT_FLOAT", "(-1, %s)" % size)},
        "predict_history": {("inputs", "skills"): ("DT_INT64", "(-1, -1)"),
                            ("inputs", "answers"): ("DT_INT64", "(-1, -1)"),
                            ("inputs", "lengths"): ("DT_INT64", "(-1)"),
                            ("outputs", "p"): ("DT_FLOAT", "(-1, -1)"),
                            ("outputs", "final_state"): ("DT_FLOAT", "(-1, %s)" % size),
                            ("outputs", "knowledge_state"): ("DT_FLOAT", "(-1, %s)" % n_skills)},
    }
    listed = signature_blocks(result.stdout)
    assert listed == expected, result.stdout
    for name, (inputs, outputs) in SIGNATURES.items():   # what export.json describes
        assert set(key for kind, key in listed[name] if kind == "inputs") == set(inputs)
        assert set(key for kind, key in listed[name] if kind == "outputs") == set(outputs)


def test_export_refuses_what_is_not_a_finished_run_and_never_overwrites(trained_runs, exports, tmp_path,
                                                                        capsys):
    run_dir, _ = trained_runs["dkt"]
    assert export.main([]) == 2
    assert "usage" in capsys.readouterr().err
    assert export.main([str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    training = str(tmp_path / "still-training")
    shutil.copytree(run_dir, training)
    os.remove(os.path.join(training, "summary.json"))   # a run writes summary.json when it ends
    assert export.main([training]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "has not finished" in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(os.path.join(training, "export"))

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    assert export.main([run_dir, "--out", str(taken)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert os.listdir(str(taken)) == ["keep.txt"]
    assert not [name for name in os.listdir(str(tmp_path)) if "partial" in name]


def test_default_export_folder_is_a_new_version_number(trained_runs, tmp_path):
    run_dir, trained = trained_runs["dkvmn"]
    copy = str(tmp_path / "run")
    shutil.copytree(run_dir, copy)
    first = export.export(copy, log=quiet, model=trained)
    second = export.export(copy, log=quiet, model=trained)
    assert os.path.dirname(first) == os.path.dirname(second) == os.path.join(copy, "export")
    assert int(os.path.basename(second)) > int(os.path.basename(first))
    assert sorted(os.listdir(first)) == ["export.json", "saved_model.pb", "skills.csv", "variables"]


CLIENT_OPENING = '"""client.py EXPORT_DIR'


def documented_client():
    """The client of the documentation: the ```python block that opens with CLIENT_OPENING, wherever the
    documentation keeps it (README.md or a page under docs/); exactly one such client."""
    pages = [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(folder, name) for folder, _, names in os.walk(os.path.join(ROOT, "docs"))
        for name in names if name.endswith(".md"))
    blocks = set()
    for page in pages:
        with open(page, encoding="utf-8") as f:
            for block in f.read().split("```python\n")[1:]:
                code = block.split("```", 1)[0]
                if code.startswith(CLIENT_OPENING):
                    blocks.add(code)
    assert len(blocks) == 1, "expected one documented client, found %d" % len(blocks)
    return blocks.pop()


def run_client(folder, export_dir, *answers):
    (folder / "client.py").write_text(documented_client())
    return run_outside_repo(folder, ["client.py", export_dir] + list(answers))


def format_1_export(trained, export_dir, folder):
    """An export as format 1 wrote it (int32 inputs; export.json without format_version), of `trained`."""
    import tensorflow.compat.v1 as tf
    from utils.serving import build_serving_graph, write_saved_model
    from utils.trained_model import restore_selected_checkpoint
    graph = tf.Graph()
    with graph.as_default():
        serving = build_serving_graph(trained.kt.model_name, trained.n_skills, trained.kt.hparams,
                                      index_dtype=tf.int32)
        with tf.Session(graph=graph) as session:
            restore_selected_checkpoint(tf.train.Saver(serving.model_variables), session, trained.run_dir,
                                        trained.checkpoint)
            session.run(serving.load_tables)
            write_saved_model(session, serving.signatures, folder)
    shutil.copy(os.path.join(export_dir, "skills.csv"), folder)
    with open(os.path.join(export_dir, "export.json")) as f:
        described = json.load(f)
    del described["format_version"]
    with open(os.path.join(folder, "export.json"), "w") as f:
        json.dump(described, f)
    return folder


def test_the_documented_client_runs_as_written(trained_runs, exports, tmp_path):
    _, trained = trained_runs["dkvmn"]
    answers = [("3", 1), ("7", 0), ("3", 1)]
    result = run_client(tmp_path, exports["dkvmn"], *["%s:%d" % a for a in answers])
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 + 5, result.stdout

    # The same answers through the in-process serving graph of the run.
    index = dict((skill_id, i) for i, skill_id in enumerate(trained.skill_ids))
    with ServingModel(trained) as serving:
        state = serving.run("initial_state", batch_size=1)["state"]
        for line, (skill_id, answer) in zip(lines, answers):
            out = serving.run("step", state=state, skill=[index[skill_id]], answer=[answer])
            printed = re.match(r"skill (\S+): P\(correct\) ([0-9.]+), answered (\d)$", line)
            assert printed and printed.group(1) == skill_id and int(printed.group(3)) == answer, line
            assert abs(float(printed.group(2)) - out["p"][0]) < 1e-4
            state = out["new_state"]
    mastery = out["knowledge_state"][0]
    weakest = [re.match(r"weak: skill (\S+) \(.*\) P\(correct\) ([0-9.]+)$", line) for line in lines[3:]]
    assert [m.group(1) for m in weakest] == [trained.skill_ids[q] for q in np.argsort(mastery)[:5]]
    np.testing.assert_allclose([float(m.group(2)) for m in weakest], np.sort(mastery)[:5], atol=1e-4)

    # An export of the previous format gives the same answers.
    old = format_1_export(trained, exports["dkvmn"], str(tmp_path / "format-1"))
    assert "DT_INT32" in run_outside_repo(tmp_path, ["-m", "tensorflow.python.tools.saved_model_cli", "show",
                                                     "--dir", old, "--all"]).stdout
    again = run_client(tmp_path, old, *["%s:%d" % a for a in answers])
    assert again.returncode == 0 and again.stdout == result.stdout, again.stderr[-3000:]


def test_an_unknown_skill_gets_the_training_rate_flagged_and_leaves_the_state_unchanged(trained_runs, exports,
                                                                                       tmp_path):
    run_dir, trained = trained_runs["dkvmn"]
    with open(os.path.join(exports["dkvmn"], "export.json")) as f:
        fallback = json.load(f)["unknown_skill"]
    train = load_from_config(trained.config).train
    share = np.concatenate([seq.answers for seq in train]).mean()
    assert fallback["p"] == pytest.approx(share) and 0 < share < 1
    with open(os.path.join(run_dir, "config.json")) as f:
        assert json.load(f)["train_correct_rate"] == pytest.approx(share)

    known = run_client(tmp_path, exports["dkvmn"], "3:1", "7:0", "3:1")
    mixed = run_client(tmp_path, exports["dkvmn"], "3:1", "999:0", "7:0", "new-skill:1", "3:1")
    assert known.returncode == 0 and mixed.returncode == 0, mixed.stderr[-3000:]
    known_lines, mixed_lines = known.stdout.splitlines(), mixed.stdout.splitlines()
    for line, skill_id, answer in ((mixed_lines[1], "999", 0), (mixed_lines[3], "new-skill", 1)):
        assert line == ("skill %s: P(correct) %.4f, answered %d (unknown skill: the share of correct answers "
                        "in training; the answer is left out of the state)" % (skill_id, share, answer))
    # the unknown answers changed nothing: the known lines and the weakest skills are those without them
    assert [mixed_lines[i] for i in (0, 2, 4)] + mixed_lines[5:] == known_lines

    only_unknown = run_client(tmp_path, exports["dkvmn"], "999:1")
    assert only_unknown.returncode == 0, only_unknown.stderr[-3000:]
    with ServingModel(trained) as serving:  # no known answer: the weakest skills of a new student
        empty = np.zeros((1, 0), np.int64)
        initial = serving.run("predict_history", skills=empty, answers=empty,
                              lengths=[0])["knowledge_state"][0]
    weakest = [line.split()[2] for line in only_unknown.stdout.splitlines()[1:]]
    assert weakest == [trained.skill_ids[q] for q in np.argsort(initial)[:5]]


# Imports the documented client (its command line runs only as __main__) and feeds `call` a value that
# session.run would cast: the client must refuse it before the model runs.
CLIENT_CALL = r'''
import sys

import numpy as np

import client

for folder in sys.argv[1:]:
    model = client.Export(folder)
    state = model.call("initial_state", batch_size=1)["state"]
    for skill in ([3.7], np.array([2 ** 32 + 3], np.int64), [float("nan")]):
        try:
            model.call("step", state=state, skill=skill, answer=[1])
            print("fed %r" % (skill,))
        except ValueError as error:
            print("refused: %s" % error)
        except Exception as error:
            print("the model refused: %s" % type(error).__name__)
'''


# Runs client.py as `python client.py ARGS...` once per line of cases.json in one process (TensorFlow loads
# once) and prints, per case, what it printed and the exception it ended with.
CLIENT_CASES = r'''
import contextlib
import io
import json
import runpy
import sys

for argv in json.load(open("cases.json")):
    sys.argv, out = ["client.py"] + argv, io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path("client.py", run_name="__main__")
        ended = "ok"
    except Exception as error:
        ended = "%s: %s" % (type(error).__name__, error)
    print(json.dumps({"stdout": out.getvalue(), "ended": ended}))
'''


def test_the_documented_client_checks_its_input_before_the_model_runs(trained_runs, exports, tmp_path):
    _, trained = trained_runs["dkvmn"]
    newer = tmp_path / "format-3"
    shutil.copytree(exports["dkvmn"], str(newer))
    with open(str(newer / "export.json")) as f:
        described = json.load(f)
    described["format_version"] = 3
    (newer / "export.json").write_text(json.dumps(described))
    without_fallback = tmp_path / "without-fallback"
    shutil.copytree(exports["dkvmn"], str(without_fallback))
    described["format_version"] = 2
    described["unknown_skill"] = {"p": None, "rule": "refused"}
    (without_fallback / "export.json").write_text(json.dumps(described))
    cases = (([str(without_fallback), "3:1", "999:0"], "ValueError: unknown skill id '999'"),
             ([exports["dkvmn"], "3:1", "7:2"], "ValueError: '7:2': give SKILL_ID:ANSWER"),
             ([exports["dkvmn"], "3:0.5"], "ValueError: '3:0.5': give SKILL_ID:ANSWER"),
             ([exports["dkvmn"], "3"], "ValueError: '3': give SKILL_ID:ANSWER"),
             ([str(newer), "3:1"], "has export format 3; this client reads formats (1, 2)"))
    (tmp_path / "client.py").write_text(documented_client())
    (tmp_path / "cases.py").write_text(CLIENT_CASES)
    (tmp_path / "cases.json").write_text(json.dumps([argv for argv, _ in cases]))
    result = run_outside_repo(tmp_path, ["cases.py"])
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads(line) for line in result.stdout.strip().splitlines()[-len(cases):]]
    for (argv, message), report in zip(cases, reports):
        assert report["ended"].startswith("ValueError: ") and message in report["ended"], (argv, report)
        assert "P(correct)" not in report["stdout"], (argv, report)   # refused before the model ran

    (tmp_path / "call.py").write_text(CLIENT_CALL)
    old = format_1_export(trained, exports["dkvmn"], str(tmp_path / "format-1"))
    result = run_outside_repo(tmp_path, ["call.py", exports["dkvmn"], old])
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout.strip().splitlines()
    assert len(printed) == 6, result.stdout
    for lines, dtype in ((printed[:3], "int64"), (printed[3:], "int32")):
        assert all(line.startswith("refused: skill takes whole numbers (%s)" % dtype)
                   for line in lines[:1] + lines[2:]), result.stdout
        # past int32 an int64 skill is refused by an int32 export's client, and by an int64 export's graph
        assert lines[1].startswith("refused" if dtype == "int32" else "the model refused: InvalidArgument"), \
            result.stdout


@pytest.mark.parametrize("model", model_registry.names())
def test_evaluate_carry_state_scores_whole_histories(trained_runs, model):
    run_dir, trained = trained_runs[model]
    out_dir, report = evaluate.evaluate(run_dir, ["--carry_state", "true"], log=quiet, model=trained)
    with open(os.path.join(out_dir, "metrics.json")) as f:
        written = json.load(f)
    assert written["carry_state"] is True and "carried" in written["state"]
    carried = pd.read_csv(os.path.join(out_dir, "predictions.csv"), dtype={"student": str})
    chunked = pd.read_csv(os.path.join(run_dir, "predictions.csv"), dtype={"student": str})
    assert list(carried[["student", "position"]].itertuples(index=False)) == list(
        chunked[["student", "position"]].itertuples(index=False))
    first_chunk = carried["position"].values < SEQ_LEN
    np.testing.assert_allclose(carried["p"][first_chunk], chunked["p"][first_chunk], atol=2e-6)
    test = load_from_config(trained.config).test
    if carried_differs_from_cut(model, [seq.skills for seq in test]):
        assert np.abs(carried["p"][~first_chunk].values - chunked["p"][~first_chunk].values).max() > 1e-4
    else:
        np.testing.assert_allclose(carried["p"][~first_chunk], chunked["p"][~first_chunk], atol=2e-6)

    # Past the first chunk: what `step` gives answer by answer from the student's first answer.
    seq = test[0]
    with ServingModel(trained) as serving:
        state = serving.run("initial_state", batch_size=1)["state"]
        stepped = []
        for skill, answer in zip(seq.skills, seq.answers):
            out = serving.run("step", state=state, skill=[skill], answer=[answer])
            stepped.append(out["p"][0])
            state = out["new_state"]
    mine = carried[carried["student"] == seq.student].sort_values("position")
    np.testing.assert_allclose(mine["p"], stepped, atol=2e-6)   # the CSV keeps 6 decimals

    _, default = evaluate.evaluate(run_dir, [], log=quiet, model=trained)
    assert default["carry_state"] is False and "reset" in default["state"]


@pytest.mark.parametrize("model", model_registry.names())
def test_serving_graph_refuses_bad_indices_and_ignores_the_padding(trained_runs, model):
    import tensorflow.compat.v1 as tf
    _, trained = trained_runs[model]
    n = trained.n_skills
    with ServingModel(trained) as serving:
        state = serving.run("initial_state", batch_size=2)["state"]
        message = r"skill indices must be in \[0, %d\) .* and answers 0 \(wrong\) or 1 \(correct\)" % n
        for skill, answer in (([0, n], [1, 0]), ([0, -1], [1, 0]), ([0, 1], [1, 2]), ([0, 1], [-1, 0])):
            with pytest.raises(tf.errors.InvalidArgumentError, match=message):
                serving.run("step", state=state, skill=skill, answer=answer)
        skills = np.array([[1, 2, 3, 4], [5, 6, 0, 0]], np.int32)
        answers = np.array([[1, 0, 1, 1], [0, 1, 0, 0]], np.int32)
        zero_padded = serving.run("predict_history", skills=skills, answers=answers, lengths=[4, 2])
        skills[1, 2:], answers[1, 2:] = n + 7, 5    # junk after a row's length is never read
        junk_padded = serving.run("predict_history", skills=skills, answers=answers, lengths=[4, 2])
        for name in ("p", "final_state", "knowledge_state"):
            np.testing.assert_array_equal(junk_padded[name], zero_padded[name])
        assert (zero_padded["p"][1, 2:] == 0).all() and (zero_padded["p"][0] > 0).all()
        answers[1, 2] = 0     # a real answer on an unknown skill
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            serving.run("predict_history", skills=skills, answers=answers, lengths=[4, 3])

"""The programs' start-up is quiet (utils/quiet.py): TensorFlow's start-up lines and oneDNN's harmless ERROR
line are dropped, while Python warnings and every other line stay; Keras 3 is not imported."""
import os
import subprocess
import sys

import pytest

from utils.quiet import START_UP_NOISE, stderr_without

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ("main.py", "evaluate.py", "predict.py", "export.py", "benchmarks/speed.py")

# A graph with an int32 transpose (as DKT's) run with oneDNN turned on: TensorFlow's oneDNN pass logs
# "oneDNN supports DT_INT32 only on platforms with AVX-512" where it is on (TensorFlow 2.x on x86).
PROGRAM = """
import sys, warnings
sys.path.insert(0, %r)
from utils.quiet import quiet_tensorflow
quiet_tensorflow()
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
tf.logging.set_verbosity(tf.logging.ERROR)
skills = tf.placeholder(tf.int32, [None, 3])
with tf.Session() as session:
    print(session.run(tf.transpose(skills), {skills: [[1, 2, 3]]}).shape)
warnings.warn("a real warning")
""" % REPO


def test_tensorflow_starts_without_noise_and_real_warnings_stay():
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1")
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the default of a user's shell
    done = subprocess.run([sys.executable, "-c", PROGRAM], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert done.returncode == 0 and done.stdout == "(3, 1)\n", done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert any("UserWarning: a real warning" in line for line in lines), done.stderr
    noise = [line for line in lines if "oneDNN" in line or "absl" in line or "E0000" in line]
    assert not noise, done.stderr


def test_only_the_start_up_noise_is_dropped_from_what_was_written(capfd):
    with stderr_without(START_UP_NOISE):
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. You may see ...\n"
                    b"WARNING: All log messages before absl::InitializeLog() is called are written to "
                    b"STDERR\n"
                    b"a line that matters\n")
        sys.stderr.write("a Python line\n")
    err = capfd.readouterr().err  # (capfd writes Python's lines apart from the descriptor's: any order)
    assert sorted(err.splitlines()) == ["a Python line", "a line that matters"]


def test_every_program_quiets_tensorflow_before_importing_it():
    for program in PROGRAMS:
        with open(os.path.join(REPO, program)) as handle:
            text = handle.read()
        assert 0 <= text.find("\nquiet_tensorflow()") < text.find("import tensorflow"), program


KERAS_PROGRAM = """
import sys
sys.path.insert(0, %r)
from utils.quiet import quiet_tensorflow
quiet_tensorflow()
import tensorflow.compat.v1 as tf
print(tf.__version__, "keras" in sys.modules)
""" % REPO


@pytest.mark.parametrize("setting", [None, "0"])
def test_tensorflow_starts_without_keras_unless_the_environment_asks_for_it(setting):
    env = dict(os.environ)
    env.pop("TF_USE_LEGACY_KERAS", None)  # what the tests' own quiet_tensorflow() set
    if setting is not None:
        env["TF_USE_LEGACY_KERAS"] = setting
    done = subprocess.run([sys.executable, "-c", KERAS_PROGRAM], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert done.returncode == 0, done.stderr
    version, keras_imported = done.stdout.split()
    imports_keras_3 = tuple(int(part) for part in version.split(".")[:2]) >= (2, 16)  # TF 1.x never does
    assert keras_imported == str(imports_keras_3 and setting == "0"), done.stdout

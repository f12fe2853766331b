"""Repository rules that no other test sees: install files, generated files, TensorFlow usage.

Reads source files and runs git; imports no project module and no TensorFlow, so it runs on both legs.
"""
import ast
import os
import re
import shutil
import subprocess
import sys

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Folders that hold no project source (virtual environments, outputs, caches).
SKIP_DIRS = {".git", "runs", "dataset", ".cache", "__pycache__", ".pytest_cache", ".ruff_cache",
             "node_modules"}

# The only modules allowed to switch TensorFlow to graph mode: the entry points, the tests' set-up and the
# stand-alone programs under scripts/ and benchmarks/ (run, never imported by the library).
ENTRY_POINTS = {"main.py", "evaluate.py", "predict.py", "export.py", os.path.join("tests", "conftest.py")}
PROGRAM_DIRS = ("scripts", "benchmarks")

# TensorFlow APIs that fail with Keras 3 (TF >= 2.16) or are missing in TF 1.14 / TF 2.x.
FORBIDDEN_TF = ("nn.rnn_cell", "layers", "contrib", "keras")


def python_files(*subdirs):
    """Relative paths of the .py files under the given folders (the whole repository when none)."""
    found = []
    for top in subdirs or (".",):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".venv")
                                 and not (d == "out" and os.path.basename(dirpath) == "benchmarks"))
            for name in sorted(filenames):
                if name.endswith(".py"):
                    found.append(os.path.relpath(os.path.join(dirpath, name), ROOT))
    return found


def parse(relpath):
    with open(os.path.join(ROOT, relpath), "rb") as f:
        return ast.parse(f.read(), filename=relpath)


def dotted(node):
    """'a.b.c' for an expression a.b.c, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def imported_modules(tree):
    """Every module name imported anywhere in the tree (including function-level imports)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names.extend(node.module + "." + alias.name for alias in node.names)
    return names


def tensorflow_aliases(tree):
    """Local name -> full TensorFlow path it stands for, e.g. {'tf': 'tensorflow.compat.v1'}."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tensorflow":
                    aliases[alias.asname or "tensorflow"] = alias.name if alias.asname else "tensorflow"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tensorflow":
            for alias in node.names:
                aliases[alias.asname or alias.name] = node.module + "." + alias.name
    return aliases


def tf_api(full):
    """The API path below tensorflow[.compat.v1|.compat.v2], or None when `full` is not TensorFlow."""
    match = re.match(r"^tensorflow(?:\.compat\.v[12])?(?:\.(.*))?$", full)
    return (match.group(1) or "") if match else None


def is_forbidden(api):
    return any(api == name or api.startswith(name + ".") for name in FORBIDDEN_TF)



# ---- install files ----------------------------------------------------------------------------------

def requirements(name):
    """The requirement lines of a requirements file (comments and blank lines dropped), parsed."""
    parsed = []
    with open(os.path.join(ROOT, name)) as f:
        for number, line in enumerate(f, 1):
            line = line.split(" #")[0].strip()
            if not line or line.startswith("#"):
                continue
            assert not line.startswith("-"), "%s:%d: pip options are not used here: %r" % (name, number, line)
            parsed.append(Requirement(line))
    assert parsed, "%s has no requirements" % name
    return parsed


def bounds(req):
    """(has lower bound, has upper bound) of a requirement's version specifier."""
    ops = [spec.operator for spec in req.specifier]
    pinned = any(op in ("==", "===", "~=") for op in ops)
    return pinned or any(op in (">=", ">") for op in ops), pinned or any(op in ("<", "<=") for op in ops)


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-test.txt", "requirements-tf1.14.txt"])
def test_requirements_parse_and_have_lower_and_upper_bounds(name):
    for req in requirements(name):
        lower, upper = bounds(req)
        assert lower and upper, "%s: %s needs a tested lower and upper bound" % (name, req)


# Environments a user may install on: exactly one TensorFlow distribution must apply to each.
PLATFORMS = {
    "Linux x86_64": {"platform_system": "Linux", "platform_machine": "x86_64", "sys_platform": "linux"},
    "Linux aarch64": {"platform_system": "Linux", "platform_machine": "aarch64", "sys_platform": "linux"},
    "macOS arm64": {"platform_system": "Darwin", "platform_machine": "arm64", "sys_platform": "darwin"},
    "macOS x86_64": {"platform_system": "Darwin", "platform_machine": "x86_64", "sys_platform": "darwin"},
    "Windows": {"platform_system": "Windows", "platform_machine": "AMD64", "sys_platform": "win32"},
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_requirements_pick_one_tensorflow_per_platform(platform):
    env = dict(PLATFORMS[platform], python_version="3.11", python_full_version="3.11.7")
    chosen = [req.name for req in requirements("requirements.txt")
              if req.name.startswith("tensorflow") and (req.marker is None or req.marker.evaluate(env))]
    assert len(chosen) == 1, "%s: requirements.txt selects %s, not one TensorFlow" % (platform, chosen)
    if platform != "Linux x86_64":
        # tensorflow-cpu has wheels for Linux x86_64 only.
        assert chosen == ["tensorflow"], "%s would install %s" % (platform, chosen)


def test_legacy_requirements_pin_what_tf114_needs():
    with open(os.path.join(ROOT, "requirements-tf1.14.txt")) as f:
        first_line = f.readline()
    assert "python 3.7" in first_line.lower(), "requirements-tf1.14.txt: the first line must say Python 3.7"
    pins = {}
    for req in requirements("requirements-tf1.14.txt"):
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", "requirements-tf1.14.txt: pin %s with ==" % req
        pins[req.name.lower()] = specs[0].version
    assert pins.get("tensorflow") == "1.14.0"
    assert pins.get("gast") == "0.2.2"
    # TF 1.14 fails to import with numpy >= 1.17 or protobuf >= 3.21.
    assert tuple(int(x) for x in pins["numpy"].split(".")[:2]) < (1, 17)
    assert tuple(int(x) for x in pins["protobuf"].split(".")[:2]) < (3, 21)
    for name in ("pandas", "scikit-learn", "matplotlib", "pytest"):
        assert name in pins, "requirements-tf1.14.txt must pin %s" % name


# What only the tests, the linter and the many-runs scripts use: the main command must not wait for it.
TEST_ONLY_PACKAGES = {"pytest", "ruff", "ray"}


def test_the_main_requirements_hold_no_test_tools_or_ray():
    found = sorted(req.name for req in requirements("requirements.txt")
                   if req.name.lower() in TEST_ONLY_PACKAGES)
    assert not found, "requirements.txt installs %s: they belong in requirements-test.txt" % found
    extras = set(req.name.lower() for req in requirements("requirements-test.txt"))
    assert {"pytest", "ruff", "ray"} <= extras, "requirements-test.txt must bring pytest, ruff and Ray"


def requirement_files_for(command, **env):
    """The requirement files scripts/venv.sh would install for `command` (it stops before any venv)."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    environ = dict((k, v) for k, v in os.environ.items() if not k.startswith("KT_"))
    environ.update(env, KT_SHOW_REQUIREMENTS="1")
    result = subprocess.run(["bash", os.path.join("scripts", "venv.sh")] + command, cwd=ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("command, files", [
    (["python", "main.py"], ["requirements.txt"]),
    (["python", "plots/plot_results.py", "runs/x"], ["requirements.txt"]),
    ([], ["requirements.txt"]),
    (["python", "-m", "pytest", "-q", "tests"], ["requirements.txt", "requirements-test.txt"]),
    (["ruff", "check", "."], ["requirements.txt", "requirements-test.txt"]),
    (["python", "scripts/reproduce.py", "synthetic"], ["requirements.txt", "requirements-test.txt"]),
    (["python", "scripts/tune.py", "synthetic"], ["requirements.txt", "requirements-test.txt"]),
])
def test_venv_installs_the_extras_only_for_commands_that_need_them(command, files):
    assert requirement_files_for(command) == files


def test_venv_extras_setting_and_the_legacy_file_list():
    assert requirement_files_for(["python", "main.py"], KT_EXTRAS="test") == [
        "requirements.txt", "requirements-test.txt"]
    assert requirement_files_for(["python", "-m", "pytest"], KT_EXTRAS="none") == ["requirements.txt"]
    # The legacy leg names its one file, which pins its own pytest: nothing is added to it.
    assert requirement_files_for(["python", "-m", "pytest", "-q", "tests"],
                                 KT_REQUIREMENTS="requirements-tf1.14.txt") == ["requirements-tf1.14.txt"]


def test_marker_evaluation_itself_works():
    # Guards the platform test above against a packaging version that ignores the environment.
    assert Marker('platform_system == "Linux"').evaluate({"platform_system": "Linux"})
    assert not Marker('platform_system == "Linux"').evaluate({"platform_system": "Darwin"})


# ---- generated files --------------------------------------------------------------------------------

GENERATED = [
    (r"^runs/", "run folders"),
    (r"^dataset/", "user data sets"),
    (r"(^|/)\.cache/", "caches"),
    (r"^benchmarks/out/", "benchmark output"),
    (r"(^|/)\.?venv[^/]*/", "virtual environments"),
    (r"(^|/)__pycache__/|\.py[cod]$", "bytecode"),
    (r"(^|/)\.(pytest|ruff)_cache/", "tool caches"),
    (r"(^|/)checkpoints?/|(^|/)checkpoint$|\.ckpt([.-]|$)|\.(index|meta)$|\.data-\d+-of-\d+$", "checkpoints"),
    (r"(^|/)events\.out\.tfevents\.", "TensorBoard events"),
]


def git(*args):
    return subprocess.run(("git",) + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)


@pytest.fixture(scope="module")
def git_checkout():
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    result = git("rev-parse", "--show-toplevel")
    if result.returncode != 0:
        pytest.skip("not a git checkout (%s)" % result.stderr.strip())
    assert os.path.realpath(result.stdout.strip()) == os.path.realpath(ROOT), (
        "the repository root %s is not the git top level %s" % (ROOT, result.stdout.strip()))
    return True


def tracked_files():
    result = git("ls-files", "-z")
    assert result.returncode == 0, result.stderr
    return [p for p in result.stdout.split("\0") if p]


def test_no_generated_files_are_tracked(git_checkout):
    bad = ["%s (%s)" % (path, what)
           for path in tracked_files() for pattern, what in GENERATED if re.search(pattern, path)]
    assert not bad, "generated files are committed; git rm --cached them:\n  " + "\n  ".join(bad)


def test_gitignore_covers_generated_output(git_checkout):
    paths = [
        ".venv/bin/python", ".venv37/bin/python", ".venv-tf1.14/pyvenv.cfg", ".venv-ci/bin/python",
        ".venv-ci-tf1.14/bin/python", "runs/synthetic-dkvmn-20240101-000000/epochs.csv",
        "runs/synthetic-dkvmn-20240101-000000/figures/1_training_loss.png", "runs/figures/4_test_acc.png",
        "runs/x/checkpoints/best.ckpt-3.index", "runs/x/tensorboard/events.out.tfevents.1.host",
        "dataset/assistments/skill_builder_data.csv", ".cache/data.npz", "benchmarks/out/timings.csv",
        "data/__pycache__/synthetic.cpython-311.pyc", ".pytest_cache/v/cache/nodeids",
    ]
    result = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", "--non-matching"] + paths,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode in (0, 1), result.stderr
    not_ignored = [line.split("\t")[-1] for line in result.stdout.splitlines() if line.startswith("::")]
    assert not not_ignored, ".gitignore does not cover: %s" % not_ignored


# A folder of one machine at the start of an absolute path (the pattern is built so that this file does not
# match itself); ~, $HOME and system paths such as /usr/bin or /proc are not one machine's.
MACHINE_PATH = re.compile(r"(?<![\w.~$-])/(%s)/" % "|".join(("work", "tmp", "root", "home", "Users", "mnt")))


def machine_paths(root, paths):
    """'path:line: text' for each line of the text files `paths` (under `root`) that names a path of one
    machine."""
    found = []
    for path in paths:
        try:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError):  # a figure or other binary file
            continue
        found += ["%s:%d: %s" % (path, number, line.strip()) for number, line in enumerate(lines, 1)
                  if MACHINE_PATH.search(line)]
    return found


def test_no_tracked_file_names_a_path_of_one_machine(git_checkout):
    found = machine_paths(ROOT, tracked_files())
    assert not found, ("paths of one machine are committed; write them relative to the repository (e.g. "
                       "../shared/data/...) or take them as options:\n  " + "\n  ".join(found))


def test_the_machine_path_check_catches_examples(tmp_path):
    lines = ["ok: ../shared/data/x.csv, ~/.ray/auth_token, /usr/bin/time, /proc/1/stat, $HOME/.pyenv",
             "bad: --out " + "/tm" + "p/check", "bad: cd " + "/wor" + "k/main && make"]
    (tmp_path / "notes.md").write_text("\n".join(lines) + "\n")
    assert [line.split(":")[1] for line in machine_paths(str(tmp_path), ["notes.md"])] == ["2", "3"]


# ---- source rules -----------------------------------------------------------------------------------

def test_every_python_file_parses_as_python_37():
    bad = []
    for path in python_files():
        with open(os.path.join(ROOT, path), "rb") as f:
            source = f.read()
        try:
            if sys.version_info >= (3, 8):
                ast.parse(source, filename=path, feature_version=(3, 7))
            else:
                ast.parse(source, filename=path)
        except SyntaxError as e:
            bad.append("%s:%s: %s" % (path, e.lineno, e.msg))
    assert not bad, "not Python 3.7 syntax (the legacy leg runs 3.7):\n  " + "\n  ".join(bad)


# What the plot scripts use of utils/: the run folder's format, the errors and how a program ends on one.
TF_FREE_UTILS = [os.path.join("utils", name + ".py")
                 for name in ("run_files", "errors", "commands", "config", "metrics", "stats",
                              "model_registry")]


def test_data_plots_and_the_run_folder_import_no_tensorflow():
    bad = []
    utils = [path for path in TF_FREE_UTILS if os.path.exists(os.path.join(ROOT, path))]
    for path in python_files("data", "plots") + utils:
        for name in imported_modules(parse(path)):
            if name.split(".")[0] in ("tensorflow", "keras"):
                bad.append("%s imports %s" % (path, name))
    assert not bad, "data/, plots/ and %s must not import TensorFlow:\n  %s" % (
        ", ".join(TF_FREE_UTILS), "\n  ".join(bad))


def is_plot_program(relpath):
    """plots/plot_*.py: the figure programs; the rest of plots/ (plots/lib/) is their library."""
    folder, name = os.path.split(relpath)
    return folder == "plots" and name.startswith("plot_") and name.endswith(".py")


def program_names():
    """Module names of the programs, as an import may spell them: the .py files at the top level and in
    scripts/ and benchmarks/ (run with their folder on sys.path: `tune`, `scripts.tune`), and plots/plot_*.py
    (`plots.plot_clusters`, or `plot_clusters` from inside plots/)."""
    paths = python_files()
    names = set(os.path.splitext(path)[0] for path in paths if os.sep not in path)
    for path in python_files(*PROGRAM_DIRS):
        module = os.path.splitext(path)[0]
        names.update([os.path.basename(module), module.replace(os.sep, ".")])
    for path in filter(is_plot_program, paths):
        module = os.path.splitext(path)[0]
        names.update([os.path.basename(module), module.replace(os.sep, ".")])
    return names | set(PROGRAM_DIRS)


def names_a_program(name, programs):
    """True when the imported module `name` (a.b.c) is a program or inside one: a, a.b or a.b.c is one."""
    parts = name.split(".")
    return any(".".join(parts[:k]) in programs for k in range(1, len(parts) + 1))


def imports_of_programs(paths):
    """'path imports name' for each import of a program by one of `paths`."""
    programs = program_names()
    return ["%s imports %s" % (path, name) for path in paths for name in imported_modules(parse(path))
            if names_a_program(name, programs)]


def test_programs_import_the_library_never_each_other():
    # Programs (main.py, evaluate.py, predict.py, export.py, scripts/, benchmarks/, plots/plot_*.py) import
    # data/, models/, utils/, plots/lib/; a program that needs another one runs it. Tests may import programs
    # to drive them.
    bad = imports_of_programs([path for path in python_files() if path.split(os.sep)[0] != "tests"])
    assert not bad, "programs must import the library only:\n  " + "\n  ".join(bad)


def test_plots_holds_its_programs_apart_from_their_library():
    # plots/ = the figure programs (plot_*.py); what they share lives in plots/lib/, which has no program.
    stray = [path for path in python_files("plots")
             if os.path.dirname(path) == "plots" and not is_plot_program(path)
             and os.path.basename(path) != "__init__.py"]
    assert not stray, "plots/ holds programs plot_*.py only; move library code to plots/lib/: %s" % stray
    in_lib = [path for path in python_files(os.path.join("plots", "lib"))
              if os.path.basename(path).startswith("plot_")]
    assert not in_lib, "plots/lib/ is library: a plot_*.py program belongs in plots/: %s" % in_lib


def test_program_import_check_catches_an_example(tmp_path, monkeypatch):
    (tmp_path / "main.py").write_text("import data\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "tool.py").write_text("import main\nfrom utils import run_files\n")
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "helper.py").write_text("from tool import thing\n")
    (tmp_path / "plots" / "lib").mkdir(parents=True)
    (tmp_path / "plots" / "plot_a.py").write_text("from plots.plot_b import shared\n"
                                                  "from plots.lib import x\n")
    (tmp_path / "plots" / "plot_b.py").write_text("from plots import plot_a\n")
    (tmp_path / "plots" / "lib" / "x.py").write_text("import plot_a\n")
    (tmp_path / "scripts" / "table.py").write_text("from plots import plot_b\nfrom plots.lib import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    found = imports_of_programs(python_files())
    assert sorted(found) == sorted([
        os.path.join("plots", "lib", "x.py") + " imports plot_a",
        os.path.join("plots", "plot_a.py") + " imports plots.plot_b",
        os.path.join("plots", "plot_a.py") + " imports plots.plot_b.shared",
        os.path.join("plots", "plot_b.py") + " imports plots.plot_a",
        os.path.join("scripts", "table.py") + " imports plots.plot_b",
        os.path.join("scripts", "tool.py") + " imports main",
        os.path.join("utils", "helper.py") + " imports tool",
        os.path.join("utils", "helper.py") + " imports tool.thing"]), found


def test_only_entry_points_disable_v2_behavior():
    bad = []
    for path in python_files():
        if path in ENTRY_POINTS or path.split(os.sep)[0] in PROGRAM_DIRS:
            continue
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Call):
                name = dotted(node.func) or ""
                if name.split(".")[-1] == "disable_v2_behavior":
                    bad.append("%s:%d calls %s()" % (path, node.lineno, name))
    assert not bad, ("only %s and scripts/, benchmarks/ may call disable_v2_behavior (a library module must "
                     "not change TensorFlow's mode on import):\n  %s"
                     % (", ".join(sorted(ENTRY_POINTS)), "\n  ".join(bad)))


def forbidden_tf_uses(path):
    tree = parse(path)
    aliases = tensorflow_aliases(tree)
    found = set()
    for name in imported_modules(tree):
        api = tf_api(name)
        if name.split(".")[0] == "keras" or (api is not None and is_forbidden(api)):
            found.add(name)
    for node in ast.walk(tree):
        # Every sub-chain of a.b.c.d is visited: report the one that names the forbidden module itself.
        name = dotted(node) if isinstance(node, ast.Attribute) else None
        if name is None:
            continue
        head, _, rest = name.partition(".")
        if head in aliases:
            api = tf_api(aliases[head] + "." + rest)
            if api in FORBIDDEN_TF:
                found.add("%s (line %d)" % (name, node.lineno))
    return sorted(found)


def test_models_use_no_forbidden_tensorflow_api():
    bad = []
    for path in python_files("models"):
        bad.extend("%s: %s" % (path, use) for use in forbidden_tf_uses(path))
    assert not bad, ("models/ must not use tf.nn.rnn_cell, tf.layers, tf.contrib or tf.keras (missing or "
                     "broken with Keras 3 or TF 1.14):\n  " + "\n  ".join(bad))


def test_forbidden_api_check_catches_examples(tmp_path, monkeypatch):
    # The checks above must be able to fail: run the detector on a module that breaks every rule.
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import tensorflow.compat.v1 as tf\n"
        "from tensorflow import keras\n"
        "import tensorflow as tf2\n"
        "cell = tf.nn.rnn_cell.LSTMCell(10)\n"
        "dense = tf.layers.dense\n"
        "x = tf2.contrib.layers\n"
        "y = tf.einsum('ij->i', tf.zeros([2, 2]))\n"
        "tf.disable_v2_behavior()\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    uses = forbidden_tf_uses("bad.py")
    assert any(u.startswith("tensorflow.keras") for u in uses), uses
    assert "tf.nn.rnn_cell (line 4)" in uses, uses
    assert "tf.layers (line 5)" in uses, uses
    assert "tf2.contrib (line 6)" in uses, uses
    assert not any("einsum" in u for u in uses), uses
    assert python_files() == ["bad.py"]

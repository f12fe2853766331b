#!/usr/bin/env bash
# Set up the project's virtual environment when needed, then run a command inside it.
#
#   bash scripts/venv.sh python main.py              # the main job: requirements.txt only
#   bash scripts/venv.sh python -m pytest -q tests   # the tests: requirements.txt + requirements-test.txt
#   bash scripts/venv.sh                             # only set up (requirements.txt)
#
# What it does, from the repository root:
#   1. creates the venv $KT_VENV with $KT_PYTHON when it does not exist;
#   2. picks the requirement files: requirements.txt for every command, and requirements-test.txt (the
#      test and lint tools and Ray) as well for a command that runs pytest, ruff, scripts/reproduce.py or
#      scripts/tune.py, or when KT_EXTRAS=test; so the main job never waits for what only tests need;
#   3. installs those files when one of them changed since it was last installed into this venv (a stamp
#      file inside the venv holds a hash per file), so later calls start at once;
#   4. runs the rest of its arguments with the venv first on PATH (so `python`, `pytest`, `ruff`
#      are the venv's) and returns their exit status.
#
# Environment variables (defaults in brackets):
#   KT_PYTHON        interpreter that creates the venv                  [python3]
#   KT_VENV          venv folder, relative to the repository root       [.venv]
#   KT_EXTRAS        test: always add requirements-test.txt; none: never; auto: by the command  [auto]
#   KT_REQUIREMENTS  requirement files, space separated; when set, exactly these (KT_EXTRAS is ignored)
#   KT_PIP_ARGS      extra arguments for pip install (e.g. --no-cache-dir)
#   KT_SHOW_REQUIREMENTS=1  print the files the command would install, and stop (touches nothing)
# The legacy TensorFlow 1.14 leg (Python 3.7; its file pins its own pytest, and it has no Ray):
#   KT_PYTHON=~/.pyenv/versions/3.7.16/bin/python KT_VENV=.venv-tf1.14 \
#   KT_REQUIREMENTS=requirements-tf1.14.txt bash scripts/venv.sh python -m pytest -q tests
set -euo pipefail

say() { printf 'venv.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python_cmd="${KT_PYTHON:-python3}"
venv="${KT_VENV:-.venv}"

# True when the command runs the tests, the linter or a many-runs script (Ray).
needs_extras() {
    local arg
    for arg in "$@"; do
        case "$(basename -- "$arg")" in
            pytest|py.test|pytest-*|ruff|reproduce.py|tune.py) return 0 ;;
        esac
    done
    return 1
}

if [ -n "${KT_REQUIREMENTS:-}" ]; then
    requirements="$KT_REQUIREMENTS"
else
    requirements="requirements.txt"
    case "${KT_EXTRAS:-auto}" in
        test) requirements="$requirements requirements-test.txt" ;;
        none) ;;
        auto) if needs_extras "$@"; then requirements="$requirements requirements-test.txt"; fi ;;
        *) die "KT_EXTRAS='${KT_EXTRAS}' is not one of auto, test, none" ;;
    esac
fi
read -r -a pip_extra <<< "${KT_PIP_ARGS:-}"
read -r -a req_files <<< "$requirements"
[ "${#req_files[@]}" -gt 0 ] || die "KT_REQUIREMENTS is empty"
for f in "${req_files[@]}"; do
    [ -f "$f" ] || die "requirement file '$f' not found in $root (KT_REQUIREMENTS='$requirements')"
done
if [ -n "${KT_SHOW_REQUIREMENTS:-}" ]; then echo "${req_files[*]}"; exit 0; fi

# The venv's interpreter: bin/ on Linux and macOS, Scripts/ under Git Bash on Windows.
venv_python() {
    if [ -x "$venv/bin/python" ]; then echo "$venv/bin/python"
    elif [ -x "$venv/Scripts/python.exe" ]; then echo "$venv/Scripts/python.exe"
    else return 1; fi
}
version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }

command -v "$python_cmd" > /dev/null 2>&1 \
    || die "Python interpreter '$python_cmd' not found: install Python 3.10-3.13 or set KT_PYTHON=/path/to/python"
want_version="$(version_of "$python_cmd")" \
    || die "'$python_cmd' does not run (a pyenv shim without that version selected?): set KT_PYTHON to a working interpreter"

vpy="$(venv_python || true)"
created=""
if [ -n "$vpy" ] && ! have_version="$(version_of "$vpy")"; then
    die "$venv exists but its Python does not run (was its base Python removed?): delete $venv and run again"
fi
if [ -z "$vpy" ] && [ -e "$venv" ]; then
    if [ -f "$venv/pyvenv.cfg" ]; then
        say "$venv is incomplete (an interrupted set-up?): recreating it"
        rm -rf "$venv"
    else
        die "$venv exists but is not a virtual environment: move it away or set KT_VENV"
    fi
fi

if [ -z "$vpy" ]; then
    say "creating $venv with $python_cmd (Python $want_version)"
    if ! "$python_cmd" -m venv "$venv"; then
        rm -rf "$venv"
        die "'$python_cmd -m venv' failed. On Debian/Ubuntu the venv module is a separate package:" \
            "run 'sudo apt install python3-venv' (or python$want_version-venv), then run this command again."
    fi
    vpy="$(venv_python)" || die "$venv was created but has no python in bin/ or Scripts/"
    have_version="$want_version"
    created=1
elif [ -n "${KT_PYTHON:-}" ] && [ "$have_version" != "$want_version" ]; then
    die "$venv holds Python $have_version but KT_PYTHON is Python $want_version: set KT_VENV to another folder" \
        "(e.g. KT_VENV=.venv-py$want_version) or delete $venv"
fi

# One line "hash name" per requirement file, the hash over the venv's Python version, the file's name and
# its contents. The stamp holds the lines of the files installed into this venv, so a venv that has the
# test extras keeps them when the main command (requirements.txt alone) runs in it.
stamp="$venv/.kt-requirements.sha256"
wanted_lines="$("$vpy" - "${req_files[@]}" <<'PY'
import hashlib, sys
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        h = hashlib.sha256(sys.version.encode() + b"\0" + name.encode() + b"\0" + f.read())
    print(h.hexdigest() + " " + name)
PY
)"
missing=""
while read -r line; do
    grep -qxF "$line" "$stamp" 2>/dev/null || missing="$missing ${line#* }"
done <<< "$wanted_lines"
if [ -n "$missing" ]; then
    if [ -n "$created" ]; then
        say "installing ${req_files[*]} into the new $venv (Python $have_version): a few minutes the first time"
    else
        say "installing ${missing# } into $venv (new to it, or changed since it was installed)"
    fi
    start=$(date +%s)
    pip_args=(install -q --disable-pip-version-check)
    for f in "${req_files[@]}"; do pip_args+=(-r "$f"); done
    # The files' old lines go first, so that an interrupted install is done again next time.
    if [ -f "$stamp" ]; then
        awk -v names=" ${req_files[*]} " 'index(names, " " $2 " ") == 0' "$stamp" > "$stamp.new"
        mv "$stamp.new" "$stamp"
    fi
    if ! PIP_NO_INPUT=1 "$vpy" -m pip "${pip_args[@]}" ${pip_extra[@]+"${pip_extra[@]}"}; then
        die "pip could not install ${req_files[*]} into $venv (Python $have_version). See pip's message above." \
            "TensorFlow 2.21 publishes wheels for Python 3.10-3.13 only, tensorflow==1.14.0 for Python 3.7" \
            "only: choose the interpreter with KT_PYTHON (and a separate KT_VENV)."
    fi
    echo "$wanted_lines" >> "$stamp"
    say "installed in $(( $(date +%s) - start )) s"
fi

[ "$#" -gt 0 ] || { say "$venv is ready; run a command inside it with: bash scripts/venv.sh COMMAND..."; exit 0; }

venv_abs="$(cd "$venv" && pwd)"
bindir="$(dirname "$vpy")"
export VIRTUAL_ENV="$venv_abs"
export PATH="$venv_abs/$(basename "$bindir"):$PATH"
unset PYTHONHOME
exec "$@"

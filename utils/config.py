"""Command-line overrides of the constants at the top of main.py.

Every constant NAME can be set as `--name value` or `--name=value`; the value is parsed with the type of
the constant's default, so `--epochs 5` is an int and `--key_projection true` a bool.
"""

import ast
import math
import numbers
import os

from utils.errors import ConfigError

MAIN_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "main.py")

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def main_constants(path=MAIN_PY):
    """The constants at the top of main.py (lower-case name -> value), read from its text, not imported.

    main.py is the one home of the defaults; a program that needs them (scripts/export_splits.py) reads them
    here instead of importing another program. Only literal values count (numbers, strings, booleans).
    """
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.isupper():
                constants[name.lower()] = ast.literal_eval(node.value)
    return constants


def parse_overrides(argv, defaults):
    """Returns a copy of `defaults` (lower-case name -> value) with the overrides of `argv` applied."""
    config = dict(defaults)
    for name, value in override_pairs(argv, defaults):
        config[name] = parse_value(name, value, defaults[name])
    return config


def override_pairs(argv, defaults):
    """[(name, value text)] of the overrides in `argv`, in order; ConfigError for an unknown name."""
    pairs = []
    pending = list(argv)
    while pending:
        word = pending.pop(0)
        if not word.startswith("--"):
            raise ConfigError("unexpected argument %r: overrides are written --name value" % word)
        name, has_value, value = word[2:].partition("=")
        if name not in defaults:
            raise ConfigError("unknown option --%s; valid options: %s" % (name, ", ".join(
                "--" + key for key in sorted(defaults))))
        if not has_value:
            if not pending:
                raise ConfigError("--%s needs a value (default: %r)" % (name, defaults[name]))
            value = pending.pop(0)
        pairs.append((name, value))
    return pairs


def parse_value(name, text, default):
    """Parses `text` as the type of `default`."""
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered in TRUE_WORDS or lowered in FALSE_WORDS:
            return lowered in TRUE_WORDS
        raise ConfigError("--%s takes true or false, not %r" % (name, text))
    for number_type in (int, float):
        if isinstance(default, number_type):
            try:
                return number_type(text)
            except ValueError:
                raise ConfigError("--%s takes %s, not %r" % (name, describe(number_type), text))
    return text


def require_whole(config, name, lowest, highest=None):
    """ConfigError unless config[name] is an integer in [lowest, highest] (no upper bound when None)."""
    value = config[name]
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not whole or value < lowest or (highest is not None and value > highest):
        raise ConfigError("%s must be a whole number >= %d%s, got %r" % (
            name, lowest, "" if highest is None else " and <= %d" % highest, value))


def require_number(config, name, test, what):
    """ConfigError "<name> must be <what>" unless config[name] is a finite number that passes `test`."""
    value = config[name]
    number = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not number or not test(value):
        raise ConfigError("%s must be %s, got %r" % (name, what, value))


def describe(number_type):
    return "an integer" if number_type is int else "a number"


def run_overrides(argv, run_constants, extra):
    """A finished run's constants with the data options of `argv` applied, and the program's own options.

    evaluate.py and predict.py score a run on data of the user's choice: every data constant of main.py
    (data.DATA_OPTIONS) can be given as --name value and defaults to the run's own value (its config.json);
    `extra` maps the program's own option names to their defaults. Returns (config, extra values).
    """
    from data import DATA_OPTIONS, older_run_split
    run_constants = dict(older_run_split(run_constants), **run_constants)  # a run made before them
    missing = [name for name in DATA_OPTIONS if name not in run_constants]
    if missing:
        raise ConfigError("the run's config.json lacks the data constant(s) %s: it was made by an older "
                          "version of main.py; train it again with this one" % ", ".join(missing))
    defaults = dict((name, run_constants[name]) for name in DATA_OPTIONS)
    defaults.update(extra)
    parsed = parse_overrides(argv, defaults)
    config = dict(run_constants)
    config.update((name, parsed[name]) for name in DATA_OPTIONS)
    return config, dict((name, parsed[name]) for name in extra)

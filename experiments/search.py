"""A search space over main.py's constants: how it is declared, checked before anything starts, and sampled.

A space (JSON) maps a constant's name (lower case) to {"loguniform": [low, high]}, {"uniform": [low, high]},
{"randint": [low, high]} (high excluded), {"choice": [values]}, {"grid": [values]}, a list (= choice), or one
value (fixed). Every value a dimension can take is checked as main.py would read it (the type of its
constant), so `{"memory_size": ["abc", 5]}` is one error line before Ray starts. No Ray, no TensorFlow.
"""
import json
import math
import os

import numpy as np

from experiments.settings import NOT_SETTINGS, check_settings
from utils.config import ConfigError, main_constants, parse_value

# Default spaces: the sizes and rates that the DKVMN paper and its peers vary; a model without its own
# searches the training settings every model has.
COMMON_SPACE = {"learning_rate": {"loguniform": [3e-4, 1e-2]}, "dropout": {"uniform": [0.0, 0.4]}}
REGRESSION_SPACE = {"learning_rate": {"loguniform": [1e-3, 3e-2]},
                    "baseline_l2": {"loguniform": [1e-8, 1e-3]}}
SPACES = {
    "dkvmn": dict(COMMON_SPACE, memory_size={"choice": [10, 20, 50]}, value_dim={"choice": [50, 100, 200]}),
    "dkt": dict(COMMON_SPACE, hidden_size={"choice": [50, 100, 200]}),
    # The regressions read no dropout: their rate and the L2 penalty of their per-id weights.
    "irt": REGRESSION_SPACE, "pfa": REGRESSION_SPACE, "best_lr": REGRESSION_SPACE,
    "bkt": {},  # nothing to search: EM fits it, and validation picks forgetting within the run
}
SMOKE_SPACE = {"learning_rate": {"loguniform": [1e-3, 1e-2]}, "dropout": {"uniform": [0.0, 0.3]}}
DISTRIBUTIONS = {"loguniform": 2, "uniform": 2, "randint": 2, "choice": None, "grid": None}
NEVER_SEARCHED = ("score_test", "epochs") + NOT_SETTINGS


def default_space(model, smoke=False):
    """The model's declared space ({} for a model with nothing to search), or --smoke's tiny one."""
    if not searchable(model):
        return {}
    return json.loads(json.dumps(SMOKE_SPACE if smoke else SPACES.get(model, COMMON_SPACE)))


def searchable(model):
    """False for a model that declares an empty space: no setting changes what it learns (BKT)."""
    return bool(SPACES.get(model, COMMON_SPACE))


def read_space(text, model, smoke, source="--space"):
    """The space as declared (JSON-able): `text` (JSON or a JSON file), else the model's default space;
    every dimension and every value it can take checked (ConfigError naming the first bad one)."""
    if text is None:
        return default_space(model, smoke)
    if os.path.isfile(text):
        source = text
        with open(text) as f:
            text = f.read()
    try:
        space = json.loads(text)
    except ValueError as error:
        raise ConfigError("%s is not JSON (%s); write e.g. %s" % (
            source, error, """'{"learning_rate": {"loguniform": [1e-4, 1e-2]}}'"""))
    if not isinstance(space, dict) or not space:
        raise ConfigError("%s must be a JSON object of name -> distribution, got %r" % (source, space))
    check_space(space, source)
    return space


def check_space(space, source="--space"):
    """ConfigError for an unknown constant, a malformed distribution or a value main.py would refuse."""
    check_settings(space, source)  # the names are main.py's constants
    defaults = main_constants()
    for name, value in space.items():
        check_dimension(name, value, source)
        for candidate in dimension_values(value):
            check_value(name, candidate, defaults[name], source)


def check_dimension(name, value, source="--space"):
    if name in NEVER_SEARCHED:
        raise ConfigError("%s: %s is not a setting to search (use the script's options)" % (source, name))
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in DISTRIBUTIONS:
            raise ConfigError("%s: %s takes one of %s, got %s" % (
                source, name, ", ".join(sorted(DISTRIBUTIONS)), json.dumps(value)))
        kind, arguments = next(iter(value.items()))
        count = DISTRIBUTIONS[kind]
        if not isinstance(arguments, list) or not arguments or (count and len(arguments) != count):
            raise ConfigError("%s: %s's %s takes a list of %s, got %s" % (
                source, name, kind, "%d numbers" % count if count else "values", json.dumps(arguments)))
        if count and not all(is_number(a) for a in arguments):
            raise ConfigError("%s: %s's %s takes numbers, got %s" % (source, name, kind,
                                                                      json.dumps(arguments)))
        if count and not arguments[0] < arguments[1]:
            raise ConfigError("%s: %s's %s needs low < high, got %s"
                              % (source, name, kind, json.dumps(arguments)))
        if kind == "loguniform" and arguments[0] <= 0:
            raise ConfigError("%s: %s's loguniform needs low > 0, got %s"
                              % (source, name, json.dumps(arguments)))
    elif isinstance(value, list) and not value:
        raise ConfigError("%s: %s's list of choices is empty" % (source, name))


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def dimension_values(value):
    """The values to check of a dimension: every choice, or a range's ends (a value as it is)."""
    if isinstance(value, dict):
        kind, arguments = next(iter(value.items()))
        if kind == "randint":
            return [int(arguments[0]), int(arguments[1]) - 1]
        return list(arguments)
    return list(value) if isinstance(value, list) else [value]


def check_value(name, value, default, source):
    """ConfigError unless main.py reads `value` as its constant `name` (whose default is `default`)."""
    if isinstance(value, (list, dict)) or value is None:
        raise ConfigError("%s: %s takes %s values, got %s" % (source, name, type(default).__name__,
                                                              json.dumps(value)))
    if isinstance(default, bool) != isinstance(value, bool) or (
            isinstance(default, (int, float)) and not isinstance(default, bool) and not is_number(value)):
        raise ConfigError("%s: %s takes %s values (main.py's default is %r), got %s"
                          % (source, name, "true/false" if isinstance(default, bool) else
                             "number" if not isinstance(default, str) else "text", default,
                             json.dumps(value)))
    if isinstance(default, int) and not isinstance(default, bool) and float(value) != int(value):
        raise ConfigError("%s: %s takes whole numbers, got %s" % (source, name, json.dumps(value)))
    text = "true" if value is True else "false" if value is False else str(value)
    parse_value(name, text if not isinstance(default, int) or isinstance(default, bool) else str(int(value)),
                default)


def sample(space, n_trials, seed):
    """`n_trials` settings drawn from `space` (numpy RandomState(seed), so the same command draws the same
    trials); a grid dimension is cycled through in order."""
    random = np.random.RandomState(seed)
    trials = []
    for index in range(n_trials):
        values = {}
        for name in sorted(space):
            values[name] = draw(space[name], random, index)
        trials.append(values)
    return trials


def draw(value, random, index):
    if isinstance(value, list):
        return plain(value[random.randint(len(value))])
    if not isinstance(value, dict):
        return value
    kind, arguments = next(iter(value.items()))
    if kind == "choice":
        return plain(arguments[random.randint(len(arguments))])
    if kind == "grid":
        return plain(arguments[index % len(arguments)])
    if kind == "randint":
        return int(random.randint(arguments[0], arguments[1]))
    if kind == "uniform":
        return float(random.uniform(arguments[0], arguments[1]))
    return float(math.exp(random.uniform(math.log(arguments[0]), math.log(arguments[1]))))


def plain(value):
    """A value as plain Python (numpy scalars are not JSON)."""
    return value.item() if hasattr(value, "item") else value

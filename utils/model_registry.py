"""Which models exist: the one list that main.py, the scripts, the tables, the plots and the tests read.

It lives outside models/ (whose package imports TensorFlow) and imports nothing, so that the programs
that never build a graph (the many-runs layer, the tables, the plots) can read it. A model is one module in
models/, with the interface written down in models/__init__.py, plus one line in ENTRIES below.
"""
import collections

ModelEntry = collections.namedtuple("ModelEntry", [
    "name",         # what MODEL / --model / --models take; also the model's variable scope
    "module",       # the module that builds it (the interface of models/__init__.py)
    "label",        # how tables, plots and logs name it
    "description",  # one line, with the paper
])

ENTRIES = (
    ModelEntry("dkvmn", "models.dkvmn", "DKVMN", "Dynamic Key-Value Memory Network (Zhang et al. 2017)"),
    ModelEntry("dkt", "models.dkt", "DKT", "Deep Knowledge Tracing, an LSTM (Piech et al. 2015)"),
    ModelEntry("bkt", "models.bkt", "BKT", "Bayesian Knowledge Tracing by EM (Corbett & Anderson 1995)"),
    ModelEntry("irt", "models.irt", "IRT", "One-parameter IRT, a logistic regression on the id (Rasch 1960)"),
    ModelEntry("pfa", "models.pfa", "PFA", "Performance Factors Analysis (Pavlik, Cen, Koedinger 2009)"),
    ModelEntry("best_lr", "models.best_lr", "Best-LR",
               "The best logistic regression of Gervet, Koedinger, Schneider, Mitchell (2020)"),
)

def _checked(entries):
    """The entries by name; ValueError on import for a name that repeats or is not a lower-case identifier (it
    is also a --model value, a variable scope and part of run folder names)."""
    by_name = collections.OrderedDict()
    for entry in entries:
        if not (entry.name.isidentifier() and entry.name == entry.name.lower()):
            raise ValueError("utils/model_registry.py: model name %r must be a lower-case identifier, e.g. "
                             "'my_model'" % entry.name)
        if entry.name in by_name:
            raise ValueError("utils/model_registry.py: model %r is registered twice" % entry.name)
        by_name[entry.name] = entry
    return by_name

MODELS = _checked(ENTRIES)

def names():
    """The model names, in the order the tables list them."""
    return tuple(MODELS)

def label(name):
    """The display name of a model (an unknown name, e.g. from an old run folder, as it is spelled)."""
    entry = MODELS.get(str(name).lower())
    return entry.label if entry else str(name)

def entry(name):
    """The ModelEntry of a registered model (check_name's ValueError otherwise)."""
    return MODELS[check_name(name)]

def check_name(name):
    """`name` if it is a registered model, else a ValueError that lists the models."""
    if name not in MODELS:
        raise ValueError("unknown model %r: choose one of %s (utils/model_registry.py lists them)"
                         % (name, ", ".join(names())))
    return name

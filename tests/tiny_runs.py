"""Tiny real runs of main.run, shared by the tests of what reads a finished run (evaluate, predict, plots),
and the data loader with main.py's constants (the one home of the defaults) for the data tests."""
import data
import main

# seq_len 8 < 12 exercises: every history is cut into chunks, as in training
TINY = {"synthetic_students": 120, "synthetic_exercises": 12, "synthetic_concepts": 3, "seq_len": 8,
        "memory_size": 3, "key_dim": 6, "value_dim": 6, "final_dim": 6, "hidden_size": 8,
        "batch_size": 16, "learning_rate": 0.01, "dropout": 0.0, "threads": 1, "early_stop_patience": 0,
        "epochs": 1}


def quiet(*args):
    pass


def tiny_config(**overrides):
    config = main.constants()
    config.update(TINY)
    config.update(overrides)
    return config


def tiny_run(root, model):
    """Trains one epoch of `model` on tiny synthetic data under `root`; returns the run folder."""
    run_dir, _ = main.run(tiny_config(model=model, runs_dir=str(root)), log=quiet)
    return run_dir


def load_data(name, dataset_dir, **options):
    """data.load_dataset with main.py's data constants, overridden by `options`."""
    defaults = dict((k, v) for k, v in main.constants().items()
                    if k in data.DATA_OPTIONS and k not in ("dataset", "dataset_dir"))
    defaults.update(options)
    return data.load_dataset(name, dataset_dir, **defaults)

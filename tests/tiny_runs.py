"""Tiny real runs of main.run, shared by the tests of what reads a finished run (evaluate, predict, plots)."""
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

"""Test set-up: TF1 graph mode (once, as main.py does), the repo root on sys.path, shared fixtures."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from utils.quiet import quiet_tensorflow  # noqa: E402
quiet_tensorflow()

import pytest  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()


@pytest.fixture(autouse=True, scope="session")
def _data_cache_in_tmp(tmp_path_factory):
    """Runs that the tests start (main.run, export_splits) keep their data cache (DATA_CACHE) in a temporary
    folder, not in the repository's .cache/data."""
    from data import cache
    cache.DEFAULT_CACHE_DIR = str(tmp_path_factory.mktemp("data_cache"))


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory):
    """model -> (run folder, its selected checkpoint opened once) of a tiny finished run per model."""
    from tiny_runs import tiny_run
    from utils import model_registry
    from utils.trained_model import TrainedModel
    root = tmp_path_factory.mktemp("runs")
    opened = {}
    for model in model_registry.names():
        run_dir = tiny_run(root, model)
        opened[model] = (run_dir, TrainedModel(run_dir))
    yield opened
    for _, trained in opened.values():
        trained.close()

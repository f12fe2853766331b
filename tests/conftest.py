"""Test set-up: TF1 graph mode (once, as main.py does), the repo root on sys.path, shared fixtures."""
import collections.abc
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


class TinyRuns(collections.abc.Mapping):
    """model -> (run folder, its selected checkpoint opened once) of a tiny finished run per registered
    model, each trained when a test first asks for it: a module that reads one model's run trains no other."""

    def __init__(self, root):
        self.root, self.opened = root, {}

    def __getitem__(self, model):
        from tiny_runs import tiny_run
        from utils import model_registry
        from utils.trained_model import TrainedModel
        if model not in model_registry.names():
            raise KeyError(model)
        if model not in self.opened:
            run_dir = tiny_run(self.root, model)
            self.opened[model] = (run_dir, TrainedModel(run_dir))
        return self.opened[model]

    def __iter__(self):
        from utils import model_registry
        return iter(model_registry.names())

    def __len__(self):
        from utils import model_registry
        return len(model_registry.names())

    def close(self):
        for _, trained in self.opened.values():
            trained.close()


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory):
    """model -> (run folder, its selected checkpoint opened once) of a tiny run per model (TinyRuns)."""
    runs = TinyRuns(tmp_path_factory.mktemp("runs"))
    yield runs
    runs.close()

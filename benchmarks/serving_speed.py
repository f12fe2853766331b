"""Speed of one update through the exported SavedModel: `step` latency for one student and throughput for a
batch of students, DKVMN and DKT at the DKVMN paper's assist2009 sizes.

    .venv/bin/python benchmarks/serving_speed.py [--threads 2] [--calls 2000] [--batch 1000]
        [--batch-calls 40] [--out benchmarks/out/serving_speed.json]

Prints a table and writes every timing to benchmarks/out/serving_speed.json. For each model it builds the
serving graph of utils/serving.py (the graph export.py writes) with random weights (seeded; the time of a step
does not depend on the values), 110 skills, and writes it as a SavedModel to a temporary folder; then, in a
fresh graph, loads that SavedModel with the TF1 loader as the README's client does and times session.run of
the `step` signature:

- one student: state [1, S], median and 90th percentile of --calls calls (after 50 warm-up calls);
- a batch of --batch students: --batch-calls calls, updates per second = batch / median seconds per call;
- each twice: fetching every output (p, new_state and the knowledge state of all 110 skills), and fetching
  p and new_state only (what a platform needs after an answer when it does not show the mastery).

The models and the four kinds of call are timed in interleaved rounds, so that load from other processes
hits them alike. On TensorFlow 2.x the one-student call is also timed through tf.saved_model.load's
signature function (eager), in a subprocess of its own.

Sizes: DKVMN N 20, d_k 50, d_v 200, final layer 50 (state: 4,000 floats per student); DKT hidden 200 with
the embedding input of 200 (state: 400 floats). Threads: TF intra- and inter-op threads = --threads.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from utils.config import main_constants  # noqa: E402

N_SKILLS = 110
CONFIGS = {  # name -> (model, hparams over main.py's constants)
    "dkvmn": ("dkvmn", {"memory_size": 20, "key_dim": 50, "value_dim": 200, "final_dim": 50,
                        "key_projection": False}),
    "dkt": ("dkt", {"hidden_size": 200, "dkt_embedding_size": 200}),
}
WARMUP = 50
ROUNDS = 10

# The eager call of TF 2.x: tf.saved_model.load's signature function, timed in a process of its own.
EAGER_TIMER = r'''
import json, sys, time
import numpy as np
import tensorflow as tf
path, calls, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
step = tf.saved_model.load(path).signatures["step"]
state = tf.constant(np.zeros((1, int(sys.argv[4])), np.float32))
skill, answer = tf.constant([3], tf.int32), tf.constant([1], tf.int32)
seconds = []
for i in range(calls + 50):
    start = time.perf_counter()
    out = step(state=state, skill=skill, answer=answer)
    out["p"].numpy()
    seconds.append(time.perf_counter() - start)
print(json.dumps(seconds[50:]))
'''


def export_random_model(tf, model_name, hparams, path, threads):
    """Builds the serving graph with seeded random weights and writes it as a SavedModel; returns S."""
    import models
    from utils.serving import build_serving_graph, write_saved_model
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        serving = build_serving_graph(model_name, N_SKILLS, hparams)
        with tf.Session(config=session_config(tf, threads)) as session:
            session.run(tf.global_variables_initializer())
            session.run(serving.load_tables)
            write_saved_model(session, serving.signatures, path)
    return models.MODELS[model_name].state_size(N_SKILLS, models.checked_hparams(model_name, hparams))


def session_config(tf, threads):
    return tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)


class LoadedStep(object):
    """The `step` signature of a SavedModel, loaded with the TF1 loader in a graph and session of its own."""

    def __init__(self, tf, path, threads):
        self.session = tf.Session(graph=tf.Graph(), config=session_config(tf, threads))
        with self.session.graph.as_default():
            meta_graph = tf.saved_model.loader.load(self.session, ["serve"], path)
        signature = meta_graph.signature_def["step"]
        self.inputs = dict((key, info.name) for key, info in signature.inputs.items())
        self.outputs = dict((key, info.name) for key, info in signature.outputs.items())

    def timed_calls(self, feeds, fetch_all, calls):
        """Seconds of each of `calls` session.run calls of step."""
        fetches = self.outputs if fetch_all else dict((k, self.outputs[k]) for k in ("p", "new_state"))
        feed_dict = dict((self.inputs[key], value) for key, value in feeds.items())
        seconds = []
        for _ in range(calls):
            start = time.perf_counter()
            self.session.run(fetches, feed_dict)
            seconds.append(time.perf_counter() - start)
        return seconds


def step_feeds(batch, state_size, rng):
    return {"state": rng.normal(0.0, 0.1, (batch, state_size)).astype(np.float32),
            "skill": rng.randint(0, N_SKILLS, batch).astype(np.int32),
            "answer": rng.randint(0, 2, batch).astype(np.int32)}


def summary(seconds):
    ordered = sorted(seconds)
    return {"median_s": statistics.median(seconds), "p90_s": ordered[int(0.9 * (len(ordered) - 1))],
            "calls": len(seconds)}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=2000, help="one-student calls per model and kind")
    ap.add_argument("--batch", type=int, default=1000, help="students per call of the throughput test")
    ap.add_argument("--batch-calls", type=int, default=40, help="batch calls per model and kind")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "out", "serving_speed.json"))
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    tf.logging.set_verbosity(tf.logging.ERROR)
    constants = main_constants()
    rng = np.random.RandomState(0)
    folder = tempfile.mkdtemp(prefix="serving_speed-")
    try:
        loaded, sizes, paths = {}, {}, {}
        for name, (model_name, overrides) in CONFIGS.items():
            hparams = dict(constants, **overrides)
            paths[name] = os.path.join(folder, name)
            sizes[name] = export_random_model(tf, model_name, hparams, paths[name], args.threads)
            loaded[name] = LoadedStep(tf, paths[name], args.threads)
        kinds = [("one", 1, args.calls), ("batch", args.batch, args.batch_calls)]
        feeds = dict(((name, kind), step_feeds(batch, sizes[name], rng)) for name in CONFIGS
                     for kind, batch, _ in kinds)
        for name in CONFIGS:  # warm-up: the first calls build kernels and caches
            for kind, _, _ in kinds:
                loaded[name].timed_calls(feeds[name, kind], True, WARMUP if kind == "one" else 3)
        seconds = dict(((name, kind, fetch_all), []) for name in CONFIGS for kind, _, _ in kinds
                       for fetch_all in (True, False))
        for _ in range(ROUNDS):
            for name in CONFIGS:
                for kind, _, calls in kinds:
                    for fetch_all in (True, False):
                        seconds[name, kind, fetch_all] += loaded[name].timed_calls(
                            feeds[name, kind], fetch_all, max(1, calls // ROUNDS))
        eager = {}
        if not tf.__version__.startswith("1."):
            for name in CONFIGS:
                out = subprocess.run([sys.executable, "-c", EAGER_TIMER, paths[name], str(args.calls),
                                      str(args.threads), str(sizes[name])], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True, check=True)
                eager[name] = summary(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    results = {"machine": {"python": platform.python_version(), "tensorflow": tf.__version__,
                           "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
               "threads": args.threads, "n_skills": N_SKILLS, "batch": args.batch, "configs": {}}
    print("step through the loaded SavedModel (TF %s, %d threads, %d skills); median [90th percentile]"
          % (tf.__version__, args.threads, N_SKILLS))
    print("%-6s %7s  %-24s %-24s %-22s %-22s" % ("model", "state", "1 student, all outputs",
                                                 "1 student, p + state", "%d students, all" % args.batch,
                                                 "%d students, p + state" % args.batch))
    for name, (model_name, overrides) in CONFIGS.items():
        record = {"model": model_name, "hparams": overrides, "state_size": sizes[name]}
        cells = []
        for kind, batch, _ in kinds:
            for fetch_all in (True, False):
                times = seconds[name, kind, fetch_all]
                entry = summary(times)
                entry["updates_per_s"] = batch / entry["median_s"]
                entry["seconds"] = times
                record["%s_%s" % (kind, "all" if fetch_all else "p_state")] = entry
                if kind == "one":
                    cells.append("%.3f ms [%.3f]" % (1e3 * entry["median_s"], 1e3 * entry["p90_s"]))
                else:
                    cells.append("%s upd/s (%.1f ms)" % (format(int(entry["updates_per_s"]), ","),
                                                         1e3 * entry["median_s"]))
        if name in eager:
            record["one_all_tf2_eager_signature"] = eager[name]
        results["configs"][name] = record
        print("%-6s %7d  %-24s %-24s %-22s %-22s" % tuple([name, sizes[name]] + cells))
    for name, entry in eager.items():
        print("%s, 1 student through tf.saved_model.load(...).signatures['step'] (eager): %.3f ms [%.3f]"
              % (name, 1e3 * entry["median_s"], 1e3 * entry["p90_s"]))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print("wrote %s" % args.out)


if __name__ == "__main__":
    main()

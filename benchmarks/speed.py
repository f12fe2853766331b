"""Training and evaluation speed of DKVMN and DKT, a whole epoch of main.py, and pyKT (PyTorch) as a peer.

    .venv/bin/python benchmarks/speed.py [--threads 2] [--repeats 10] [--warmup 3]
        [--data-dir DIR] [--peer-python PYTHON] [--peer-script PATH] [--peer-omp-wait-policy POLICY]
        [--no-peer] [--no-epoch] [--out PATH]

Prints tables and writes every repeat to benchmarks/out/speed.json. What it measures, at the DKVMN paper's
assist2009_updated shapes (batch 32, SEQ_LEN 200, 110 skills; DKVMN N 20, d_k 50, d_v 200, final layer 50;
DKT hidden 200 with the embedding input of 200, pyKT's architecture, and with the paper's one-hot input),
and for DKVMN at d_k = d_v = final = 200 (pyKT's DKVMN uses one size for all three):

- train step: one Adam step on a fixed random batch whose last quarter is padding (as the peer script does),
  median of --repeats after --warmup. All configurations are built in one process and timed in rounds (one
  step of each per round), so that load from other processes hits them alike and ratios are fair.
- eval positions/s: B*T positions over the time of one forward pass (p) on that batch.
- the baseline: "dkvmn-scan" and "dkt-scan" are the same models with the plain tf.scan recurrences
  (models.memory.value_memory_reads_reference, models.lstm.lstm_hidden_states_reference) differentiated by
  TensorFlow, assembled here from the library's own pieces (parameters, input tables, read-out, loss,
  training op) - nothing in the library is patched.
- profile: forward only (loss), forward + backward (gradient norm, no update), and each recurrence alone
  (forward, forward + backward) on tensors of the model's shapes, in main.py's BATCH_PARTS parts as the
  model runs it, and as ablations in one part and as tf.scan.
- arithmetic floor: the matmul-like FLOPs of one step (counted from the shapes, `step_flops`) over the
  machine's matmul rate, measured by timing a 2048 x 2048 tf.matmul with the same threads.
- epoch: `main.py --epochs 1` on assist2009_updated fold 1 (a subprocess per model, run as a program),
  read back from its run folder: train_seconds and eval_seconds of epochs.csv (the training loop, and the
  validation and test scoring it does every epoch), the checkpointing after them (from the files' times),
  the number of steps, and the process's peak RSS. The overhead is named and measured, not inferred: the
  evaluation and the checkpointing as the run took them, the data (batching the shuffled training split)
  and the logging (the step log's rows) replayed here with the library's functions; the steps are the
  training loop's time less data and logging, shown beside steps x the step time measured above (another
  process at another moment: on a loaded machine the two differ by the load).
- peer: pyKT's DKVMN and DKT (--peer-script, run by --peer-python in its own venv), before and after ours,
  with OMP_WAIT_POLICY=PASSIVE unless set (--peer-omp-wait-policy; see peer_environment). Missing: one line,
  and the rest runs.
- builds: what each side was built with and runs with, since the ratios depend on it: the peer's torch
  (version, how pip installed it, BLAS, oneDNN, the CPU capability ATen dispatches to, OpenMP, threads and
  inter-op threads) and our TensorFlow (version, oneDNN on or off, threads), the environment variables that
  change either (SPEED_ENVIRONMENT), the CPU's vector features, and the load average at the start, after our
  timing and at the end (figures taken at a load above ~0.3 on 2 cores are not those of a quiet machine).

Paths (relative ones are relative to the repository):
  --data-dir     $KT_DATA_DIR, else ../shared/data/dkvmn (holds assist2009_updated/)
  --peer-python  $KT_PEER_PYTHON, else ../pykt-venv/bin/python (a venv beside the repository: not inside
                 ../shared, which is copied to every machine, nor inside the repository)
  --peer-script  $KT_PEER_SCRIPT, else ../shared/peers/pykt_speed.py
Threads: TF intra- and inter-op threads = --threads (the peer's torch threads, and main.py's THREADS, too).
"""
import argparse
import collections
import contextlib
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

from utils.quiet import quiet_tensorflow  # noqa: E402
quiet_tensorflow()  # before TensorFlow loads, here and in the timing workers (utils/quiet.py)
from utils.config import main_constants  # noqa: E402

BATCH, SEQ_LEN, N_SKILLS = 32, 200, 110
PAPER_DKVMN = {"memory_size": 20, "key_dim": 50, "value_dim": 200, "final_dim": 50}
CONFIGS = {  # name -> (model, hparams over main.py's constants)
    "dkvmn": ("dkvmn", PAPER_DKVMN),
    "dkt": ("dkt", {"hidden_size": 200, "dkt_embedding_size": 200}),   # embedding input (pyKT's DKT)
    "dkt-onehot": ("dkt", {"hidden_size": 200, "dkt_embedding_size": 0}),  # the paper's one-hot input
    # pyKT's DKVMN shapes: key = value = summary size = dim_s.
    "dkvmn-d200": ("dkvmn", {"memory_size": 20, "key_dim": 200, "value_dim": 200, "final_dim": 200}),
}
SCAN_CONFIGS = {"dkvmn-scan": "dkvmn", "dkt-scan": "dkt"}   # the baseline: plain tf.scan recurrences
EPOCH_DATA = "assist2009_updated"


def repo_path(path):
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(ROOT, path))


def session_config(tf, threads):
    return tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)


def random_batch(seed=0):
    """A fixed batch like the peer's: random skills and answers, the last quarter of each row padding."""
    rng = np.random.RandomState(seed)
    skills = rng.randint(0, N_SKILLS, (BATCH, SEQ_LEN)).astype(np.int32)
    answers = rng.randint(0, 2, (BATCH, SEQ_LEN)).astype(np.int32)
    mask = np.ones((BATCH, SEQ_LEN), np.float32)
    mask[:, SEQ_LEN * 3 // 4:] = 0.0
    return skills, answers, mask


def hparams_of(name):
    model, overrides = CONFIGS[SCAN_CONFIGS.get(name, name)]
    return model, dict(main_constants(), **overrides)


def step_flops(model, hp):
    """Matmul-like FLOPs (a multiply-add = 2) of one training step at B 32, T 200.

    Backward of a matmul = 2 matmuls of the same size, so dense layers count 3x; the value-memory recurrence
    counts 5 FLOPs per memory element and step forward (read 2, write 3) and 13 backward (models/memory.py).
    Elementwise activations, gathers and the optimizer update are left out: this is a floor.
    Both models compute what depends on the input alone once per skill or (skill, answer) pair (DKVMN's w,
    e, a and key half of the summary layer; DKT's input gates x W_x + b), so those count per table row.
    """
    bt = BATCH * SEQ_LEN
    if model == "dkvmn":
        n, dk, dv, f = hp["memory_size"], hp["key_dim"], hp["value_dim"], hp["final_dim"]
        tables = (N_SKILLS * (n * dk + dk * f) + 2 * N_SKILLS * 2 * dv * dv) * 2
        per_position = bt * (dv * f + f) * 2
        return 3 * (tables + per_position) + bt * n * dv * (5 + 13)
    h, emb = hp["hidden_size"], hp["dkt_embedding_size"]
    table = 2 * N_SKILLS * emb * 4 * h * 2
    per_position = bt * (h * 4 * h + h) * 2
    return 3 * (table + per_position) + bt * h * 10 * 3   # + LSTM cell elementwise, forward and backward


class ScanModel(object):
    """The inputs and training op of a model assembled with its plain tf.scan recurrence (the baseline)."""

    def __init__(self, tf, model, hp):
        import models
        self.skills = tf.placeholder(tf.int32, [None, None])
        self.answers = tf.placeholder(tf.int32, [None, None])
        self.mask = tf.placeholder(tf.float32, [None, None])
        self.training = tf.placeholder_with_default(False, [])
        logits = (self._dkvmn if model == "dkvmn" else self._dkt)(tf, hp)
        self.loss = models.masked_bce(logits, self.answers, self.mask)
        objective = models.training_objective(self.loss, self.mask, hp["loss_scale"])
        self.train_op, self.grad_norm = models.training_op(
            objective, tf.constant(float(hp["learning_rate"])), hp, tf.train.get_or_create_global_step())

    def _dkvmn(self, tf, hp):
        """models.dkvmn.build with models.memory.value_memory_reads_reference."""
        from models import dkvmn, memory
        with tf.variable_scope("dkvmn"):
            params = dkvmn.parameters(N_SKILLS, hp)
            tables = dkvmn.input_tables(params)
            interactions = self.skills + self.answers * N_SKILLS
            reads = memory.value_memory_reads_reference(
                tf.gather(tables["correlation_weight"], self.skills),
                tf.gather(tables["erase"], interactions), tf.gather(tables["add"], interactions),
                params["initial_value_memory"])
            key_terms = tf.gather(tables["summary_key_term"], self.skills)
            return dkvmn.read_out(reads, key_terms, params, float(hp["dropout"]), self.training)

    def _dkt(self, tf, hp):
        """models.dkt.build with models.lstm.lstm_hidden_states_reference on per-position input gates."""
        from models import dkt, lstm
        from models.layers import dropout_if_training
        with tf.variable_scope("dkt"):
            params = dkt.parameters(N_SKILLS, hp)
            gates = dkt.input_gates(self.skills + self.answers * N_SKILLS, params)
            states = lstm.lstm_hidden_states_reference(gates, params["recurrent_kernel"])
            states = dropout_if_training(states, float(hp["dropout"]), self.training)
            skill_kernels = tf.gather(tf.transpose(params["output_kernel"]), self.skills)
            output_bias = tf.gather(params["output_bias"], self.skills)
            return tf.reduce_sum(states * skill_kernels, axis=-1) + output_bias


def build(tf, name, seed=0):
    """(graph, model, build seconds): models.build_graph's KTGraph, or a ScanModel for the baseline."""
    import models
    model, hp = hparams_of(name)
    graph = tf.Graph()
    started = time.perf_counter()
    with graph.as_default():
        tf.set_random_seed(seed)
        kt = (ScanModel(tf, model, hp) if name in SCAN_CONFIGS else
              models.build_graph(model, N_SKILLS, hp, batch_parts=hp["batch_parts"]))
    return graph, kt, time.perf_counter() - started


def recurrence_graph(tf, name, fn):
    """A recurrence alone at a configuration's shapes: (graph, its output, its gradients)."""
    model, hp = hparams_of(name)
    rng = np.random.RandomState(0)
    graph = tf.Graph()
    with graph.as_default():
        if model == "dkvmn":
            n, dv = hp["memory_size"], hp["value_dim"]
            logits = tf.Variable(rng.randn(BATCH, SEQ_LEN, n).astype(np.float32))
            e = tf.sigmoid(tf.Variable(rng.randn(BATCH, SEQ_LEN, dv).astype(np.float32)))
            a = tf.tanh(tf.Variable(rng.randn(BATCH, SEQ_LEN, dv).astype(np.float32)))
            m0 = tf.Variable(0.1 * rng.randn(n, dv).astype(np.float32))
            inputs = [tf.nn.softmax(logits), e, a, m0]
        else:   # DKT: a gate table of 2 n_skills rows and the batch's interactions
            h = hp["hidden_size"]
            table = tf.Variable(rng.randn(2 * N_SKILLS, 4 * h).astype(np.float32))
            indices = tf.constant(rng.randint(0, 2 * N_SKILLS, (BATCH, SEQ_LEN)).astype(np.int32))
            inputs = [table, indices, tf.Variable(0.1 * rng.randn(h, 4 * h).astype(np.float32))]
        out = fn(*inputs)
        differentiable = [x for x in inputs if x.dtype != tf.int32]
        grads = tf.gradients(tf.reduce_sum(out * out), differentiable)
    return graph, out, grads


def recurrence_variants(name):
    """{suffix: recurrence function} timed alone for a configuration (explicit library functions): "" in
    main.py's BATCH_PARTS parts, as the model runs it; "_1part" and "_scan" the ablations."""
    import tensorflow.compat.v1 as tf
    from models import lstm, memory
    parts = main_constants()["batch_parts"]
    if name.startswith("dkvmn"):
        variants = {"": lambda *x: memory.value_memory_reads(*x, batch_parts=parts)}
        if name == "dkvmn":   # the ablations, at the paper's shapes only
            variants["_1part"] = lambda *x: memory.value_memory_reads(*x, batch_parts=1)
            variants["_scan"] = memory.value_memory_reads_reference
        return variants
    return {"": lambda *x: lstm.lstm_hidden_states_from_table(*x, batch_parts=parts),
            "_1part": lambda *x: lstm.lstm_hidden_states_from_table(*x, batch_parts=1),
            "_scan": lambda table, indices, kernel: lstm.lstm_hidden_states_reference(
                tf.gather(table, indices), kernel)}


def timed_rounds(jobs, warmup, repeats):
    """jobs: {name: callable}. Runs warmup + repeats rounds of one call each; returns {name: [seconds]}."""
    times = {name: [] for name in jobs}
    for i in range(warmup + repeats):
        for name, run in jobs.items():
            t0 = time.perf_counter()
            run()
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    return times


def timing_worker(args):
    """Step, eval and profile timings of every configuration, in rounds, in this one process."""
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    skills, answers, mask = random_batch()
    sessions, jobs, build_s = {}, {}, {}

    def bind(sess, fetch, feed=None):
        return lambda: sess.run(fetch, feed)

    for name in list(CONFIGS) + list(SCAN_CONFIGS):
        graph, kt, build_s[name] = build(tf, name)
        sess = tf.Session(graph=graph, config=session_config(tf, args.threads))
        with graph.as_default():
            sess.run(tf.global_variables_initializer())
        train_feed = {kt.skills: skills, kt.answers: answers, kt.mask: mask, kt.training: True}
        sessions[name] = sess
        jobs[name + "/train_step"] = bind(sess, kt.train_op, train_feed)
        if name in SCAN_CONFIGS:
            continue
        jobs[name + "/eval"] = bind(sess, kt.p, {kt.skills: skills, kt.answers: answers, kt.mask: mask})
        jobs[name + "/forward"] = bind(sess, kt.loss, train_feed)
        jobs[name + "/forward_backward"] = bind(sess, kt.grad_norm, train_feed)
    for name in ("dkvmn", "dkvmn-d200", "dkt"):
        for suffix, fn in recurrence_variants(name).items():
            graph, out, grads = recurrence_graph(tf, name, fn)
            sess = tf.Session(graph=graph, config=session_config(tf, args.threads))
            with graph.as_default():
                sess.run(tf.global_variables_initializer())
            sessions[name + "/recurrence" + suffix] = sess
            jobs["%s/recurrence%s_forward" % (name, suffix)] = bind(sess, out.op)
            jobs["%s/recurrence%s_forward_backward" % (name, suffix)] = bind(sess, [g.op for g in grads])
    times = timed_rounds(jobs, args.warmup, args.repeats)
    for sess in sessions.values():
        sess.close()
    return {"times_s": times, "build_s": build_s, "tensorflow_build": tensorflow_build(args.threads)}


def matmul_worker(args):
    """The machine's matmul rate (FLOP/s): a 2048 x 2048 float32 tf.matmul with the benchmark's threads."""
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    size = 2048
    graph = tf.Graph()
    with graph.as_default():
        x = tf.Variable(np.random.RandomState(0).randn(size, size).astype(np.float32))
        y = tf.reduce_sum(tf.matmul(x, x))
    with tf.Session(graph=graph, config=session_config(tf, args.threads)) as sess:
        sess.run(x.initializer)
        times = timed_rounds({"matmul": lambda: sess.run(y)}, 2, 7)["matmul"]
    return {"size": size, "times_s": times, "flops_per_s": 2.0 * size ** 3 / statistics.median(times)}


def run_worker(args, what):
    """Runs `speed.py --worker what` in a fresh process and returns its JSON result."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", what, "--threads", str(args.threads),
           "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    if out.returncode != 0:
        raise RuntimeError("worker %s failed:\n%s" % (what, out.stderr[-3000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def epoch_data_folder(args):
    """The assist2009_updated folder in --data-dir, or None (with the reason) when its fold 1 is missing."""
    folder = os.path.join(repo_path(args.data_dir), EPOCH_DATA)
    needed = os.path.join(folder, EPOCH_DATA + "_train1.csv")
    if not os.path.isfile(needed):
        return None, "%s does not exist (set --data-dir or KT_DATA_DIR)" % needed
    return folder, None


def run_epoch(args, name, folder):
    """One epoch of main.py (a subprocess) on assist2009_updated fold 1; what its run folder says."""
    from utils import run_files
    model, hp = hparams_of(name)
    runs_dir = tempfile.mkdtemp(prefix="speed-epoch-")
    overrides = ["--model", model, "--dataset", EPOCH_DATA, "--dataset_dir", os.path.relpath(folder, ROOT),
                 "--fold", "1",
                 "--epochs", "1", "--threads", str(args.threads), "--runs_dir", runs_dir]
    for key, value in sorted(CONFIGS[name][1].items()):
        overrides += ["--" + key, str(value)]
    try:
        with open(os.path.join(runs_dir, "main.log"), "w") as log:
            started = time.perf_counter()
            child = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py")] + overrides, cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(child.pid, 0)   # with this child's own peak RSS
            child.returncode = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
            wall_s = time.perf_counter() - started
        if child.returncode != 0:
            with open(os.path.join(runs_dir, "main.log")) as log:
                return {"error": log.read()[-2000:]}
        run_dir = [os.path.join(runs_dir, d) for d in os.listdir(runs_dir)
                   if os.path.isdir(os.path.join(runs_dir, d))][0]
        epoch = run_files.read_epochs(run_dir).iloc[0]
        steps = len(run_files.read_steps(run_dir))
        # After epochs.csv's row: TensorBoard scalars, checkpoints, then state.json (the commit point).
        checkpoint_s = (os.stat(os.path.join(run_dir, run_files.STATE)).st_mtime
                        - os.stat(os.path.join(run_dir, run_files.EPOCHS)).st_mtime)
        data_s, logging_s = data_and_logging_seconds(folder, steps)
        return {"command": "main.py " + " ".join(o if o != runs_dir else "RUNS_DIR" for o in overrides),
                "train_seconds": float(epoch["train_seconds"]), "eval_seconds": float(epoch["eval_seconds"]),
                "checkpoint_seconds": checkpoint_s, "data_seconds": data_s, "logging_seconds": logging_s,
                "steps": steps, "process_wall_s": wall_s, "peak_rss_mb": usage.ru_maxrss / 1024.0,
                "valid_auc": float(epoch["valid_auc"])}
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)


def data_and_logging_seconds(folder, steps):
    """What an epoch of main.py spends besides its steps inside the training loop, replayed here with the
    library's own pieces: (batching the shuffled training split, writing `steps` rows of the step log)."""
    import data
    from utils import run_files
    from utils.training import epoch_shuffle_seed
    constants = main_constants()
    options = dict((k, v) for k, v in constants.items()
                   if k in data.DATA_OPTIONS and k not in ("dataset", "dataset_dir"))
    options["fold"] = 1
    dataset = data.load_dataset(EPOCH_DATA, folder, **options)
    started = time.perf_counter()
    # list(): make_batches pads each batch when it is reached, which the epoch does inside its loop
    list(data.make_batches(dataset.train, constants["seq_len"], constants["batch_size"], shuffle=True,
                           seed=epoch_shuffle_seed(constants["seed"], 1)))
    data_s = time.perf_counter() - started
    log_dir = tempfile.mkdtemp(prefix="speed-log-")
    try:
        started = time.perf_counter()
        log = run_files.CsvLog(os.path.join(log_dir, run_files.STEPS), run_files.STEP_COLUMNS)
        for step in range(steps):
            log.append({"step": step + 1, "epoch": 1, "train_loss": 0.5})
        log.close()
        logging_s = time.perf_counter() - started
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    return data_s, logging_s


def peer_environment(wait_policy):
    """The environment the peer runs in: OMP_WAIT_POLICY=`wait_policy`, or without it for "unset".

    PyTorch's OpenMP threads wait for work between parallel regions: pyKT's DKVMN step opens ~2,000 of them
    (an elementwise op on its [32, 20, 200] memory, 200 times forward and backward). On a machine shared with
    other processes a spinning thread that lost its core stalls every op, so PASSIVE is the fair setting
    there. "unset" leaves the OpenMP runtime's default (GNU OpenMP spins a while, then sleeps), as a user runs
    pyKT. TF's thread pool does not spin like that.
    """
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy != "unset":
        env["OMP_WAIT_POLICY"] = wait_policy
    return env


def run_peer(args, model, threads=None, wait_policy=None, extra_env=None):
    """pyKT's step time for `model` (a subprocess in its own venv); by default with the benchmark's threads
    and --peer-omp-wait-policy."""
    threads = args.threads if threads is None else threads
    cmd = [repo_path(args.peer_python), repo_path(args.peer_script), "--model", model, "--dim_s", "200",
           "--size_m", "20", "--hidden", "200", "--threads", str(threads), "--warmup", str(args.warmup),
           "--repeats", str(args.repeats)]
    env = dict(peer_environment(wait_policy or args.peer_omp_wait_policy), **(extra_env or {}))
    load_before = os.getloadavg()[0]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         env=env)
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["OMP_WAIT_POLICY"] = env.get("OMP_WAIT_POLICY", "unset")
    result["environment"] = speed_environment(env)
    result["load_average_1min"] = [load_before, os.getloadavg()[0]]
    return result


# Kernels capped at AVX2 in all three libraries of the peer's torch (ATen, MKL, oneDNN).
AVX2_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                "ONEDNN_MAX_CPU_ISA": "AVX2"}


class PeerVariant(collections.namedtuple("PeerVariant", "threads policy environment busy_loops")):
    """How one row of the peer grid runs pyKT: its threads, OMP_WAIT_POLICY, extra environment variables and
    the number of idle-priority busy loops beside it."""


def peer_grid_variants(args, features):
    """{name: PeerVariant}: the peer as timed, then one change at a time."""
    policy = args.peer_omp_wait_policy
    variants = {"as timed": PeerVariant(args.threads, policy, {}, 0),
                "OpenMP default waiting": PeerVariant(args.threads, "unset", {}, 0),
                "1 thread": PeerVariant(1, policy, {}, 0),
                "beside idle-priority busy loops": PeerVariant(args.threads, policy, {}, os.cpu_count() or 1)}
    if "avx512f" in features:
        variants["AVX2 kernels (no AVX-512)"] = PeerVariant(args.threads, policy, AVX2_KERNELS, 0)
    variants["no vector kernels (ATen default)"] = PeerVariant(args.threads, policy,
                                                               {"ATEN_CPU_CAPABILITY": "default"}, 0)
    return variants


# A process that keeps one core busy at the lowest priority: it yields that core to any other thread at
# once, but the core never goes idle. On a virtual machine an idle vCPU halts, and waking it for a sleeping
# OpenMP thread costs far more than a switch away from a running process. It ends by itself once the
# benchmark that started it is gone (a `timeout` ends the benchmark without its finally blocks).
BUSY_LOOP = ("import os, sys; os.nice(19)\n"
             "while os.getppid() == int(sys.argv[1]): pass  # benchmarks/speed.py: a busy core")


@contextlib.contextmanager
def busy_cores(count):
    """`count` idle-priority busy loops running for the duration of the block."""
    loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(os.getpid())]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def step_text(peer_run):
    if "train_step_s_median" in peer_run:
        return "%.3f s a step" % peer_run["train_step_s_median"]
    return "failed: %s" % (peer_run["error"].strip().splitlines() or ["no message"])[-1]


def peer_grid(args, features):
    """The peer's steps with one setting changed at a time, in two rounds of every variant (a change of the
    machine's load hits them alike): which setting moves pyKT's step, and by how much."""
    variants = peer_grid_variants(args, features)
    runs = {}
    for round_ in (1, 2):
        for name, variant in variants.items():
            for model in ("dkvmn", "dkt"):
                with busy_cores(variant.busy_loops):
                    run = run_peer(args, model, variant.threads, variant.policy, variant.environment)
                runs.setdefault(name, {}).setdefault(model, []).append(run)
                print("round %d, %s, %s: %s" % (round_, name, model, step_text(run)), flush=True)
    print("\n| pyKT, median step (s) of 2 rounds | DKVMN | DKT | threads | OMP_WAIT_POLICY | environment "
          "| busy loops |")
    print("|---|---|---|---|---|---|---|")
    table = {}
    for name, variant in variants.items():
        steps = {model: median([r["train_step_s_median"] for r in runs[name][model]
                                if "train_step_s_median" in r]) for model in ("dkvmn", "dkt")}
        table[name] = dict(steps, threads=variant.threads, OMP_WAIT_POLICY=variant.policy,
                           environment=variant.environment, busy_loops=variant.busy_loops)
        print("| %s | %.3f | %.3f | %d | %s | %s | %d |" % (
            name, steps["dkvmn"], steps["dkt"], variant.threads, variant.policy,
            " ".join("%s=%s" % kv for kv in variant.environment.items()), variant.busy_loops))
    return {"variants": table, "runs": runs}


# Environment variables that change how fast either side runs: threads, OpenMP waiting, BLAS and oneDNN
# kernel choice (ATen's and oneDNN's CPU dispatch, OpenBLAS's core type), TensorFlow's oneDNN switch.
SPEED_ENVIRONMENT = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
                     "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                     "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA",
                     "DNNL_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS")
CPU_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def speed_environment(env=None):
    env = os.environ if env is None else env
    return {name: env[name] for name in SPEED_ENVIRONMENT if name in env}


def torch_build(threads, speed_environment_names):
    """How the peer's torch was installed and built, and how it runs (threads as the peer script sets them).

    Runs inside the peer's Python (its source is sent with -c): the standard library and torch only.
    """
    import json
    import os
    import platform
    import sysconfig
    import torch
    try:
        import importlib.metadata as metadata
    except ImportError:  # Python < 3.8 (no torch of ours runs there; a stand-in may): no install record
        metadata = None
    torch.set_num_threads(threads)   # as the peer script does; the inter-op threads stay torch's default
    config = torch.__config__.show()
    parallel = torch.__config__.parallel_info()

    def first_line(text, marker):
        lines = [line.strip(" -\t") for line in text.splitlines() if marker in line]
        return lines[0] if lines else None

    def build_setting(name):
        settings = (first_line(config, "Build settings:") or "").partition(":")[2]
        for item in settings.split(","):
            key, _, value = item.strip().partition("=")
            if key == name:
                return value
        return None

    dist = metadata.distribution("torch") if metadata else None
    direct_url = dist.read_text("direct_url.json") if dist else None
    packages = sorted("%s==%s" % (d.metadata["Name"], d.version)
                      for d in metadata.distributions()) if metadata else []
    print(json.dumps({
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "blas": build_setting("BLAS_INFO"),
        "mkl": first_line(config, "Math Kernel Library"),
        "onednn": first_line(config, "MKL-DNN") or first_line(config, "oneDNN"),
        "openmp": first_line(config, "OpenMP"),
        "parallel_backend": first_line(parallel, "ATen parallel backend"),
        "compiled_cpu_capability": first_line(config, "CPU capability usage"),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl_available": torch.backends.mkl.is_available(),
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        # where the wheel came from: the installer, a direct URL's file name, and what it requires
        # (a CUDA build requires nvidia-* packages; `pip install --no-deps` leaves them out)
        "torch_installer": (dist.read_text("INSTALLER") or "").strip() if dist else None,
        "torch_direct_url": os.path.basename(json.loads(direct_url)["url"]) if direct_url else None,
        "torch_requires": (dist.requires or []) if dist else [],
        "packages": packages,
        "python": platform.python_version(),
        "python_compiler": platform.python_compiler(),
        "python_optimized": [flag for flag in (sysconfig.get_config_var("CONFIG_ARGS") or "").split()
                             if "optimizations" in flag or "lto" in flag],
        "environment": {name: os.environ[name] for name in speed_environment_names if name in os.environ},
    }))


def peer_build(args):
    """torch_build run by the peer's Python, in the environment the peer runs in (a dict; "error" if it
    failed)."""
    import inspect
    code = "%s\ntorch_build(%d, %r)\n" % (inspect.getsource(torch_build), args.threads, SPEED_ENVIRONMENT)
    out = subprocess.run([repo_path(args.peer_python), "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True,
                         env=peer_environment(args.peer_omp_wait_policy))
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def tensorflow_build(threads):
    """What our TensorFlow was built with and how the benchmark runs it (in the process that times it)."""
    import tensorflow as tf
    try:
        from tensorflow.python.util import _pywrap_util_port
        onednn = bool(_pywrap_util_port.IsMklEnabled())   # on by default only on some CPUs
    except (ImportError, AttributeError):
        onednn = None
    build_info = getattr(getattr(tf, "sysconfig", None), "get_build_info", dict)()
    return {"tensorflow": tf.__version__, "onednn_enabled": onednn,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
            "build_info": {k: v for k, v in build_info.items() if isinstance(v, (str, bool, int))},
            "intra_op_threads": threads, "inter_op_threads": threads,
            "python": platform.python_version(), "python_compiler": platform.python_compiler(),
            "environment": speed_environment()}


def cpu_identity(cpuinfo="/proc/cpuinfo"):
    """The first CPU's vendor, family, model, stepping, clock and cache, and which CPU_FEATURES it has.

    A virtual machine often names its CPU only "Intel(R) Xeon(R) Processor"; family and model still tell the
    generation, and the vector features tell which kernels ATen, oneDNN and Eigen dispatch to.
    """
    try:
        with open(cpuinfo) as f:
            text = f.read()
    except OSError:
        return None
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = fields.get("flags", "").split()
    identity = {key.replace(" ", "_"): fields.get(key) for key in
                ("vendor_id", "cpu family", "model", "stepping", "cpu MHz", "cache size")}
    identity["features"] = [name for name in CPU_FEATURES if name in flags]
    return identity


def peer_missing(args):
    """Why the peer cannot run (one line), or None."""
    if args.no_peer:
        return "--no-peer"
    for flag, path in (("--peer-python or KT_PEER_PYTHON", args.peer_python),
                       ("--peer-script or KT_PEER_SCRIPT", args.peer_script)):
        if not os.path.isfile(repo_path(path)):
            return "%s does not exist (set %s; ../shared/peers/pykt_speed.py says how to install pyKT)" % (
                repo_path(path), flag)
    return None


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--data-dir", default=os.environ.get("KT_DATA_DIR", "../shared/data/dkvmn"))
    ap.add_argument("--peer-python", default=os.environ.get("KT_PEER_PYTHON", "../pykt-venv/bin/python"))
    ap.add_argument("--peer-script",
                    default=os.environ.get("KT_PEER_SCRIPT", "../shared/peers/pykt_speed.py"))
    ap.add_argument("--out", help="the JSON written (default benchmarks/out/speed.json, or "
                                  "benchmarks/out/speed_peer_grid.json with --peer-grid)")
    ap.add_argument("--peer-grid", action="store_true",
                    help="time only the peer, with one setting changed at a time (threads, OpenMP waiting, "
                         "busy cores, vector kernels): which one moves its step")
    ap.add_argument("--peer-omp-wait-policy", choices=("PASSIVE", "ACTIVE", "unset"),
                    default=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
                    help="the peer's OMP_WAIT_POLICY (default: $OMP_WAIT_POLICY, else PASSIVE); unset: the "
                         "OpenMP runtime's default, as a user runs pyKT")
    ap.add_argument("--no-peer", action="store_true", help="skip pyKT")
    ap.add_argument("--no-epoch", action="store_true", help="skip the main.py epochs")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main():
    args = parse_args()
    if args.worker:
        result = timing_worker(args) if args.worker == "timing" else matmul_worker(args)
        print(json.dumps(result))
        return

    if args.peer_grid:
        from utils import commands
        args.out = args.out or os.path.join(ROOT, "benchmarks", "out", "speed_peer_grid.json")
        return commands.exit_status(lambda: run_peer_grid(args), writing=args.out)
    args.out = args.out or os.path.join(ROOT, "benchmarks", "out", "speed.json")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    import tensorflow as tf_version
    from utils import run_files
    result = {"command": " ".join([os.path.relpath(sys.executable, ROOT)] + sys.argv),
              "threads": args.threads, "repeats": args.repeats, "warmup": args.warmup,
              "tensorflow": tf_version.__version__, "python": platform.python_version(),
              "cpu": cpu_model(), "cores": os.cpu_count(), "cpu_identity": cpu_identity(),
              "shapes": {"batch": BATCH, "seq_len": SEQ_LEN, "n_skills": N_SKILLS},
              "configs": {k: dict(hparams_of(k)[1], model=hparams_of(k)[0])
                          for k in list(CONFIGS) + list(SCAN_CONFIGS)},
              "load_average": {"start": os.getloadavg()}, "peer": {}, "epochs": {}}
    print("TF %s, %s (%s), %d cores, %d threads; median of %d repeats after %d warm-up" % (
        result["tensorflow"], result["cpu"], cpu_summary(result["cpu_identity"]), result["cores"],
        args.threads, args.repeats, args.warmup), flush=True)
    missing = peer_missing(args)

    def save_so_far():
        # a run cut short (a timeout on a busy machine) keeps what it measured, marked incomplete
        run_files.write_json(args.out, dict(result, complete=False))

    def time_peer(when):
        for model in ("dkvmn", "dkt"):
            run = result["peer"][model + "/" + when] = run_peer(args, model)
            print("pyKT %s (%s ours): %s" % (model, when, step_text(run)), flush=True)
            save_so_far()

    if missing:
        print("pyKT: not run (%s)" % missing)
    else:
        result["peer_python"] = args.peer_python
        result["peer_build"] = peer_build(args)
        time_peer("before")
    result["matmul"] = run_worker(args, "matmul")
    timing = run_worker(args, "timing")
    result["timing"], result["build_s"] = timing["times_s"], timing["build_s"]
    result["tensorflow_build"] = timing["tensorflow_build"]
    result["load_average"]["after_timing"] = os.getloadavg()
    save_so_far()
    if not missing:
        time_peer("after")
    folder, why_not = (None, "--no-epoch") if args.no_epoch else epoch_data_folder(args)
    if folder is None:
        print("epoch: not run (%s)" % why_not)
    else:
        result["epochs"] = {name: run_epoch(args, name, folder) for name in CONFIGS}
    result["load_average"]["end"] = os.getloadavg()
    summarize_builds(result)
    summarize(result)
    result["complete"] = True
    run_files.write_json(args.out, result)
    print("wrote", os.path.relpath(args.out, ROOT))


def run_peer_grid(args):
    """--peer-grid: the peer's build and its steps under peer_grid_variants, written to --out."""
    from utils import run_files
    from utils.errors import ConfigError
    missing = peer_missing(args)
    if missing:
        raise ConfigError("the peer cannot run: " + missing)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    identity = cpu_identity()
    result = {"command": " ".join([os.path.relpath(sys.executable, ROOT)] + sys.argv), "cpu": cpu_model(),
              "cpu_identity": identity, "cores": os.cpu_count(), "threads": args.threads,
              "repeats": args.repeats, "warmup": args.warmup, "peer_python": args.peer_python,
              "peer_build": peer_build(args), "load_average": {"start": os.getloadavg()}}
    print("pyKT on %s (%s), %d cores; median of %d repeats after %d warm-up, load %.2f" % (
        result["cpu"], cpu_summary(identity), result["cores"], args.repeats, args.warmup,
        result["load_average"]["start"][0]), flush=True)
    result["peer_grid"] = peer_grid(args, identity["features"] if identity else [])
    result["load_average"]["end"] = os.getloadavg()
    summarize_builds(result)
    run_files.write_json(args.out, result)
    print("wrote", os.path.relpath(args.out, ROOT))


def summarize_builds(result):
    """One line per side: what it was built with, its threads and its environment; the machine's load."""
    ours = result.get("tensorflow_build")
    if ours is not None:
        onednn = {True: "on", False: "off", None: "unknown"}[ours["onednn_enabled"]]
        print("\nours: TensorFlow %s, oneDNN %s (TF_ENABLE_ONEDNN_OPTS %s), %d intra-op and %d inter-op "
              "threads, Python %s" % (ours["tensorflow"], onednn, ours["TF_ENABLE_ONEDNN_OPTS"] or "unset",
                                      ours["intra_op_threads"], ours["inter_op_threads"], ours["python"]))
    peer = result.get("peer_build")
    if peer is not None and "error" in peer:
        print("peer: its torch build could not be read: %s" % (
            peer["error"].strip().splitlines() or ["no message"])[-1])
    elif peer is not None:
        print("peer: torch %s (BLAS %s, %s, CPU capability %s, %s), %d threads and %d inter-op threads, "
              "Python %s; installed by %s%s" % (
                  peer["torch"], peer["blas"], peer["onednn"], peer["cpu_capability"],
                  peer["parallel_backend"], peer["threads"], peer["interop_threads"], peer["python"],
                  peer["torch_installer"] or "?",
                  " from " + peer["torch_direct_url"] if peer["torch_direct_url"] else ""))
        print("peer environment: %s" % (" ".join("%s=%s" % kv for kv in sorted(peer["environment"].items()))
                                        or "none of %s set" % ", ".join(SPEED_ENVIRONMENT)))
    loads = result["load_average"]
    taken = ", ".join("%s %.2f" % (when.replace("_", " "), loads[when][0])
                      for when in ("start", "after_timing", "end") if when in loads)
    print("load average (1 min): %s (%d cores: above ~0.3 others share the cores and the figures are not "
          "those of a quiet machine)" % (taken, result["cores"]))


def cpu_summary(identity):
    if identity is None:
        return "no /proc/cpuinfo"
    return "family %s model %s, %s MHz, %s" % (identity["cpu_family"], identity["model"], identity["cpu_MHz"],
                                              " ".join(identity["features"]) or "no AVX2")


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, universal_newlines=True).stdout
        names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")]
        return names[0]
    except (OSError, IndexError):
        return platform.processor() or "unknown"


def peer_medians(result):
    """{model: median over the before/after runs of pyKT's median step, or None}."""
    peer = {}
    for model in ("dkvmn", "dkt"):
        runs = [result["peer"].get(model + "/" + when) for when in ("before", "after")]
        runs = [r["train_step_s_median"] for r in runs if r and "train_step_s_median" in r]
        peer[model] = median(runs) if runs else None
    return peer


def summarize(result):
    """Adds medians, ratios, the epoch breakdown, the profile and the floor to `result` and prints them."""
    t = {k: median(v) for k, v in result["timing"].items()}
    peer = peer_medians(result)
    rows = []
    print("\n| model | train step (s) | steps/s | eval positions/s | graph build (s) |")
    print("|---|---|---|---|---|")
    for name in list(CONFIGS) + list(SCAN_CONFIGS):
        step = t[name + "/train_step"]
        ev = t.get(name + "/eval")
        row = {"train_step_s": step, "steps_per_s": 1.0 / step,
               "eval_positions_per_s": BATCH * SEQ_LEN / ev if ev else None,
               "build_s": result["build_s"][name]}
        rows.append((name, row))
        print("| %s | %.3f | %.1f | %s | %.1f |" % (
            name, step, 1.0 / step, fmt(row["eval_positions_per_s"], "%.0f"), row["build_s"]))
    for model in ("dkvmn", "dkt"):
        if peer[model] is not None:
            print("| pyKT %s%s | %.3f | %.1f | | |" % (
                model, " (d 200)" if model == "dkvmn" else " (hidden 200, embedding 200)", peer[model],
                1.0 / peer[model]))
    result["summary"] = dict(rows)

    fastest_dkt = min(("dkt", "dkt-onehot"), key=lambda k: t[k + "/train_step"])

    def over(x, y):
        return x / y if x else None
    ratios = {"dkvmn_over_fastest_dkt_step": t["dkvmn/train_step"] / t[fastest_dkt + "/train_step"],
              "fastest_dkt": fastest_dkt,
              "pykt_dkvmn_over_ours_d200_step": over(peer["dkvmn"], t["dkvmn-d200/train_step"]),
              "pykt_dkt_over_ours_fastest_dkt_step": over(peer["dkt"], t[fastest_dkt + "/train_step"]),
              "pykt_dkt_over_ours_dkt_step": over(peer["dkt"], t["dkt/train_step"]),
              "scan_over_fast_dkvmn_step": t["dkvmn-scan/train_step"] / t["dkvmn/train_step"],
              "scan_over_fast_dkt_step": t["dkt-scan/train_step"] / t["dkt/train_step"],
              "dkt_onehot_over_embedding_step": t["dkt-onehot/train_step"] / t["dkt/train_step"]}
    result["ratios"] = ratios
    print("\nDKVMN / DKT train step (paper shapes, vs %s): %.2f   (target <= 1)" % (
        fastest_dkt, ratios["dkvmn_over_fastest_dkt_step"]))
    if peer["dkvmn"]:
        print("pyKT DKVMN / our DKVMN train step (d_k = d_v = 200): %.2f   (target >= 5)" % (
            ratios["pykt_dkvmn_over_ours_d200_step"]))
    if peer["dkt"]:
        print("pyKT DKT / our DKT train step (embedding 200, hidden 200): %.2f   (target >= 1.3)" % (
            ratios["pykt_dkt_over_ours_dkt_step"]))
        print("pyKT DKT / our %s train step: %.2f" % (
            fastest_dkt, ratios["pykt_dkt_over_ours_fastest_dkt_step"]))
    print("one-hot DKT / embedding DKT train step: %.2f   (target <= 1)" % (
        ratios["dkt_onehot_over_embedding_step"]))
    print("plain tf.scan / this train step: DKVMN %.2f, DKT %.2f" % (
        ratios["scan_over_fast_dkvmn_step"], ratios["scan_over_fast_dkt_step"]))

    summarize_epochs(result, t)
    summarize_profile(result, t)
    summarize_floor(result, t)


def summarize_epochs(result, t):
    """The epoch of main.py, its steps beside steps x step time, and its overhead by kind."""
    if not result["epochs"]:
        return
    print("\nOne epoch of main.py on assist2009_updated fold 1 (s): its steps, then the overhead")
    print("| model | epoch | steps | steps x step time | evaluation | data | logging | checkpointing "
          "| overhead | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, run in result["epochs"].items():
        if "error" in run:
            print("| %s | failed: %s |" % (name, run["error"].strip().splitlines()[-1]))
            continue
        overhead = {"evaluation_s": run["eval_seconds"], "data_s": run["data_seconds"],
                    "logging_s": run["logging_seconds"], "checkpointing_s": run["checkpoint_seconds"]}
        epoch_s = run["train_seconds"] + run["eval_seconds"] + run["checkpoint_seconds"]
        steps_s = run["train_seconds"] - run["data_seconds"] - run["logging_seconds"]
        run.update({"epoch_s": epoch_s, "steps_s": steps_s,
                    "steps_times_step_s": run["steps"] * t[name + "/train_step"], "overhead": overhead,
                    "overhead_fraction": sum(overhead.values()) / epoch_s})
        print("| %s | %.1f | %.1f | %.1f (%d x %.3f) | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.0f |" % (
            name, epoch_s, steps_s, run["steps_times_step_s"], run["steps"], t[name + "/train_step"],
            run["eval_seconds"], run["data_seconds"], run["logging_seconds"], run["checkpoint_seconds"],
            100 * run["overhead_fraction"], run["peak_rss_mb"]))
    fractions = [r["overhead_fraction"] for r in result["epochs"].values() if "overhead_fraction" in r]
    if fractions:
        print("largest overhead: %.0f%% of the epoch   (target <= 15%%)" % (100 * max(fractions)))
        result["ratios"]["largest_epoch_overhead_fraction"] = max(fractions)


def summarize_profile(result, t):
    profile = {}
    print("\nProfile (median s): forward | forward+backward | train step; the recurrence alone")
    for name in list(CONFIGS):
        p = {k: t[name + "/" + k] for k in ("forward", "forward_backward", "train_step")}
        line = "%-11s %.3f | %.3f | %.3f" % (name, p["forward"], p["forward_backward"], p["train_step"])
        for key, value in t.items():
            if key.startswith(name + "/recurrence"):
                p[key.split("/", 1)[1]] = value
        if "recurrence_forward_backward" in p:
            p["rest_of_step"] = p["train_step"] - p["recurrence_forward_backward"]
            line += "; recurrence %.3f fwd, %.3f fwd+bwd" % (p["recurrence_forward"],
                                                            p["recurrence_forward_backward"])
            if "recurrence_scan_forward_backward" in p:
                line += " (batch in 1 part: %.3f; plain tf.scan: %.3f)" % (
                    p["recurrence_1part_forward_backward"], p["recurrence_scan_forward_backward"])
            line += "; rest of the step %.3f" % p["rest_of_step"]
        profile[name] = p
        print(line)
    result["profile"] = profile


def summarize_floor(result, t):
    rate = result["matmul"]["flops_per_s"]
    floor = {}
    print("\nArithmetic floor: matmul rate %.1f GFLOP/s (2048^2 tf.matmul, %d threads)" % (
        rate / 1e9, result["threads"]))
    for name, (model, _) in CONFIGS.items():
        flops = step_flops(model, result["configs"][name])
        floor[name] = {"step_flops": flops, "floor_s": flops / rate,
                       "measured_over_floor": t[name + "/train_step"] / (flops / rate)}
        print("%-11s %.2f GFLOP/step -> floor %.4f s; measured step is %.1fx the floor" % (
            name, flops / 1e9, flops / rate, floor[name]["measured_over_floor"]))
    result["floor"] = floor


def fmt(x, spec):
    return spec % x if x is not None else "-"


if __name__ == "__main__":
    sys.exit(main())

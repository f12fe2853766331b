"""Training and evaluation speed of DKVMN and DKT, and of pyKT's PyTorch versions as a peer (issue 7).

    .venv/bin/python benchmarks/speed.py [--threads 2] [--repeats 10] [--warmup 3]

Prints a table and writes every repeat to benchmarks/out/speed.json. What it measures, at the DKVMN paper's
assist2009_updated shapes (batch 32, SEQ_LEN 200, 110 skills; DKVMN N 20, d_k 50, d_v 200, final layer 50;
DKT hidden 200) and for DKVMN at d_k = d_v = 200 (pyKT's DKVMN uses one size for both):

- train step: one Adam step on a fixed random batch whose last quarter is padding (as the peer script does),
  median of --repeats after --warmup. The configurations are built in one process and timed in rounds
  (one step of each per round), so that load from other processes hits them alike and ratios are fair.
- eval positions/s: B*T positions over the time of one forward pass (p) on that batch.
- epoch: one training pass over fold 1's training split of assist2009_updated (data.load_dataset +
  data.make_batches) when the files are in --data-dir, else over generated data of the same size
  (2,291 students, ~3,000 chunks of 200).
- graph build time (models.build_graph, gradients included) and peak RSS: each configuration in a fresh
  subprocess that builds, trains the epoch and exits, so each RSS is one model's own.
- profile: forward only (loss), forward + backward (gradient norm, no update), and the value-memory
  recurrence alone (forward, forward + backward) on tensors of the model's shapes, also with the batch in
  one part and with the plain tf.scan formulation (paper shapes); DKVMN with the plain formulation is
  timed as a model (dkvmn-scan: the before).
- arithmetic floor: the matmul-like FLOPs of one step (counted from the shapes, below) over the machine's
  matmul rate, measured here by timing a 2048 x 2048 tf.matmul with the same threads.
- peer: /tmp/pykt-venv/bin/python /work/shared/peers/pykt_speed.py (--model dkvmn --dim_s 200 --size_m 20,
  and --model dkt), run as subprocesses before and after ours, when that venv exists, with
  OMP_WAIT_POLICY=PASSIVE unless set (see run_peer).
Threads: TF intra- and inter-op threads = --threads (the peer's torch threads too).
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from utils.config import main_constants  # noqa: E402

BATCH, SEQ_LEN, N_SKILLS = 32, 200, 110
PAPER_DKVMN = {"memory_size": 20, "key_dim": 50, "value_dim": 200, "final_dim": 50}
CONFIGS = {  # name -> (model, hparams over main.py's constants)
    "dkvmn": ("dkvmn", PAPER_DKVMN),
    "dkt": ("dkt", {"hidden_size": 200}),                                  # embedding input (200)
    "dkt-onehot": ("dkt", {"hidden_size": 200, "dkt_embedding_size": 0}),  # the paper's one-hot input
    # pyKT's DKVMN shapes: key = value = summary size = dim_s.
    "dkvmn-d200": ("dkvmn", {"memory_size": 20, "key_dim": 200, "value_dim": 200, "final_dim": 200}),
}
SCAN_CONFIG = "dkvmn-scan"   # "dkvmn" with the plain tf.scan recurrence (autodiff): the before
PEER = "/tmp/pykt-venv/bin/python"
PEER_SCRIPT = "/work/shared/peers/pykt_speed.py"


def session_config(tf, threads):
    return tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def random_batch(seed=0):
    """A fixed batch like the peer's: random skills and answers, the last quarter of each row padding."""
    rng = np.random.RandomState(seed)
    skills = rng.randint(0, N_SKILLS, (BATCH, SEQ_LEN)).astype(np.int32)
    answers = rng.randint(0, 2, (BATCH, SEQ_LEN)).astype(np.int32)
    mask = np.ones((BATCH, SEQ_LEN), np.float32)
    mask[:, SEQ_LEN * 3 // 4:] = 0.0
    return skills, answers, mask


def epoch_batches(data_dir):
    """(batches as (skills, answers, mask), description): fold 1's training split, or generated data."""
    import data
    folder = os.path.join(data_dir, "assist2009_updated")
    if os.path.exists(os.path.join(folder, "assist2009_updated_train1.csv")):
        dataset = data.load_dataset("assist2009_updated", folder, fold=1)  # a three-line set reads only fold
        source = "assist2009_updated fold 1 train split (%d students)" % len(dataset.train)
        batches = data.make_batches(dataset.train, SEQ_LEN, BATCH, shuffle=True, seed=0)
        return [(b.skills, b.answers, b.mask) for b in batches], source
    # Generated stand-in of the same size: 2,291 students whose lengths make ~3,000 chunks of 200.
    rng = np.random.RandomState(0)
    lengths = np.minimum(rng.geometric(1.0 / 210, size=2291), 2000)
    rows = [(s, off, min(SEQ_LEN, n - off)) for s, n in enumerate(lengths) for off in range(0, n, SEQ_LEN)]
    order = rng.permutation(len(rows))
    batches = []
    for start in range(0, len(rows), BATCH):
        chunk = [rows[i] for i in order[start:start + BATCH]]
        skills = rng.randint(0, N_SKILLS, (len(chunk), SEQ_LEN)).astype(np.int32)
        answers = rng.randint(0, 2, (len(chunk), SEQ_LEN)).astype(np.int32)
        mask = np.zeros((len(chunk), SEQ_LEN), np.float32)
        for row, (_, _, n) in enumerate(chunk):
            mask[row, :n] = 1.0
        batches.append((skills * mask.astype(np.int32), answers * mask.astype(np.int32), mask))
    return batches, "generated (%d students, %d chunks; the data files were not found)" % (
        len(lengths), len(rows))


def step_flops(model, hp):
    """Matmul-like FLOPs (a multiply-add = 2) of one training step at B 32, T 200.

    Backward of a matmul = 2 matmuls of the same size, so dense layers count 3x; the value-memory recurrence
    counts 5 FLOPs per memory element and step forward (read 2, write 3) and 13 backward (models/memory.py).
    Elementwise activations, gathers and the optimizer update are left out: this is a floor.
    DKVMN computes w, e, a and the key half of the summary layer once per skill or (skill, answer) pair
    (models/dkvmn.py), so those count per table row, not per position.
    """
    bt = BATCH * SEQ_LEN
    if model == "dkvmn":
        n, dk, dv, f = hp["memory_size"], hp["key_dim"], hp["value_dim"], hp["final_dim"]
        tables = (N_SKILLS * (n * dk + dk * f) + 2 * N_SKILLS * 2 * dv * dv) * 2
        per_position = bt * (dv * f + f) * 2
        return 3 * (tables + per_position) + bt * n * dv * (5 + 13)
    h = hp["hidden_size"]
    emb = h if hp.get("dkt_embedding_size") is None else hp["dkt_embedding_size"]
    dense = bt * (emb * 4 * h + h * 4 * h + h) * 2
    return 3 * dense + bt * h * 10 * 3   # + LSTM cell elementwise, forward and backward


def build(tf, name, seed=0):
    """(graph, KTGraph) for a configuration, the model built in its own tf.Graph."""
    import models
    import models.dkvmn
    import models.memory
    model, overrides = CONFIGS["dkvmn" if name == SCAN_CONFIG else name]
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        fast = models.dkvmn.value_memory_reads
        if name == SCAN_CONFIG:
            models.dkvmn.value_memory_reads = models.memory.value_memory_reads_reference
        try:
            kt = models.build_graph(model, N_SKILLS, dict(overrides))
        finally:
            models.dkvmn.value_memory_reads = fast
    return graph, kt


def recurrence_graph(tf, hp, fn):
    """The value-memory recurrence alone at a DKVMN configuration's shapes: (graph, r, grads)."""
    n, dv = hp["memory_size"], hp["value_dim"]
    rng = np.random.RandomState(0)
    graph = tf.Graph()
    with graph.as_default():
        logits = tf.Variable(rng.randn(BATCH, SEQ_LEN, n).astype(np.float32))
        e = tf.sigmoid(tf.Variable(rng.randn(BATCH, SEQ_LEN, dv).astype(np.float32)))
        a = tf.tanh(tf.Variable(rng.randn(BATCH, SEQ_LEN, dv).astype(np.float32)))
        m0 = tf.Variable(0.1 * rng.randn(n, dv).astype(np.float32))
        w = tf.nn.softmax(logits)
        r = fn(w, e, a, m0)
        grads = tf.gradients(tf.reduce_sum(r * r), [w, e, a, m0])
    return graph, r, grads


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
    import models
    import models.memory
    skills, answers, mask = random_batch()
    sessions, jobs = {}, {}
    for name in list(CONFIGS) + [SCAN_CONFIG]:
        graph, kt = build(tf, name)
        sess = tf.Session(graph=graph, config=session_config(tf, args.threads))
        with graph.as_default():
            sess.run(tf.global_variables_initializer())
        train_feed = {kt.skills: skills, kt.answers: answers, kt.mask: mask, kt.training: True}
        eval_feed = {kt.skills: skills, kt.answers: answers, kt.mask: mask}
        sessions[name] = sess

        def bind(sess, fetch, feed):
            return lambda: sess.run(fetch, feed)
        jobs[name + "/train_step"] = bind(sess, kt.train_op, train_feed)
        if name == SCAN_CONFIG:
            continue
        jobs[name + "/eval"] = bind(sess, kt.p, eval_feed)
        jobs[name + "/forward"] = bind(sess, kt.loss, train_feed)
        jobs[name + "/forward_backward"] = bind(sess, kt.grad_norm, train_feed)
    for name in ("dkvmn", "dkvmn-d200"):
        hp = dict(main_constants(), **CONFIGS[name][1])
        variants = {"": models.memory.value_memory_reads}
        if name == "dkvmn":   # the ablations, at the paper's shapes only
            variants["_1part"] = lambda *x: models.memory.value_memory_reads(*x, batch_parts=1)
            variants["_scan"] = models.memory.value_memory_reads_reference
        for suffix, fn in variants.items():
            graph, r, grads = recurrence_graph(tf, hp, fn)
            sess = tf.Session(graph=graph, config=session_config(tf, args.threads))
            with graph.as_default():
                sess.run(tf.global_variables_initializer())
            sessions[name + "/recurrence" + suffix] = sess
            jobs["%s/recurrence%s_forward" % (name, suffix)] = (lambda s, x: lambda: s.run(x))(sess, r.op)
            jobs["%s/recurrence%s_forward_backward" % (name, suffix)] = (
                lambda s, x: lambda: s.run(x))(sess, [g.op for g in grads])
    times = timed_rounds(jobs, args.warmup, args.repeats)
    for sess in sessions.values():
        sess.close()
    return {"times_s": times}


def model_worker(args, name):
    """Graph build time, one epoch and peak RSS of one configuration (run in its own process)."""
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    batches, source = epoch_batches(args.data_dir)
    t0 = time.perf_counter()
    graph, kt = build(tf, name)
    build_s = time.perf_counter() - t0
    with tf.Session(graph=graph, config=session_config(tf, args.threads)) as sess:
        with graph.as_default():
            sess.run(tf.global_variables_initializer())
        t0 = time.perf_counter()
        sess.run(kt.train_op, {kt.skills: batches[0][0], kt.answers: batches[0][1], kt.mask: batches[0][2],
                               kt.training: True})
        first_step_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for skills, answers, mask in batches:
            sess.run(kt.train_op, {kt.skills: skills, kt.answers: answers, kt.mask: mask, kt.training: True})
        epoch_s = time.perf_counter() - t0
    return {"build_s": build_s, "first_step_s": first_step_s, "epoch_s": epoch_s,
            "epoch_batches": len(batches), "epoch_data": source, "peak_rss_mb": peak_rss_mb()}


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
           "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--data-dir", args.data_dir]
    out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    if out.returncode != 0:
        raise RuntimeError("worker %s failed:\n%s" % (what, out.stderr[-3000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_peer(args, model):
    """pyKT's step time for `model` (a subprocess in its own venv), or None when that venv is missing."""
    cmd = [PEER, PEER_SCRIPT, "--model", model, "--dim_s", "200", "--size_m", "20", "--hidden", "200",
           "--threads", str(args.threads), "--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    # PyTorch's OpenMP threads spin while they wait; on a machine shared with other processes a spinning
    # thread that lost its core stalls every op (pyKT's step took 5.5 s instead of 0.6 s at load 4 here).
    # Passive waiting is the fair setting there; TF's own thread pool does not spin like that.
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         env=env)
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["OMP_WAIT_POLICY"] = env["OMP_WAIT_POLICY"]
    return result


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--data-dir", default="/work/shared/data/dkvmn")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "out", "speed.json"))
    ap.add_argument("--no-peer", action="store_true", help="skip pyKT")
    ap.add_argument("--no-epoch", action="store_true", help="skip the per-model build/epoch/RSS processes")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        if args.worker == "timing":
            result = timing_worker(args)
        elif args.worker == "matmul":
            result = matmul_worker(args)
        else:
            result = model_worker(args, args.worker)
        print(json.dumps(result))
        return

    import tensorflow as tf_version
    peer_ok = os.path.exists(PEER) and not args.no_peer
    result = {"command": " ".join([os.path.relpath(sys.executable, ROOT)] + sys.argv),
              "threads": args.threads, "repeats": args.repeats, "warmup": args.warmup,
              "tensorflow": tf_version.__version__, "python": platform.python_version(),
              "cpu": cpu_model(), "cores": os.cpu_count(),
              "shapes": {"batch": BATCH, "seq_len": SEQ_LEN, "n_skills": N_SKILLS},
              "configs": {k: dict(main_constants(), model=m, **h) for k, (m, h) in CONFIGS.items()},
              "peer": {}}
    print("TF %s, %s, %d cores, %d threads; median of %d repeats after %d warm-up" % (
        result["tensorflow"], result["cpu"], result["cores"], args.threads, args.repeats, args.warmup))
    if not peer_ok:
        print("pyKT: not run (%s)" % ("--no-peer" if args.no_peer else PEER + " does not exist"))
    else:
        for model in ("dkvmn", "dkt"):
            result["peer"][model + "/before"] = run_peer(args, model)
    result["matmul"] = run_worker(args, "matmul")
    result["timing"] = run_worker(args, "timing")["times_s"]
    if peer_ok:
        for model in ("dkvmn", "dkt"):
            result["peer"][model + "/after"] = run_peer(args, model)
    result["models"] = {} if args.no_epoch else {name: run_worker(args, name) for name in CONFIGS}
    summarize(result)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", os.path.relpath(args.out, ROOT))


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, universal_newlines=True).stdout
        names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")]
        return names[0]
    except (OSError, IndexError):
        return platform.processor() or "unknown"


def summarize(result):
    """Adds medians, ratios, the profile and the floor to `result` and prints them."""
    t = {k: median(v) for k, v in result["timing"].items()}
    peer = {}
    for model in ("dkvmn", "dkt"):
        runs = [result["peer"].get(model + "/" + when) for when in ("before", "after")]
        runs = [r["train_step_s_median"] for r in runs if r and "train_step_s_median" in r]
        peer[model] = median(runs) if runs else None
    rate = result["matmul"]["flops_per_s"]
    rows = []
    print("\n| model | train step (s) | steps/s | eval positions/s | epoch (s) | graph build (s) "
          "| peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|")
    for name in list(CONFIGS) + [SCAN_CONFIG]:
        step = t[name + "/train_step"]
        m = result["models"].get(name, {})
        ev = t.get(name + "/eval")
        row = {"train_step_s": step, "steps_per_s": 1.0 / step,
               "eval_positions_per_s": BATCH * SEQ_LEN / ev if ev else None,
               "epoch_s": m.get("epoch_s"), "build_s": m.get("build_s"), "peak_rss_mb": m.get("peak_rss_mb")}
        rows.append((name, row))
        print("| %s | %.3f | %.1f | %s | %s | %s | %s |" % (
            name, step, 1.0 / step, fmt(row["eval_positions_per_s"], "%.0f"), fmt(row["epoch_s"], "%.1f"),
            fmt(row["build_s"], "%.1f"), fmt(row["peak_rss_mb"], "%.0f")))
    for model in ("dkvmn", "dkt"):
        if peer[model] is not None:
            print("| pyKT %s%s | %.3f | %.1f | | | | |" % (
                model, " (d 200)" if model == "dkvmn" else "", peer[model], 1.0 / peer[model]))
    result["summary"] = dict(rows)
    fastest_dkt = min(("dkt", "dkt-onehot"), key=lambda k: t[k + "/train_step"])
    ratios = {"dkvmn_over_fastest_dkt_step": t["dkvmn/train_step"] / t[fastest_dkt + "/train_step"],
              "fastest_dkt": fastest_dkt,
              "pykt_dkvmn_over_ours_d200_step": (peer["dkvmn"] / t["dkvmn-d200/train_step"]
                                                 if peer["dkvmn"] else None),
              "pykt_dkt_over_ours_fastest_dkt_step": (peer["dkt"] / t[fastest_dkt + "/train_step"]
                                                      if peer["dkt"] else None),
              "scan_over_fast_dkvmn_step": t[SCAN_CONFIG + "/train_step"] / t["dkvmn/train_step"]}
    result["ratios"] = ratios
    print("\nDKVMN / DKT train step (paper shapes, vs %s): %.2f   (target <= 1)" % (
        fastest_dkt, ratios["dkvmn_over_fastest_dkt_step"]))
    if peer["dkvmn"]:
        print("pyKT DKVMN / our DKVMN train step (d_k = d_v = 200): %.2f   (target >= 3)" % (
            ratios["pykt_dkvmn_over_ours_d200_step"]))
        print("pyKT DKT / our %s train step: %.2f" % (
            fastest_dkt, ratios["pykt_dkt_over_ours_fastest_dkt_step"]))
    print("plain tf.scan DKVMN / this DKVMN train step: %.2f" % ratios["scan_over_fast_dkvmn_step"])
    rss = [r["peak_rss_mb"] for _, r in rows if r["peak_rss_mb"]]
    if rss:
        print("peak RSS, largest: %.0f MB   (target <= 2048)" % max(rss))

    profile = {}
    print("\nProfile (median s): forward | forward+backward | train step; value-memory recurrence alone")
    for name in list(CONFIGS):
        p = {k: t[name + "/" + k] for k in ("forward", "forward_backward", "train_step")}
        line = "%-11s %.3f | %.3f | %.3f" % (name, p["forward"], p["forward_backward"], p["train_step"])
        if name.startswith("dkvmn"):
            for key, value in t.items():
                if key.startswith(name + "/recurrence"):
                    p[key.split("/", 1)[1]] = value
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

    floor = {}
    print("\nArithmetic floor: matmul rate %.1f GFLOP/s (2048^2 tf.matmul, %d threads)" % (
        rate / 1e9, result["threads"]))
    for name, (model, _) in CONFIGS.items():
        hp = dict(result["configs"][name])
        flops = step_flops(model, hp)
        floor[name] = {"step_flops": flops, "floor_s": flops / rate,
                       "measured_over_floor": t[name + "/train_step"] / (flops / rate)}
        print("%-11s %.2f GFLOP/step -> floor %.4f s; measured step is %.1fx the floor" % (
            name, flops / 1e9, flops / rate, floor[name]["measured_over_floor"]))
    result["floor"] = floor


def fmt(x, spec):
    return spec % x if x is not None else "-"


if __name__ == "__main__":
    main()

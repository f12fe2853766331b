"""DKVMN's skill clusters and how it uses its memory slots (no TensorFlow).

Each skill's correlation weight vector w = softmax(A q . M^k) over the N memory slots gives its cluster,
the arg-max slot. The slot-usage figures say whether the slots collapsed: a model whose skills all point at
one or two slots, or whose weights are close to uniform, cannot keep the concepts apart in its value memory.
"""
import numpy as np

from utils.run_files import read_correlation_weights, read_skills


def cluster_table(run_dir):
    """Rows (skill, skill_id, name, cluster, true_concept: "" when unknown) and the weights [S, N]."""
    skills, weights = read_correlation_weights(run_dir)
    info = read_skills(run_dir, n_skills=int(skills.max()) + 1)
    by_skill = dict((int(s), row) for s, row in zip(info["skill"].values, info.itertuples(index=False)))
    rows = []
    for s, w in zip(skills, weights):
        meta = by_skill.get(int(s))
        concept = getattr(meta, "true_concept", np.nan) if meta is not None else np.nan
        rows.append({
            "skill": int(s),
            "skill_id": meta.skill_id if meta is not None else str(s),
            "name": meta.name if meta is not None else str(s),
            "cluster": int(np.argmax(w)),
            "true_concept": "" if concept is None or not np.isfinite(concept) else int(concept),
        })
    return rows, weights


def adjusted_rand(rows):
    """(ARI of the clusters against the true concepts, number of skills with a known concept), or (None, n)
    when fewer than two skills have one."""
    known = [r for r in rows if r["true_concept"] != ""]
    if len(known) < 2:
        return None, len(known)
    from sklearn.metrics import adjusted_rand_score
    score = adjusted_rand_score([r["true_concept"] for r in known], [r["cluster"] for r in known])
    return float(score), len(known)


def slot_shares(weights):
    """Share of the skills whose arg-max slot is each slot: [N], sums to 1."""
    weights = np.asarray(weights, dtype=float)
    counts = np.bincount(np.argmax(weights, axis=1), minlength=weights.shape[1])
    return counts / float(len(weights))


def mean_entropy(weights):
    """Mean over the skills of the entropy of their weights, divided by log N: 0 when every skill reads one
    slot only, 1 when every skill reads all slots equally (no addressing at all)."""
    weights = np.clip(np.asarray(weights, dtype=float), 1e-12, None)
    weights = weights / weights.sum(axis=1, keepdims=True)
    n_slots = weights.shape[1]
    if n_slots < 2:
        return 0.0
    return float(np.mean(-(weights * np.log(weights)).sum(axis=1)) / np.log(n_slots))


def slot_usage(weights):
    """The collapse figures of one run's weights [S, N]: slots_used (slots that are some skill's arg-max),
    largest_share (of the skills on one slot), shares (per slot, largest first) and mean_entropy."""
    shares = slot_shares(weights)
    return {"slots_used": int(np.sum(shares > 0)), "largest_share": float(shares.max()),
            "shares": sorted(shares.tolist(), reverse=True), "mean_entropy": mean_entropy(weights)}

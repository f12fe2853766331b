"""BKT's fit: per skill, a two-state hidden Markov model fitted by EM (hmmlearn), in the run loop of main.py.

The graph of BKT is models/bkt.py; what it lacks is a fit, since EM and not gradient steps fits its
parameters. `BktTrainer` is the run loop (utils/training.py's Trainer: run folder, checkpoints, epochs.csv,
selection on validation, test once) with the gradient epochs replaced by EM fits, one "epoch" per setting of
FORGETTING: epoch 1 without forgetting, epoch 2 with. The validation AUC picks the epoch, as it picks a deep
model's, and the test figures come from the selected fit alone.

Each skill's model is fitted on the answers to that skill in the training chunks (the training students'
histories cut at SEQ_LEN, as the deep models train on them), each chunk one sequence from the prior. The
hidden state 0 is "not known", 1 "known"; the symbols are the answers (0 wrong, 1 correct):

    startprob = [1 - prior, prior]      transmat = [[1 - learn, learn], [forget, 1 - forget]]
    emissionprob = [[1 - guess, guess], [slip, 1 - slip]]

Without forgetting, transmat[1, 0] starts at 0 and EM keeps it at 0 (its updates are proportional to it).
Every fitted value is a probability of a normalised EM update, so in [0, 1]. A skill with fewer than
MIN_ANSWERS training answers, or a fit that is not finite, takes the parameters of one model fitted on every
skill's sequences pooled, as does a skill never answered in training; the log says how many.
"""
import logging
import time

import numpy as np
import tensorflow.compat.v1 as tf

from models import bkt
from utils.errors import ConfigError
from utils.training import Trainer

FORGETTING = (False, True)   # the settings tried, as epochs 1 and 2; validation picks one
EM_ITERATIONS = 100          # most EM iterations per skill
EM_TOLERANCE = 1e-4          # stop when an iteration raises the log-likelihood by less
MIN_ANSWERS = 10             # fewer training answers on a skill: it takes the pooled parameters


def hmm_module():
    """hmmlearn's hmm module, or a ConfigError saying how to install it."""
    try:
        from hmmlearn import hmm
    except ImportError:
        raise ConfigError("--model bkt needs the package hmmlearn, which this Python lacks: install the "
                          "requirements again (pip install -r requirements.txt)")
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # its per-fit notes would drown the run's log
    return hmm


def skill_sequences(sequences, seq_len, n_skills):
    """Each skill's answers in the chunks of `sequences`: a list over skills of (answers [n, 1] int,
    lengths [chunks]) with the answers of one chunk consecutive, in time order."""
    skills, answers, chunk_ids = [], [], []
    chunk = 0
    for seq in sequences:
        for offset in range(0, len(seq.skills), seq_len):
            skills.append(seq.skills[offset:offset + seq_len])
            answers.append(seq.answers[offset:offset + seq_len])
            chunk_ids.append(np.full(len(skills[-1]), chunk, dtype=np.int64))
            chunk += 1
    if not skills:
        return [(np.zeros((0, 1), np.int64), np.zeros(0, np.int64)) for _ in range(n_skills)]
    skills, answers, chunk_ids = (np.concatenate(parts) for parts in (skills, answers, chunk_ids))
    order = np.argsort(skills, kind="stable")  # stable: each skill's answers stay in chunk and time order
    skills, answers, chunk_ids = skills[order], answers[order], chunk_ids[order]
    bounds = np.searchsorted(skills, np.arange(n_skills + 1))
    result = []
    for q in range(n_skills):
        ids = chunk_ids[bounds[q]:bounds[q + 1]]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
        lengths = np.diff(np.r_[starts, len(ids)]).astype(np.int64)
        result.append((answers[bounds[q]:bounds[q + 1]].astype(np.int64)[:, None], lengths))
    return result


def fit_hmm(hmm, answers, lengths, forgetting, seed):
    """EM on one set of sequences; returns (parameters dict of floats, log-likelihood) or None when the fit
    is not a set of finite probabilities.

    Sequences of one answer each hold no transition: learn and forget keep their start values then (EM would
    divide 0 by 0), and the prior, guess and slip are fitted.
    """
    fitted_params = "ste" if len(lengths) and lengths.max() >= 2 else "se"
    model = hmm.CategoricalHMM(n_components=2, n_features=2, n_iter=EM_ITERATIONS, tol=EM_TOLERANCE,
                               params=fitted_params, init_params="", random_state=seed,
                               implementation="scaling")
    start = bkt.START
    forget = 0.05 if forgetting else 0.0  # EM cannot move a 0, so forgetting needs a start above it
    model.startprob_ = np.array([1.0 - start["prior"], start["prior"]])
    model.transmat_ = np.array([[1.0 - start["learn"], start["learn"]], [forget, 1.0 - forget]])
    model.emissionprob_ = np.array([[1.0 - start["guess"], start["guess"]],
                                    [start["slip"], 1.0 - start["slip"]]])
    try:
        with np.errstate(all="ignore"):
            model.fit(answers, lengths)
            log_likelihood = model.score(answers, lengths)
    except ValueError:  # hmmlearn's check of a degenerate fit (rows that no longer sum to 1)
        return None
    values = {"prior": model.startprob_[1], "learn": model.transmat_[0, 1], "forget": model.transmat_[1, 0],
              "guess": model.emissionprob_[0, 1], "slip": model.emissionprob_[1, 0]}
    fitted = np.array(list(values.values()) + [log_likelihood])
    if not np.isfinite(fitted).all() or not np.allclose(model.transmat_.sum(axis=1), 1.0):
        return None
    return dict((name, float(np.clip(value, 0.0, 1.0))) for name, value in values.items()), log_likelihood


def fit_bkt(sequences, n_skills, seq_len, forgetting, seed=0):
    """Fits every skill's BKT on the chunks of `sequences`.

    Returns:
      (parameters, report): parameters = dict of name (models.bkt.PARAMETERS) -> float [n_skills] array;
      report = dict with skills_fitted, skills_pooled (the skills that took the pooled parameters),
      answers_pooled (their training answers), answers, log_likelihood (of the training answers, each
      predicted from the earlier ones of its chunk, so -log_likelihood / answers is the training BCE).
    """
    hmm = hmm_module()
    per_skill = skill_sequences(sequences, seq_len, n_skills)
    fits = [None] * n_skills
    for q, (answers, lengths) in enumerate(per_skill):
        if len(answers) >= MIN_ANSWERS:
            fits[q] = fit_hmm(hmm, answers, lengths, forgetting, seed)
    pooled_skills = [q for q in range(n_skills) if fits[q] is None]
    log_likelihood = sum(fit[1] for fit in fits if fit is not None)
    pooled_params = dict(bkt.START, forget=0.0)
    seen_pooled = [q for q in pooled_skills if len(per_skill[q][0])]
    if seen_pooled:
        answers = np.concatenate([per_skill[q][0] for q in range(n_skills)])
        lengths = np.concatenate([per_skill[q][1] for q in range(n_skills)])
        pooled = fit_hmm(hmm, answers, lengths, forgetting, seed)
        if pooled is not None:
            pooled_params = pooled[0]
        for q in seen_pooled:  # the pooled parameters' likelihood of these skills' answers
            with np.errstate(all="ignore"):
                log_likelihood += scored(hmm, pooled_params, per_skill[q][0], per_skill[q][1])
    parameters = dict((name, np.array([(fits[q][0] if fits[q] else pooled_params)[name]
                                       for q in range(n_skills)], dtype=np.float32))
                      for name in bkt.PARAMETERS)
    report = {"skills_fitted": n_skills - len(pooled_skills), "skills_pooled": len(seen_pooled),
              "skills_unseen": len(pooled_skills) - len(seen_pooled),
              "answers_pooled": int(sum(len(per_skill[q][0]) for q in seen_pooled)),
              "answers": int(sum(len(a) for a, _ in per_skill)), "log_likelihood": float(log_likelihood)}
    return parameters, report


def scored(hmm, params, answers, lengths):
    """Log-likelihood of `answers` under fixed BKT parameters."""
    model = hmm.CategoricalHMM(n_components=2, n_features=2, implementation="scaling")
    model.startprob_ = np.array([1.0 - params["prior"], params["prior"]])
    model.transmat_ = np.array([[1.0 - params["learn"], params["learn"]],
                                [params["forget"], 1.0 - params["forget"]]])
    model.emissionprob_ = np.array([[1.0 - params["guess"], params["guess"]],
                                    [params["slip"], 1.0 - params["slip"]]])
    return model.score(answers, lengths)


class BktTrainer(Trainer):
    """The run loop of utils/training.py with each epoch an EM fit of one FORGETTING setting."""

    def __init__(self, config, dataset, run_dir, log=print):
        hmm_module()  # before anything is written: a missing hmmlearn is said before the run folder exists
        super(BktTrainer, self).__init__(config, dataset, run_dir, log=log)
        with self.graph.as_default():
            with tf.variable_scope("bkt", reuse=True):
                variables = bkt.parameters(dataset.n_skills, config)
            self.fitted = dict((name, tf.placeholder(tf.float32, [dataset.n_skills])) for name in variables)
            self.assign = tf.group(*[tf.assign(variables[name], self.fitted[name]) for name in variables])

    def _should_stop(self, state):
        return state["epoch"] >= len(FORGETTING)

    def _train_epoch(self, epoch, state, step_log, writer):
        started = time.time()
        forgetting = FORGETTING[epoch - 1]
        parameters, report = fit_bkt(self.dataset.train, self.dataset.n_skills, self.config["seq_len"],
                                     forgetting, self.config["seed"])
        self.session.run(self.assign, dict((self.fitted[name], parameters[name]) for name in parameters))
        self.log(fit_line(forgetting, report))
        return {"epoch": epoch, "learning_rate": float("nan"),
                "train_loss": -report["log_likelihood"] / max(report["answers"], 1),
                "train_seconds": time.time() - started}


def fit_line(forgetting, report):
    """What a fit did, for the run's log: the skills EM fitted, and those that took the pooled parameters."""
    line = "BKT %s forgetting: EM fitted %d skills" % ("with" if forgetting else "without",
                                                       report["skills_fitted"])
    if report["skills_pooled"]:
        line += ("; %d skills with fewer than %d training answers (%d answers) took the parameters of all "
                 "skills pooled" % (report["skills_pooled"], MIN_ANSWERS, report["answers_pooled"]))
    if report["skills_unseen"]:
        line += "; %d skills have no training answer (the pooled parameters too)" % report["skills_unseen"]
    return line

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
MIN_ANSWERS training answers, or a fit that is not finite, takes the pooled parameters, as does a skill never
answered in training; the log says how many. The pooled parameters are the fitted skills' parameters averaged
with their training answers as weights (a typical skill of the data; an EM fit on every skill's sequences at
once would cost as much as all the skills' fits again), or, when no skill could be fitted, models.bkt.START.
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
# Stop when an iteration raises the log-likelihood by less than this per answer: hmmlearn's loop costs ~0.1 ms
# per sequence and iteration, and on assist2009_updated's largest skills 1e-5 took ~25 iterations where an
# absolute 1e-6 took ~60, for a log-likelihood 0.2% lower.
EM_TOLERANCE_PER_ANSWER = 1e-5
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
    tolerance = EM_TOLERANCE_PER_ANSWER * len(answers)
    model = hmm.CategoricalHMM(n_components=2, n_features=2, n_iter=EM_ITERATIONS, tol=tolerance,
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
      (parameters, report): parameters = dict of name (models.bkt.PARAMETERS) -> float32 [n_skills];
      report = dict with skills_fitted, skills_pooled (skills with training answers that took the pooled
      parameters), answers_pooled (their training answers), skills_unseen (no training answer), answers,
      log_likelihood (of the fitted skills' training answers, each predicted from the earlier ones of its
      chunk) and answers_fitted, so that -log_likelihood / answers_fitted is their cross-entropy.
    """
    hmm = hmm_module()
    per_skill = skill_sequences(sequences, seq_len, n_skills)
    fits = [fit_hmm(hmm, answers, lengths, forgetting, seed) if len(answers) >= MIN_ANSWERS else None
            for answers, lengths in per_skill]
    fitted = [q for q in range(n_skills) if fits[q] is not None]
    if fitted:
        weights = np.array([len(per_skill[q][0]) for q in fitted], dtype=np.float64)
        pooled = dict((name, float(np.average([fits[q][0][name] for q in fitted], weights=weights)))
                      for name in bkt.PARAMETERS)
    else:
        pooled = dict(bkt.START)
    parameters = dict((name, np.array([(fits[q][0] if fits[q] else pooled)[name] for q in range(n_skills)],
                                      dtype=np.float32))
                      for name in bkt.PARAMETERS)
    pooled_seen = [q for q in range(n_skills) if fits[q] is None and len(per_skill[q][0])]
    report = {"skills_fitted": len(fitted), "skills_pooled": len(pooled_seen),
              "skills_unseen": n_skills - len(fitted) - len(pooled_seen),
              "answers_pooled": int(sum(len(per_skill[q][0]) for q in pooled_seen)),
              "answers": int(sum(len(answers) for answers, _ in per_skill)),
              "answers_fitted": int(sum(len(per_skill[q][0]) for q in fitted)),
              "log_likelihood": float(sum(fits[q][1] for q in fitted))}
    return parameters, report


class BktTrainer(Trainer):
    """The run loop of utils/training.py with each epoch an EM fit of one FORGETTING setting."""

    FIXED_EPOCHS = len(FORGETTING)

    def __init__(self, config, dataset, run_dir, log=print):
        hmm_module()  # before anything is written: a missing hmmlearn is said before the run folder exists
        super(BktTrainer, self).__init__(config, dataset, run_dir, log=log)
        with self.graph.as_default():
            with tf.variable_scope("bkt", reuse=True):
                variables = bkt.parameters(dataset.n_skills, config)
            self.fitted = dict((name, tf.placeholder(tf.float32, [dataset.n_skills])) for name in variables)
            self.assign = tf.group(*[tf.assign(variables[name], self.fitted[name]) for name in variables])

    def _should_stop(self, state):
        return state["epoch"] >= self.FIXED_EPOCHS

    def why_training_ended(self, state):
        if state["epoch"] >= len(FORGETTING):
            return self.stopped(state)
        return "%s; BKT with forgetting was not fitted (it is epoch %d)" % (
            super(BktTrainer, self).why_training_ended(state), len(FORGETTING))

    def stopped(self, state):
        if state["epoch"] >= len(FORGETTING):  # every setting fitted: nothing is left to train
            return "both BKT settings fitted (EM without and with forgetting); validation picked epoch %d" % (
                state["best_epoch"])
        return None

    def _train_epoch(self, epoch, state, step_log, writer):
        started = time.time()
        forgetting = FORGETTING[epoch - 1]
        parameters, report = fit_bkt(self.dataset.train, self.dataset.n_skills, self.config["seq_len"],
                                     forgetting, self.config["seed"])
        self.session.run(self.assign, dict((self.fitted[name], parameters[name]) for name in parameters))
        self.log(fit_line(forgetting, report))
        return {"epoch": epoch, "learning_rate": float("nan"),
                "train_loss": training_loss(report),
                "train_seconds": time.time() - started}


def training_loss(report):
    """The fitted skills' training cross-entropy per answer (NaN when no skill was fitted)."""
    if not report["answers_fitted"]:
        return float("nan")
    return -report["log_likelihood"] / report["answers_fitted"]


def fit_line(forgetting, report):
    """What a fit did, for the run's log: the skills EM fitted, and those that took the pooled parameters."""
    line = "BKT %s forgetting: EM fitted %d skills" % ("with" if forgetting else "without",
                                                       report["skills_fitted"])
    if report["skills_pooled"]:
        line += ("; %d skills with fewer than %d training answers (%d answers) took the pooled "
                 "parameters" % (report["skills_pooled"], MIN_ANSWERS, report["answers_pooled"]))
    if report["skills_unseen"]:
        line += "; %d skills have no training answer (the pooled parameters too)" % report["skills_unseen"]
    return line

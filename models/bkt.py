"""BKT, Bayesian Knowledge Tracing (Corbett & Anderson 1995): per skill, a two-state hidden Markov model of
whether the student knows it, with the standard four parameters and optional forgetting.

For the skill q answered at position t, with K_t = P(skill known before answer t | the answers on q before t):

    K = prior[q] at the student's first answer on q
    p_t = K_t (1 - slip[q]) + (1 - K_t) guess[q]                        P(answer t correct | positions < t)
    K' = K_t (1 - slip[q]) / p_t  if y_t = 1,   K_t slip[q] / (1 - p_t)  if y_t = 0      (the answer seen)
    K_{next} = K' (1 - forget[q]) + (1 - K') learn[q]                    (what the student learns, or forgets)

Each skill is its own model: an answer changes only the K of its skill. This module is the graph of that
filter, so BKT is scored, evaluated, served and exported like DKT and DKVMN; its parameters are not trained
by gradient steps but fitted by EM (utils/bkt_fit.py, with hmmlearn) and assigned to the variables. They are
probabilities, kept in [0, 1] by the fit; a probability of exactly 0 or 1 is clipped to [EPSILON, 1 -
EPSILON] where a logit is taken. The state of a student is K of every skill: [n_skills] floats.
"""
import tensorflow.compat.v1 as tf

HPARAMS = ()
READS_OTHER_IDS = False  # each skill its own model: an answer moves only its skill's K
PARAMETERS = ("prior", "learn", "forget", "guess", "slip")
# What an unfitted graph holds (and where EM starts from: utils/bkt_fit.py): a plausible BKT.
START = {"prior": 0.5, "learn": 0.1, "forget": 0.0, "guess": 0.2, "slip": 0.1}
EPSILON = 1e-6


def parameters(n_skills, hparams):
    """Creates (or, under a reusing scope, fetches) the per-skill probabilities, [n_skills] each, by name
    (PARAMETERS); call inside variable scope "bkt"."""
    return dict((name, tf.get_variable(name, [n_skills], initializer=tf.constant_initializer(START[name])))
                for name in PARAMETERS)


def p_correct(known, skill_params):
    """P(correct) from K and the skill's guess and slip (any matching shapes)."""
    return known * (1.0 - skill_params["slip"]) + (1.0 - known) * skill_params["guess"]


def next_known(known, answers, skill_params):
    """K after the answer is seen and the transition applied (the last two lines of the docstring)."""
    p = tf.clip_by_value(p_correct(known, skill_params), EPSILON, 1.0 - EPSILON)
    correct = tf.cast(answers, tf.float32)
    if_correct = known * (1.0 - skill_params["slip"]) / p
    if_wrong = known * skill_params["slip"] / (1.0 - p)
    seen = correct * if_correct + (1.0 - correct) * if_wrong
    return seen * (1.0 - skill_params["forget"]) + (1.0 - seen) * skill_params["learn"]


def of_skills(params, skills):
    """Each parameter at `skills` (any shape)."""
    return dict((name, tf.gather(value, skills)) for name, value in params.items())


def known_of(states, skills):
    """K of `skills` [B, K] for students in `states` [B, n_skills]: [B, K]."""
    rows = tf.range(tf.shape(skills)[0])[:, None] + tf.zeros_like(skills)
    return tf.gather_nd(states, tf.stack([rows, skills], axis=-1))


def step(states, skills, answers, params, n_skills):
    """(p [B], states after the answer [B, n_skills]) for answers [B] on skills [B]."""
    skill_params = of_skills(params, skills)
    known = known_of(states, skills[:, None])[:, 0]
    updated = next_known(known, answers, skill_params)
    return p_correct(known, skill_params), states + tf.one_hot(skills, n_skills) * (updated - known)[:, None]


def filtered(skills, answers, params, n_skills):
    """Runs the filter along [B, T] sequences from the prior: (p [B, T], states after each step [B, T, n])."""
    first = tf.tile(params["prior"][None], tf.stack([tf.shape(skills)[0], 1]))               # [B, n]

    def scan_step(carry, inputs):
        states, _ = carry
        p, states = step(states, inputs[0], inputs[1], params, n_skills)
        return states, p

    states, p = tf.scan(scan_step, (tf.transpose(skills), tf.transpose(answers)),
                        initializer=(first, tf.zeros(tf.shape(skills)[:1])))
    return tf.transpose(p), tf.transpose(states, [1, 0, 2])


def logit(p):
    p = tf.clip_by_value(p, EPSILON, 1.0 - EPSILON)
    return tf.log(p) - tf.log(1.0 - p)


def build(skills, answers, n_skills, hparams, training, batch_parts=1):
    """logits [B, T] of P(answer t correct | positions < t); `training` and `batch_parts` change nothing."""
    with tf.variable_scope("bkt"):
        params = parameters(n_skills, hparams)
        p, _ = filtered(skills, answers, params, n_skills)
    return {"logits": logit(p), "skill_correlation_weights": None}


def reused_parameters(n_skills, hparams):
    with tf.variable_scope("bkt", reuse=True):
        return parameters(n_skills, hparams)


def knowledge_state(skills, answers, n_skills, hparams):
    """[B, T, n_skills]: P(correct) of every skill at the next answer, after step t."""
    params = reused_parameters(n_skills, hparams)
    _, states = filtered(skills, answers, params, n_skills)
    return p_correct(states, params)


def knowledge_state_floats(n_skills, hparams):
    """Floats knowledge_state holds per step: K of every skill, its one-hot update and the P(correct)."""
    return 4 * n_skills


def state_size(n_skills, hparams):
    """Floats of one student's state: K of every skill."""
    return n_skills


def state_layout(hparams):
    return "BKT: state[q] = P(skill q known) before the next answer on q, one float per skill"


def state_tables(n_skills, hparams):
    return {}


def initial_state(n_skills, hparams):
    """[n_skills] the state before any answer: each skill's prior."""
    return tf.identity(reused_parameters(n_skills, hparams)["prior"])


def predict_from_state(states, skills, tables, n_skills, hparams):
    """[B, K] P(correct) on `skills` [B, K] for students in `states` [B, n_skills]."""
    params = reused_parameters(n_skills, hparams)
    return p_correct(known_of(states, skills), of_skills(params, skills))


def update_state(states, skills, answers, tables, n_skills, hparams):
    """[B, n_skills] the states after answering `skills` [B] with `answers` [B]."""
    return step(states, skills, answers, reused_parameters(n_skills, hparams), n_skills)[1]

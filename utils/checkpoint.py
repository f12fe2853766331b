"""A finished run's model, ready to score new data: what evaluate.py and predict.py share.

    trained = load_trained(run_dir)            # graph from config.json, selected checkpoint restored
    batches = make_batches(sequences, trained.config["seq_len"], trained.config["batch_size"])
    predictions = trained.trainer.predict(batches)

The graph is the run's own: `utils.training.Trainer` builds it from the constants of config.json (same
model, same hyperparameters, same n_skills), and the checkpoint is the one the run selected on validation
(state.json best_checkpoint, the one summary.json's test figures come from).

Data from elsewhere is matched to the run by the ORIGINAL skill id (skills.csv skill_id), never by index:
skill 7 of another data set is not skill 7 of the run unless their ids agree. `map_skills` builds that
mapping and `remap_sequences` applies it (or drops the interactions of skills the run never saw).
"""
import collections
import os

import numpy as np

from data import DataError, Sequence
from utils import run_files
from utils.run_files import RunFolderError

# What Trainer reads of a data set when it is only used to predict: n_skills and two empty splits.
_ShapeOnly = collections.namedtuple("_ShapeOnly", ["n_skills", "valid", "test"])

TrainedModel = collections.namedtuple("TrainedModel", [
    "run_dir", "config", "n_skills", "skill_ids", "skill_names", "checkpoint", "trainer"])


def read_run(run_dir):
    """(config constants, config.json, state.json) of a finished run; RunFolderError otherwise."""
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isdir(run_dir) or not os.path.isfile(config_path):
        raise RunFolderError("%s is not a run folder (no config.json); give a folder made by main.py, e.g. "
                             "runs/synthetic-dkvmn-20260101-120000" % run_dir)
    saved = run_files.read_json(config_path)
    state_path = os.path.join(run_dir, "state.json")
    state = run_files.read_json(state_path) if os.path.isfile(state_path) else {}
    if not os.path.isfile(os.path.join(run_dir, "summary.json")) or not state.get("best_checkpoint"):
        raise RunFolderError("%s has not finished (no summary.json or no selected checkpoint): wait for it "
                             "to end, or resume it with `python main.py --resume %s`" % (run_dir, run_dir))
    return saved["constants"], saved, state


def run_skills(run_dir, n_skills):
    """(skill_ids, skill_names) of the run's skill indices, from skills.csv."""
    import csv
    path = os.path.join(run_dir, "skills.csv")
    if not os.path.isfile(path):
        raise RunFolderError("%s has no skills.csv: cannot map skills by id" % run_dir)
    with open(path, newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda row: int(row["skill"]))
    if len(rows) != n_skills:
        raise RunFolderError("%s: skills.csv has %d skills, config.json says %d"
                             % (path, len(rows), n_skills))
    return [row["skill_id"] for row in rows], [row["name"] or row["skill_id"] for row in rows]


def load_trained(run_dir, log=None):
    """Builds the run's graph (utils.training.Trainer, from config.json) and restores its selected checkpoint.

    Returns a TrainedModel; close it with `trained.trainer.close()`.
    """
    from utils.training import Trainer

    config, saved, state = read_run(run_dir)
    n_skills = int(saved["n_skills"])
    skill_ids, skill_names = run_skills(run_dir, n_skills)
    trainer = Trainer(config, _ShapeOnly(n_skills, [], []), run_dir, log=log or (lambda *args: None))
    trainer.restore(state["best_checkpoint"])
    return TrainedModel(run_dir, config, n_skills, skill_ids, skill_names, state["best_checkpoint"], trainer)


def map_skills(source_skill_ids, run_skill_ids):
    """index in the source -> index in the run (-1 where the run has no skill of that id)."""
    run_index = dict((str(skill_id), index) for index, skill_id in enumerate(run_skill_ids))
    return np.array([run_index.get(str(skill_id), -1) for skill_id in source_skill_ids], dtype=np.int64)


def remap_sequences(sequences, mapping, source_skill_ids, drop_unknown, where="the data"):
    """Sequences with skills given as run indices.

    Args:
      sequences: list of data.Sequence with skills indexing `source_skill_ids`.
      mapping: from `map_skills`.
      source_skill_ids: original id of each source index (for the error message and the counts).
      drop_unknown: drop the interactions of skills the run never saw (else DataError listing them).
      where: names the data in messages.

    Returns:
      (sequences, dropped) with dropped = {"interactions": n, "students": n emptied and removed,
      "skills": sorted list of the unknown skill ids that occurred}.
    """
    unknown = set()
    for seq in sequences:
        unknown.update(int(s) for s in np.unique(seq.skills[mapping[seq.skills] < 0]))
    unknown_ids = sorted((str(source_skill_ids[s]) for s in unknown), key=_id_order)
    if unknown_ids and not drop_unknown:
        raise DataError("%s has %d skill id(s) that the run never saw (e.g. %s); the model has no parameters "
                        "for them: pass --drop_unknown_skills true to drop their interactions"
                        % (where, len(unknown_ids), ", ".join(unknown_ids[:5])))
    out, dropped_interactions, emptied = [], 0, 0
    for seq in sequences:
        mapped = mapping[seq.skills]
        keep = mapped >= 0
        dropped_interactions += int((~keep).sum())
        if not keep.any():
            emptied += 1
            continue
        probs = None if seq.true_probs is None else seq.true_probs[keep]
        out.append(Sequence(seq.student, mapped[keep].astype(np.int32), seq.answers[keep], probs))
    return out, {"interactions": dropped_interactions, "students": emptied, "skills": unknown_ids}


def _id_order(skill_id):
    try:
        return (0, float(skill_id), skill_id)
    except ValueError:
        return (1, 0.0, skill_id)

"""plots/: comparison figures and the problem-clustering figure, from small fake run folders
that follow the run-folder contract (config.json, steps.csv, epochs.csv, summary.json,
skills.csv, correlation_weights.csv)."""
import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from plots import plot_clusters, plot_results, plot_slot_usage  # noqa: E402
from plots.lib import cluster_map, curves  # noqa: E402
from plots.lib.run_logs import group_members, load_run  # noqa: E402

EPOCH_HEADER = ["epoch", "learning_rate", "train_loss", "valid_loss", "valid_acc", "valid_auc",
                "valid_auc_from2", "test_loss", "test_acc", "test_auc", "test_auc_from2", "train_seconds",
                "eval_seconds"]
RESULT_FILES = ["1_training_loss", "2_mean_training_loss_per_epoch", "3_mean_test_loss_per_epoch",
                "4_test_acc", "5_test_auc"]
WORDS = ["Addition", "Subtraction", "Fractions", "Equation Solving", "Linear", "Area", "Volume",
         "Probability", "Ordering", "Decimals", "Integers", "Pythagorean Theorem", "Circle Graph",
         "Scatter Plot", "Percents"]


def skill_name(i, rng, long_names=False):
    k = rng.randint(2, 6 if long_names else 3)
    return " ".join(rng.choice(WORDS, k, replace=False)) + (" with More than Two Steps" if i % 7 == 0 else "")


def make_run(folder, model="dkvmn", dataset="synthetic", n_epochs=6, steps_per_epoch=20, n_skills=30,
             memory_size=5, seed=0, finished=True, level=0.0, long_names=False, concepts=True, names=True,
             fold=1):
    """Write a fake run folder; returns its path. DKVMN runs get correlation weights in which
    skill s mostly uses slot (s % memory_size) (a few skills are noisy), true concept s % memory_size."""
    rng = np.random.RandomState(seed)
    os.makedirs(folder)
    constants = {"model": model, "dataset": dataset, "memory_size": memory_size, "seed": seed,
                 "batch_size": 32, "fold": fold}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"constants": constants, "versions": {"python": "3"}, "data_fingerprint": "abc",
                   "n_skills": n_skills, "num_parameters": 1234}, f)
    with open(os.path.join(folder, "steps.csv"), "w") as f:
        f.write("step,epoch,train_loss\n")
        total = n_epochs * steps_per_epoch
        for step in range(1, total + 1):
            loss = 0.45 + level + 0.25 * np.exp(-step / (0.1 * total)) + rng.normal(0, 0.05)
            f.write("%d,%d,%.5f\n" % (step, (step - 1) // steps_per_epoch + 1, loss))
    with open(os.path.join(folder, "epochs.csv"), "w") as f:
        f.write(",".join(EPOCH_HEADER) + "\n")
        for epoch in range(1, n_epochs + 1):
            fit = 1 - np.exp(-epoch / (0.15 * n_epochs))
            overfit = max(0.0, epoch - 0.5 * n_epochs) / n_epochs
            auc = 0.70 + 0.11 * fit - level - 0.04 * overfit + rng.normal(0, 0.004)
            loss = 0.55 - 0.08 * fit + 0.05 * overfit + level
            row = [epoch, 0.001, 0.56 - 0.1 * fit + level, loss, 0.70 + 0.05 * fit,
                   auc + rng.normal(0, 0.003), auc + 0.01, loss + rng.normal(0, 0.004),
                   0.70 + 0.05 * fit + rng.normal(0, 0.003), auc, auc + 0.01, 12.5, 1.5]
            f.write(",".join(str(round(v, 6)) if isinstance(v, float) else str(v) for v in row) + "\n")
    if finished:
        with open(os.path.join(folder, "epochs.csv")) as f:
            rows = list(csv.DictReader(f))
        best = max(rows, key=lambda r: float(r["valid_auc"]))
        with open(os.path.join(folder, "summary.json"), "w") as f:
            json.dump({"model": model, "dataset": dataset, "best_epoch": int(best["epoch"]),
                       "epochs_run": n_epochs,
                       "valid_auc": float(best["valid_auc"]), "test_loss": float(best["test_loss"]),
                       "test_acc": float(best["test_acc"]), "test_auc": float(best["test_auc"]),
                       "test_auc_from2": float(best["test_auc_from2"]), "num_parameters": 1234,
                       "stopped": "max epochs"}, f)
    with open(os.path.join(folder, "skills.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["skill", "skill_id", "name", "true_concept"])
        for s in range(n_skills):
            writer.writerow([s, str(s + 1), skill_name(s, rng, long_names) if names else "",
                             s % memory_size if concepts else ""])
    if model == "dkvmn" and finished:
        with open(os.path.join(folder, "correlation_weights.csv"), "w") as f:
            f.write("skill," + ",".join("w%d" % i for i in range(memory_size)) + "\n")
            for s in range(n_skills):
                logits = rng.normal(0, 0.5, memory_size)
                logits[s % memory_size if s % 11 else rng.randint(memory_size)] += 3
                w = np.exp(logits) / np.exp(logits).sum()
                f.write("%d," % s + ",".join("%.6f" % v for v in w) + "\n")
    return str(folder)


def assert_image(path):
    assert os.path.isfile(path), path
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 500


def test_results_two_models(tmp_path, capsys):
    runs = tmp_path / "runs"
    dkvmn = make_run(runs / "synthetic-dkvmn-1", "dkvmn")
    dkt = make_run(runs / "synthetic-dkt-1", "dkt", level=0.02, finished=False)  # in progress: no summary
    with open(os.path.join(dkt, "steps.csv"), "a") as f:
        f.write("5,1,0.61\n121,7")  # a repeated step (resumed run) and a half-written last line
    loaded = load_run(dkt)
    assert loaded.steps["step"].is_unique and len(loaded.epochs) == 6 and loaded.steps["step"].max() == 120
    assert plot_results.main([dkvmn, dkt]) == 0
    out = capsys.readouterr().out
    for name in RESULT_FILES + ["valid_auc"]:
        assert_image(str(runs / "figures" / (name + ".png")))  # default: the runs' common parent /figures
        assert name in out
    assert load_run(dkt).best_epoch is not None  # arg-max of valid_auc without summary.json


def test_results_seed_bands_other_dataset_and_svg(tmp_path, capsys):
    runs = [make_run(tmp_path / ("s-dkvmn-%d" % i), "dkvmn", seed=i) for i in range(3)]
    runs.append(make_run(tmp_path / "a-dkt", "dkt", dataset="assist2009_updated", n_epochs=4))
    out_dir = str(tmp_path / "figs")
    assert plot_results.main(runs + ["--out", out_dir, "--format", "svg"]) == 0
    out = capsys.readouterr().out
    assert "DKVMN · synthetic (n=3: seeds 0, 1, 2): " in out and "DKT · assist2009_updated (n=1): " in out
    for name in RESULT_FILES:
        with open(os.path.join(out_dir, name + ".svg")) as f:
            text = f.read()
        assert "<svg" in text
    with open(os.path.join(out_dir, "5_test_auc.svg")) as f:
        assert "n=3" in f.read()


def test_results_fold_bands_name_their_folds(tmp_path, capsys):
    # three folds of one DKVMN setting, two seeds of DKT: one band each, the legend says what they are
    folds = [make_run(tmp_path / ("dkvmn-fold%d" % k), "dkvmn", dataset="assist2015", fold=k, seed=0,
                      level=0.01 * k) for k in (3, 1, 2)]
    seeds = [make_run(tmp_path / ("dkt-seed%d" % s), "dkt", dataset="assist2015", seed=s, level=0.03)
             for s in (0, 1)]
    out_dir = str(tmp_path / "figs")
    assert plot_results.main(folds + seeds + ["--out", out_dir, "--format", "svg"]) == 0
    out = capsys.readouterr().out
    assert "DKVMN (n=3: folds 1, 2, 3): %s" % ", ".join(folds) in out
    assert "DKT (n=2: seeds 0, 1): %s" % ", ".join(seeds) in out
    for name in ("1_training_loss", "5_test_auc"):
        with open(os.path.join(out_dir, name + ".svg")) as f:
            text = f.read()
        assert "DKVMN (n=3: folds 1, 2, 3, mean ± 1 std" in text
        assert "DKT (n=2: seeds 0, 1, mean ± 1 std" in text
    # the band's line is the mean over the folds of each epoch's test AUC
    groups = dict(curves.make_figures([load_run(r) for r in folds], str(tmp_path / "png"))[1])
    assert [r.path for r in groups["DKVMN"]] == folds
    _, matrix = curves.align([r.epochs for r in groups["DKVMN"]], "epoch", "test_auc")
    expected = np.mean([load_run(r).epochs["test_auc"].values for r in folds], axis=0)
    np.testing.assert_allclose(curves.mean_std(matrix)[0], expected)


def test_results_by_model_bands_the_versions_of_a_data_set(tmp_path, capsys):
    # a study over data versions: each version is a data set of its own, one band per model over them
    versions = ["naive_v%d" % v for v in (0, 1, 2, 3, 10)]   # v10 last, as the versions run
    dkvmn = [make_run(tmp_path / ("dkvmn-%s" % d), "dkvmn", dataset=d, seed=0) for d in versions]
    dkt = [make_run(tmp_path / ("dkt-%s" % d), "dkt", dataset=d, level=0.02) for d in versions[:2]]
    out_dir = str(tmp_path / "figs")
    assert plot_results.main(dkvmn + dkt + ["--out", out_dir, "--format", "svg", "--by_model"]) == 0
    out = capsys.readouterr().out
    assert "DKVMN (n=5: 5 data sets, naive_v0 ... naive_v10): %s" % ", ".join(dkvmn) in out
    assert "DKT (n=2: 2 data sets, naive_v0, naive_v1): %s" % ", ".join(dkt) in out
    with open(os.path.join(out_dir, "valid_auc.svg")) as f:
        assert f.read().count("mean ± 1 std") == 2
    assert plot_results.main(dkvmn + ["--out", str(tmp_path / "each")]) == 0  # without it: one line each
    out = capsys.readouterr().out
    assert all("DKVMN · %s (n=1)" % d in out for d in versions)


def test_group_members_names_what_the_runs_differ_in(tmp_path):
    def runs(name, *folds_and_seeds):
        return [load_run(make_run(tmp_path / ("%s-%d" % (name, i)), fold=fold, seed=seed, n_epochs=1,
                                  steps_per_epoch=1)) for i, (fold, seed) in enumerate(folds_and_seeds)]
    assert group_members(runs("a", (1, 0), (2, 0), (2, 1), (1, 1))) == "n=4: folds 1, 2 x seeds 0, 1"
    assert group_members(runs("b", (5, 0), (5, 0))) == "n=2"
    old = runs("c", (1, 0), (2, 0))
    del old[0].constants["fold"]  # a run that does not record its fold
    assert group_members(old) == "n=2: folds 2, ?"


def test_results_one_run_default_out(tmp_path):
    run = make_run(tmp_path / "r", "dkvmn", n_epochs=3, steps_per_epoch=5)
    assert plot_results.main([run]) == 0
    assert_image(os.path.join(run, "figures", "5_test_auc.png"))  # one run: RUN_DIR/figures


def read_table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_clusters_table_ari_and_figure(tmp_path, capsys):
    from sklearn.metrics import adjusted_rand_score
    run = make_run(tmp_path / "synthetic-dkvmn-1", n_skills=30, memory_size=5)
    assert plot_clusters.main([run]) == 0
    out = capsys.readouterr().out
    figures = os.path.join(run, "figures")
    assert_image(os.path.join(figures, "6_problem_clustering.png"))
    rows = read_table(os.path.join(figures, "skill_clusters.csv"))
    assert list(rows[0].keys()) == ["skill", "skill_id", "name", "cluster", "true_concept"]
    assert [int(r["skill"]) for r in rows] == list(range(30))
    printed = float(re.search(r"adjusted Rand index \(clusters vs true concepts\): ([-0-9.]+)", out).group(1))
    expected = adjusted_rand_score([r["true_concept"] for r in rows], [r["cluster"] for r in rows])
    assert abs(printed - expected) < 1e-4 and 0.3 < expected < 1.0
    with open(os.path.join(run, "correlation_weights.csv")) as f:
        weights = np.array([[float(v) for v in line.split(",")[1:]] for line in f.readlines()[1:]])
    assert [int(r["cluster"]) for r in rows] == list(weights.argmax(axis=1))


def test_clusters_many_long_names_no_concepts_pdf(tmp_path, capsys):
    run = make_run(tmp_path / "assist-dkvmn", dataset="assistments", n_skills=80, memory_size=20,
                   long_names=True, concepts=False, n_epochs=2, steps_per_epoch=3)
    out_dir = str(tmp_path / "out")
    assert plot_clusters.main([run, "--out", out_dir, "--format", "pdf"]) == 0
    out = capsys.readouterr().out
    assert "adjusted Rand" not in out
    with open(os.path.join(out_dir, "6_problem_clustering.pdf"), "rb") as f:
        assert f.read(5) == b"%PDF-"
    rows = read_table(os.path.join(out_dir, "skill_clusters.csv"))
    assert len(rows) == 80 and all(r["true_concept"] == "" for r in rows)


def test_clusters_tiny_run_without_names(tmp_path):
    run = make_run(tmp_path / "tiny", n_skills=3, memory_size=2, names=False)
    assert plot_clusters.main([run]) == 0
    rows = read_table(os.path.join(run, "figures", "skill_clusters.csv"))
    assert [r["name"] for r in rows] == ["1", "2", "3"]  # ids stand in for missing names


def test_slot_usage_table_and_figure(tmp_path, capsys):
    runs = [make_run(tmp_path / ("dkvmn-%d" % seed), n_skills=30, memory_size=5, seed=seed)
            for seed in (0, 1)]
    out_dir = str(tmp_path / "usage")
    assert plot_slot_usage.main(runs + ["--out", out_dir]) == 0
    assert_image(os.path.join(out_dir, "slot_usage.png"))
    rows = read_table(os.path.join(out_dir, "slot_usage.csv"))
    assert [r["seed"] for r in rows] == ["0", "1"]
    for row, run in zip(rows, runs):
        with open(os.path.join(run, "summary.json")) as f:
            assert float(row["test_auc"]) == pytest.approx(json.load(f)["test_auc"], abs=1e-4)
        # make_run puts skill s on slot s % 5 (a few noisy ones): every slot is used, the concepts recovered
        assert row["slots_used"] == "5" and float(row["largest_share"]) < 0.4
        assert 0.3 < float(row["ari"]) < 1.0 and 0.0 < float(row["mean_entropy"]) < 0.8
    assert "slots_used" in capsys.readouterr().out
    check_error(capsys, plot_slot_usage.main(runs + ["--out", out_dir, "--columns", "0"]),
                "--columns must be at least 1")


def check_error(capsys, code, pattern):
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert re.search(pattern, err), err


def test_bad_inputs(tmp_path, capsys):
    not_a_run = tmp_path / "photos"
    not_a_run.mkdir()
    check_error(capsys, plot_results.main([str(not_a_run)]), "not a run folder.*no config.json")
    check_error(capsys, plot_clusters.main([str(not_a_run)]), "not a run folder.*no config.json")
    check_error(capsys, plot_results.main([str(tmp_path / "missing")]), "is not a folder")
    empty = make_run(tmp_path / "empty", n_epochs=0, finished=False)
    check_error(capsys, plot_results.main([empty]), "no finished epoch")
    os.remove(os.path.join(empty, "epochs.csv"))
    check_error(capsys, plot_results.main([empty]), "no finished epoch")
    dkt = make_run(tmp_path / "dkt", "dkt")
    check_error(capsys, plot_clusters.main([dkt]), "no correlation_weights.csv: the clustering figure needs "
                "a finished run of a model with correlation weights .*this run's model: dkt")
    check_error(capsys, plot_slot_usage.main([dkt, "--out", str(tmp_path / "u")]),
                "no correlation_weights.csv: slot usage needs a finished DKVMN run .*model: dkt")
    with open(os.path.join(str(not_a_run), "config.json"), "w") as f:
        f.write("{not json")
    check_error(capsys, plot_results.main([str(not_a_run)]), "not valid JSON")


def test_scripts_run_from_the_repo_root(tmp_path):
    run = make_run(tmp_path / "runs" / "synthetic-dkvmn-1", n_epochs=3, steps_per_epoch=5)
    dkt = make_run(tmp_path / "runs" / "synthetic-dkt-1", "dkt", n_epochs=3, steps_per_epoch=5)
    broken = tmp_path / "not-a-run"
    broken.mkdir()
    done = subprocess.run([sys.executable, "plots/plot_results.py", str(broken)], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    env = dict(os.environ, PYTHONPATH="")
    done = subprocess.run([sys.executable, "plots/plot_results.py", run, dkt], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 0, done.stderr
    assert_image(str(tmp_path / "runs" / "figures" / "5_test_auc.png"))


@pytest.mark.parametrize("n", [4, 7, 40])
def test_tsne_handles_small_sets_and_both_sklearn_apis(n):
    weights = np.random.RandomState(0).dirichlet(np.ones(5), size=n)
    xy = cluster_map.tsne_2d(weights)
    assert xy.shape == (n, 2) and np.isfinite(xy).all()

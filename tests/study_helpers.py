"""What the tests of scripts/study.py share: a response log in a layout of its own, and the study's options
that read it."""
import os

import numpy as np

DATA = ["--dataset", "csv", "--dataset_dir", "logs", "--csv_file", "answers.tsv", "--csv_student_column",
        "user_id", "--csv_skill_column", "kc", "--csv_order_column", "order_id"]
DEEP = ["--models", "dkvmn", "dkt"]  # the default is every registered model: the baselines too
# the id is a choice too; two epochs, so that the search's successive halving pauses every trial at epoch 1
SMOKE = (["tiny"] + DATA + ["--smoke", "--num_cpus", "2", "--ids", "kc", "item", "--epochs", "2",
                            "--halving_epochs", "1"] + DEEP)


def write_log(folder, students=60, seed=0):
    """<folder>/logs/answers.tsv: a log in another layout (user_id, kc, item, correct, order_id)."""
    random = np.random.RandomState(seed)
    os.makedirs(os.path.join(folder, "logs"), exist_ok=True)
    lines, order = ["user_id\tkc\titem\tcorrect\torder_id"], 0
    for student in range(students):
        ability = random.normal()
        for _ in range(random.randint(8, 25)):
            skill, order = random.randint(0, 6), order + 1
            p = 1 / (1 + np.exp(-(ability + 0.3 * skill - 0.8)))
            lines.append("u%03d\tk%d\ti%d\t%d\t%d" % (student, skill, 3 * skill + random.randint(3),
                                                     random.rand() < p, order))
    with open(os.path.join(folder, "logs", "answers.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def run_folders(work):
    top = work / "runs" / "study" / "tiny"
    return sorted(os.path.join(root, name) for root, names, _ in os.walk(str(top)) for name in names
                  if os.path.isfile(os.path.join(root, name, "config.json")))

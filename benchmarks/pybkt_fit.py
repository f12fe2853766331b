"""pyBKT's side of benchmarks/bkt_vs_pybkt.py: fit on one CSV of answers, predict another, time the fit.

Run by bkt_vs_pybkt.py with the Python of pyBKT's own environment (pyBKT 1.4.3 imports only with
scikit-learn < 1.8 and fits only with numpy 1.x, which this repository does not install):

    PYBKT_PYTHON benchmarks/pybkt_fit.py TRAIN_CSV TEST_CSV OUT_CSV OUT_JSON --forgets 0|1 --seed 0

The CSVs have pyBKT's default columns (user_id, skill_name, correct, order_id), the test one also the
student and position of each answer; OUT_CSV has pyBKT's P(correct) `p` by student and position, for the test
rows whose skill has training answers (pyBKT predicts no other skill); OUT_JSON holds the fit's seconds and
the fitted parameters per skill.
"""
import argparse
import json
import time

import pandas as pd
from pyBKT.models import Model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("train_csv", "test_csv", "out_csv", "out_json"):
        parser.add_argument(name)
    parser.add_argument("--forgets", type=int, choices=(0, 1), required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train = pd.read_csv(args.train_csv, dtype={"user_id": str, "skill_name": str})
    test = pd.read_csv(args.test_csv, dtype={"user_id": str, "skill_name": str, "student": str})
    model = Model(seed=args.seed, parallel=False)  # its process pool costs more than it saves on few cores
    started = time.time()
    model.fit(data=train, forgets=bool(args.forgets))
    fit_seconds = time.time() - started
    known = test[test["skill_name"].isin(set(train["skill_name"]))]
    predicted = model.predict(data=known)  # the rows with columns added; matched by (student, position)
    predicted = predicted[["student", "position", "correct_predictions"]]
    predicted.rename(columns={"correct_predictions": "p"}).to_csv(args.out_csv, index=False)
    parameters = model.params().reset_index()
    with open(args.out_json, "w") as f:
        json.dump({"fit_seconds": fit_seconds, "test_rows_predicted": int(len(known)),
                   "test_rows_unseen_skill": int(len(test) - len(known)),
                   "parameters": parameters.astype({"value": float}).to_dict(orient="records")}, f)


if __name__ == "__main__":
    main()

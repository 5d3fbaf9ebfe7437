#!/usr/bin/env python3
"""Test-only: reference values for Conger's kappa (Conger 1980), written as a JSON fixture the
Swift tests compare against. Reads the data sets of reference-stats.json (so both fixtures share
their data) and adds one complete data set, checked against nltk's AnnotationTask.multi_kappa
(which is Conger's statistic when every reviewer labels every item). Never part of Docket's runtime.

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install irrCAC pandas nltk
    /tmp/refenv/bin/python scripts/reference-conger.py > Tests/DocketCoreTests/Fixtures/reference-conger.json
"""
import json
import math
import os
import random

import pandas as pd
from irrCAC.raw import CAC
from nltk.metrics.agreement import AnnotationTask

here = os.path.dirname(os.path.abspath(__file__))
fixture = os.path.join(here, "..", "Tests", "DocketCoreTests", "Fixtures", "reference-stats.json")


def conger(rows, categories, weights):
    df = pd.DataFrame([[math.nan if v is None else v for v in row] for row in rows], dtype=float)
    est = CAC(df, weights=weights, categories=categories, digits=15).conger()["est"]
    return {"value": est["coefficient_value"], "se": est["se"], "pa": est["pa"], "pe": est["pe"],
            "ci": list(est["confidence_interval"])}


def main():
    with open(fixture) as f:
        datasets = json.load(f)["datasets"]
    # A complete data set: 4 reviewers label all of 40 items, 3 categories.
    rng = random.Random(1980)
    complete = []
    for _ in range(40):
        truth = rng.choice([1, 2, 3])
        complete.append([truth if rng.random() < skill else rng.choice([1, 2, 3]) for skill in (0.9, 0.7, 0.6, 0.4)])
    datasets = [{"name": d["name"], "rows": d["rows"], "categories": d["categories"]} for d in datasets]
    datasets.append({"name": "complete40", "rows": complete, "categories": [1, 2, 3]})
    out = {"datasets": []}
    for d in datasets:
        entry = dict(d)
        entry["conger"] = {w: conger(d["rows"], d["categories"], w) for w in ("identity", "linear", "quadratic")}
        if d["name"] == "complete40":
            task = AnnotationTask(data=[(str(g), str(i), str(v)) for i, row in enumerate(d["rows"]) for g, v in enumerate(row)])
            entry["nltk_multi_kappa"] = task.multi_kappa()
        out["datasets"].append(entry)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Test-only: computes reference values for Docket's statistics with the trusted Python libraries
(scikit-learn, statsmodels, krippendorff, irrCAC, crowd-kit) and writes them as a JSON fixture.
Run once and commit the output; the Swift tests compare against it. Never part of Docket's runtime.

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install scikit-learn statsmodels krippendorff irrCAC crowd-kit
    /tmp/refenv/bin/python scripts/reference-stats.py > Tests/DocketCoreTests/Fixtures/reference-stats.json
"""
import json
import math
import random

import krippendorff
import numpy as np
import pandas as pd
from crowdkit.aggregation import DawidSkene
from irrCAC.raw import CAC
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa


def nan_to_none(rows):
    return [[None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in row] for row in rows]


def irr(rows, categories, weights="identity"):
    df = pd.DataFrame(rows, dtype=float)
    cac = CAC(df, weights=weights, categories=categories, digits=15)
    out = {}
    for name, fn in (("fleiss", cac.fleiss), ("gwet", cac.gwet)):
        est = fn()["est"]
        out[name] = {"value": est["coefficient_value"], "se": est["se"], "pa": est["pa"],
                     "ci": list(est["confidence_interval"])}
    return out


def kripp(rows, level):
    data = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float).T  # coders × units
    return krippendorff.alpha(reliability_data=data, level_of_measurement=level)


def dataset(name, rows, categories, levels=("nominal", "ordinal", "interval", "ratio")):
    d = {"name": name, "rows": nan_to_none(rows), "categories": categories}
    d["krippendorff"] = {lvl: kripp(rows, lvl) for lvl in levels}
    d["irrcac"] = {w: irr(rows, categories, w) for w in ("identity", "linear", "quadratic")}
    # Percent agreement as irrCAC defines pa (unweighted).
    d["percent"] = d["irrcac"]["identity"]["fleiss"]["pa"]
    # Pairwise Cohen's kappa for the first two raters, on the items both labelled.
    pairs = [(r[0], r[1]) for r in rows if r[0] is not None and r[1] is not None and not (isinstance(r[0], float) and math.isnan(r[0])) and not (isinstance(r[1], float) and math.isnan(r[1]))]
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    d["cohen"] = {}
    for w in (None, "linear", "quadratic"):
        value = cohen_kappa_score(a, b, labels=categories, weights=w)
        table = np.zeros((len(categories), len(categories)))
        for x, y in pairs:
            table[categories.index(x), categories.index(y)] += 1
        sm = cohens_kappa(table, wt={None: None, "linear": "linear", "quadratic": "quadratic"}[w])
        d["cohen"][w or "none"] = {"value": value, "se": sm["std_kappa"], "statsmodels": sm["kappa"]}
    return d


def main():
    out = {"datasets": []}
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", reliability data with missing values:
    # 4 observers × 12 units; values 1..5.
    k2011 = [
        [1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
        [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, None, 3, None],
    ]
    out["datasets"].append(dataset("krippendorff2011", k2011, [1, 2, 3, 4, 5]))
    # Seeded random data with missing values: 5 reviewers, 3 ordered categories, realistic confusion.
    rng = random.Random(20261129)
    rows = []
    for _ in range(300):
        truth = rng.choices([1, 2, 3], weights=[0.6, 0.3, 0.1])[0]
        row = []
        for skill in (0.9, 0.8, 0.75, 0.6, 0.5):
            if rng.random() < 0.3:
                row.append(None)
            elif rng.random() < skill:
                row.append(truth)
            else:
                row.append(rng.choice([1, 2, 3]))
        rows.append(row)
    out["datasets"].append(dataset("random300", rows, [1, 2, 3]))

    # The widely used worked example of Fleiss' kappa (10 items, 14 raters, 5 categories; e.g. Wikipedia): κ = 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    out["fleiss_table"] = {"counts": table, "kappa": fleiss_kappa(np.array(table), method="fleiss"),
                           "randolph": fleiss_kappa(np.array(table), method="randolph")}
    # Cohen (1960), Table 1: 200 items, 3 categories; κ = 0.492.
    cohen = [[88, 14, 18], [10, 40, 10], [2, 6, 12]]
    sm = cohens_kappa(np.array(cohen))
    out["cohen1960"] = {"counts": cohen, "kappa": sm["kappa"], "se": sm["std_kappa"]}

    # Dawid–Skene: crowd-kit run to full convergence (tolerance 1e-12, up to 10,000 iterations).
    answers = []
    for item, row in enumerate(rows):
        for worker, label in enumerate(row):
            if label is not None:
                answers.append({"task": item, "worker": worker, "label": label})
    df = pd.DataFrame(answers)
    ds = DawidSkene(n_iter=10000, tol=1e-12).fit(df)
    probas = ds.probas_.sort_index()
    out["dawid_skene"] = {
        "labels": [int(x) for x in ds.labels_.sort_index().tolist()],
        "posteriors": [[float(probas.loc[i, c]) for c in [1, 2, 3]] for i in probas.index],
        "priors": [float(ds.priors_[c]) for c in [1, 2, 3]],
        "iterations": len(ds.loss_history_) if hasattr(ds, "loss_history_") else None,
    }
    ds_default = DawidSkene().fit(df)
    out["dawid_skene"]["default_labels_differ"] = int(sum(
        1 for a, b in zip(ds_default.labels_.sort_index().tolist(), ds.labels_.sort_index().tolist()) if a != b))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

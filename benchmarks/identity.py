"""Identity benchmark: match quality against the generator's truth, and speed at scale.

python benchmarks/identity.py [--quick] [--entities N] [--skip-scale]

1. Quality: for each noise level, precision / recall / F1 of ``find_duplicates``
   at its default threshold (and of ``cluster_duplicates`` on its pairs)
   against ``make_duplicates``' truth, side by side with a plain exact-match
   baseline (same trimmed, lower-cased e-mail, or same phone digits, or same
   lower-cased name and birth date).
2. Scale: ``find_duplicates`` + ``cluster_duplicates`` on about a million
   records (peak memory from the process's VmHWM), then ``MatchIndex.build``
   on them and ``match_new`` for 1,000 records (typed-again duplicates and new
   people), per-record latency.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from crmcore.identity import (
    Field,
    MatchIndex,
    MatchModel,
    cluster_duplicates,
    find_duplicates,
    make_duplicates,
)

FIELDS = {
    "name": "name",
    "email": "email",
    "phone": Field("phone", country_col="country"),
    "birth_date": "date",
    "postcode": "postcode",
}


def peak_gib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def scores(found: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float, float]:
    true = set(zip(truth["id_l"], truth["id_r"], strict=True))
    got = set(zip(found["id_l"], found["id_r"], strict=True))
    tp = len(true & got)
    p = tp / len(got) if got else 0.0
    r = tp / len(true) if true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def exact_baseline(records: pd.DataFrame) -> pd.DataFrame:
    """Pairs agreeing exactly on e-mail, on phone digits, or on name and birth date."""
    keys = {
        "email": records["email"].str.strip().str.lower(),
        "phone": records["phone"].str.replace(r"\D", "", regex=True).str[-9:],
        "name_dob": records["name"].str.strip().str.lower() + "|" + records["birth_date"],
    }
    found = []
    for key in keys.values():
        frame = pd.DataFrame({"id": records["id"], "key": key}).dropna()
        pairs = frame.merge(frame, on="key", suffixes=("_l", "_r"))
        found.append(pairs.loc[pairs["id_l"] < pairs["id_r"], ["id_l", "id_r"]])
    return pd.concat(found).drop_duplicates()


def cluster_pairs(clusters: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"id": clusters.index, "c": clusters.to_numpy()})
    pairs = frame.merge(frame, on="c", suffixes=("_l", "_r"))
    return pairs.loc[pairs["id_l"] < pairs["id_r"], ["id_l", "id_r"]]


def quality(entities: int) -> None:
    print(f"\n## Quality ({entities:,} people per noise level, seed 1)\n")
    print("| noise | records | true pairs | method | precision | recall | F1 | seconds |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for noise in ("low", "medium", "high"):
        data = make_duplicates(entities, noise=noise, random_state=1)
        truth = data.true_pairs()
        t = time.perf_counter()
        pairs = find_duplicates(data.records, fields=FIELDS)
        t_find = time.perf_counter() - t
        t = time.perf_counter()
        clusters = cluster_duplicates(pairs, ids=data.records["id"])
        t_cluster = time.perf_counter() - t
        t = time.perf_counter()
        base = exact_baseline(data.records)
        t_base = time.perf_counter() - t
        rows = [
            ("find_duplicates (threshold 0.5)", scores(pairs, truth), t_find),
            ("+ cluster_duplicates", scores(cluster_pairs(clusters), truth), t_cluster),
            ("exact-match baseline", scores(base, truth), t_base),
        ]
        for name, (p, r, f1), secs in rows:
            print(
                f"| {noise} | {len(data.records):,} | {len(truth):,} | {name} | {p:.4f} | "
                f"{r:.4f} | {f1:.4f} | {secs:.2f} |"
            )


def scale(entities: int, queries: int) -> None:
    print(f"\n## Scale ({entities:,} people, medium noise)\n")
    t = time.perf_counter()
    data = make_duplicates(entities, noise="medium", random_state=2)
    print(f"generated {len(data.records):,} records in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "records.parquet")
        data.records.to_parquet(path)
        data.truth.to_frame().to_parquet(os.path.join(tmp, "truth.parquet"))
        fresh = make_duplicates(queries, random_state=4).records.head(queries)
        fresh.to_parquet(os.path.join(tmp, "fresh.parquet"))
        del data, fresh
        # a child process: its peak memory is the job's, not the generator's
        subprocess.run(
            [sys.executable, __file__, "--child", tmp, "--queries", str(queries)], check=True
        )


def child(tmp: str, queries: int) -> None:
    records = pd.read_parquet(os.path.join(tmp, "records.parquet"))
    truth = pd.read_parquet(os.path.join(tmp, "truth.parquet"))["entity"]
    loaded = peak_gib()
    t = time.perf_counter()
    pairs = find_duplicates(records, fields=FIELDS)
    t_find = time.perf_counter() - t
    t = time.perf_counter()
    clusters = cluster_duplicates(pairs, ids=records["id"])
    t_cluster = time.perf_counter() - t
    true_pairs = pd.DataFrame({"id": truth.index, "entity": truth.to_numpy()})
    true_pairs = true_pairs.merge(true_pairs, on="entity", suffixes=("_l", "_r"))
    true_pairs = true_pairs[true_pairs["id_l"] < true_pairs["id_r"]]
    p, r, f1 = scores(pairs, true_pairs)
    note = f"{len(pairs):,} pairs; P {p:.4f} R {r:.4f} F1 {f1:.4f}"
    print("| step | seconds | note |\n|---|---:|---|")
    print(f"| find_duplicates, {len(records):,} records | {t_find:.1f} | {note} |")
    print(f"| cluster_duplicates | {t_cluster:.1f} | {clusters.nunique():,} clusters |")
    print(f"| **dedup total** | **{t_find + t_cluster:.1f}** | target < 120 s |")
    print(f"\npeak memory of the process {peak_gib():.2f} GiB (records loaded: {loaded:.2f} GiB)")

    t = time.perf_counter()
    sample = records.sample(min(100_000, len(records)), random_state=0)
    model = MatchModel(FIELDS).fit(sample)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    index = MatchIndex.build(records, model)
    t_build = time.perf_counter() - t
    rng = np.random.default_rng(3)
    picks = records.iloc[rng.integers(0, len(records), queries)].to_dict("records")
    batch = []
    for k, picked in enumerate(picks):
        row = dict(picked, id=None)
        if k % 2:  # typed again: another case, no e-mail
            row["name"] = str(row["name"]).upper()
            row["email"] = None
        batch.append(row)
    fresh = pd.read_parquet(os.path.join(tmp, "fresh.parquet")).to_dict("records")
    batch += [dict(row, id=None) for row in fresh]
    for row in batch[:20]:  # warm-up: the key tables' hash indexes are built on first use
        index.match_new(row)
    latencies = []
    cpu = []
    decisions: dict[str, int] = {}
    for row in batch:
        t, c = time.perf_counter(), time.thread_time()
        result = index.match_new(row)
        latencies.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
        decisions[result.decision] = decisions.get(result.decision, 0) + 1
    ms = np.array(latencies) * 1000
    cpu_ms = np.array(cpu) * 1000
    print("\n| step | value |\n|---|---:|")
    print(f"| MatchModel.fit on a 100k-record sample | {t_fit:.1f} s |")
    print(f"| MatchIndex.build on {len(records):,} records | {t_build:.1f} s |")
    print(f"| match_new median | {np.median(ms):.2f} ms |")
    print(f"| match_new 95th percentile | {np.percentile(ms, 95):.2f} ms |")
    print(f"| match_new mean | {ms.mean():.2f} ms (target < 5 ms) |")
    print(
        f"| match_new CPU time: median, mean | {np.median(cpu_ms):.2f}, {cpu_ms.mean():.2f} ms |"
    )
    print(f"| decisions on {len(batch):,} queries (half existing people) | {decisions} |")
    print(f"\npeak memory of the process {peak_gib():.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--entities", type=int, default=None, help="people at scale")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.queries)
        return
    if not args.skip_quality:
        quality(2_000 if args.quick else 20_000)
    if not args.skip_scale:
        entities = args.entities or (20_000 if args.quick else 685_000)
        scale(entities, args.queries or (200 if args.quick else 1_000))


if __name__ == "__main__":
    main()

"""IS 10500 rule evaluation throughput, in-process (no database, no server).

    .venv/bin/python bench/wq_rules.py                      # 20,000 generated 13-parameter samples, <= 5 s a phase
    .venv/bin/python bench/wq_rules.py --samples 50000 --duration 10 --seed 3

Generates realistic lab results for the 13 JJM basic parameters (pH, TDS, turbidity, chloride, alkalinity, hardness,
sulphate, iron, arsenic, fluoride, nitrate, total coliform, E. coli): numbers as strings with lab precision, some as
Decimal/float, censored values (BDL, <0.01, <1, >200), missing ones (-), arsenic in ppb, nitrate partly as nitrate-N,
iron partly in ppm, coliforms as present/absent/counts; a share of contaminated samples. Then measures:

* ``compile``: building the rule set from its JSON (done once per process in a node);
* ``results``: ``RuleSet.evaluate_value`` on every (parameter, value, unit) triple: results/s;
* ``samples``: ``RuleSet.evaluate_sample`` on each 13-parameter sample (with the required-13 check, Fe+Mn,
  sulphate/magnesium): samples/s and results/s;
* ``samples_to_dict``: the same plus ``to_dict()`` (JSON-ready output, as stored next to a sample).

Each phase repeats over the generated data until ``--duration`` seconds have passed or ``--max-passes`` passes are
done, whichever first (bounded). Prints one JSON object on stdout (machine facts included); progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from jaldpi.water_quality import rules  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "mem_gib": mem, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform()}


def _num(rng: random.Random, lo: float, hi: float, places: int) -> str:
    return f"{rng.uniform(lo, hi):.{places}f}"


def make_sample(rng: random.Random, contaminated: bool) -> dict:
    """One 13-parameter lab result in the shapes real files hold."""
    s: dict = {}
    s["ph"] = _num(rng, 5.8, 9.0, 1) if contaminated else _num(rng, 6.6, 8.3, 1)
    s["tds"] = str(rng.randint(80, 2600 if contaminated else 480))
    s["turbidity"] = (rng.choice(["<1", "BDL", _num(rng, 0.1, 6 if contaminated else 0.9, 1)]), "NTU")
    s["chloride"] = str(rng.randint(5, 1200 if contaminated else 240))
    s["total_alkalinity"] = Decimal(rng.randint(40, 650 if contaminated else 190))
    s["total_hardness"] = (str(rng.randint(40, 700 if contaminated else 190)), "mg/L as CaCO3")
    s["sulphate"] = str(rng.randint(2, 450 if contaminated else 190))
    r = rng.random()
    if r < 0.3:
        s["iron"] = ("BDL", None)
    elif r < 0.6:
        s["iron"] = (_num(rng, 0.01, 1.5 if contaminated else 0.29, 2), "ppm")
    else:
        s["iron"] = round(rng.uniform(0.01, 1.5 if contaminated else 0.29), 2)  # a float from a spreadsheet
    r = rng.random()
    if r < 0.4:
        s["arsenic"] = ("<0.01", "mg/L") if rng.random() < 0.5 else ("BDL", "ppb")
    else:
        s["arsenic"] = (_num(rng, 0.5, 80 if contaminated else 9.9, 1), "ppb")
    s["fluoride"] = rng.choice(["BDL", _num(rng, 0.05, 2.5 if contaminated else 0.99, 2)])
    if rng.random() < 0.5:
        s["nitrate"] = (_num(rng, 0.1, 14 if contaminated else 10.1, 2), "mg/L as N")
    else:
        s["nitrate"] = (_num(rng, 0.5, 60 if contaminated else 44.9, 1), "mg/L")
    if contaminated and rng.random() < 0.5:
        s["total_coliform"] = rng.choice(["present", "12", ">200", "Detected"])
        s["e_coli"] = rng.choice(["present", "absent", "3"])
    else:
        s["total_coliform"] = rng.choice(["absent", "0", "<1", "Not Detected"])
        s["e_coli"] = rng.choice(["absent", "0", "<1", "ND"])
    if rng.random() < 0.03:  # a parameter not tested
        s[rng.choice(list(s))] = "-"
    return s


def triples(samples: list[dict]) -> list[tuple[str, object, str | None]]:
    out = []
    for s in samples:
        for code, v in s.items():
            if isinstance(v, tuple):
                out.append((code, v[0], v[1]))
            else:
                out.append((code, v, None))
    return out


def timed_passes(fn, items, duration: float, max_passes: int) -> tuple[int, float, int]:
    """Run ``fn`` over ``items`` repeatedly; returns (items done, seconds, passes)."""
    done = passes = 0
    t0 = time.perf_counter()
    deadline = t0 + duration
    while passes < max_passes:
        fn(items)
        done += len(items)
        passes += 1
        if time.perf_counter() >= deadline:
            break
    return done, time.perf_counter() - t0, passes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--contaminated-share", type=float, default=0.2)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per phase (upper bound, about)")
    ap.add_argument("--max-passes", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    load_start = os.getloadavg()
    rng = random.Random(args.seed)
    samples = [make_sample(rng, rng.random() < args.contaminated_share) for _ in range(args.samples)]
    flat = triples(samples)
    n_censored = sum(1 for _, v, _ in flat if isinstance(v, str) and (v[:1] in "<>" or v in ("BDL", "ND")))
    n_converted = sum(1 for _, _, u in flat if u in ("ppb", "ppm", "mg/L as N"))
    log(f"{len(samples)} samples, {len(flat)} results ({n_censored} censored, {n_converted} unit-converted)")

    t0 = time.perf_counter()
    doc = json.loads(rules._base_document(rules.DEFAULT_RULESET))
    compile_reps = 20
    for _ in range(compile_reps):
        rules.RuleSet(doc)
    compile_ms = (time.perf_counter() - t0) / compile_reps * 1000
    rs = rules.default_ruleset()
    ctx = rules.EvaluationContext(alternate_source_available=False)
    required = rules.JJM_BASIC_PARAMETERS

    def eval_results(items):
        ev = rs.evaluate_value
        for code, v, u in items:
            ev(code, v, u, ctx)

    def eval_samples(items):
        es = rs.evaluate_sample
        for s in items:
            es(s, ctx, required=required)

    def eval_samples_dict(items):
        es = rs.evaluate_sample
        for s in items:
            es(s, ctx, required=required).to_dict()

    # one untimed pass: verdict mix for the report, and warm caches as a running node would have them
    verdicts = Counter(rs.evaluate_sample(s, ctx, required=required).verdict for s in samples)
    pverdicts = Counter(rs.evaluate_value(c, v, u, ctx).verdict for c, v, u in flat)

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    phases = {}
    for name, fn, items, unit_count in (("results", eval_results, flat, 1),
                                         ("samples", eval_samples, samples, 13),
                                         ("samples_to_dict", eval_samples_dict, samples, 13)):
        log(f"phase {name} ...")
        done, secs, passes = timed_passes(fn, items, args.duration, args.max_passes)
        per_s = done / secs
        phases[name] = {"items": done, "seconds": round(secs, 3), "passes": passes,
                        "per_s": round(per_s), "us_per_item": round(secs / done * 1e6, 2)}
        if name != "results":
            phases[name]["samples_per_s"] = round(per_s)
            phases[name]["results_per_s"] = round(per_s * unit_count)
        else:
            phases[name]["results_per_s"] = round(per_s)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)

    # cold parse: distinct value strings never seen before (parse cache misses)
    cold = [("fluoride", f"{i / 100000:.5f}", None) for i in range(1, 50_001)]
    t = time.perf_counter()
    eval_results(cold)
    cold_s = time.perf_counter() - t

    out = {
        "benchmark": "wq_rules",
        "ruleset_version": rs.version,
        "ruleset_hash": rs.content_hash[:16],
        "generated": {"samples": len(samples), "results": len(flat), "censored": n_censored,
                      "unit_converted": n_converted, "contaminated_share": args.contaminated_share,
                      "distinct_value_strings": len({v for _, v, _ in flat if isinstance(v, str)}),
                      "sample_verdicts": dict(verdicts), "parameter_verdicts": dict(pverdicts)},
        "compile_ms": round(compile_ms, 2),
        "results_per_s": phases["results"]["results_per_s"],
        "samples_per_s": phases["samples"]["samples_per_s"],
        "samples_with_to_dict_per_s": phases["samples_to_dict"]["samples_per_s"],
        "cold_parse_results_per_s": round(len(cold) / cold_s),
        "phases": phases,
        "cpu_seconds_measured": round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 2),
        "machine": machine(),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "threads": 1,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

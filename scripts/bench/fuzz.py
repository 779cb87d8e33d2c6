"""Fuzzing the REST API from its own OpenAPI schema with schemathesis (property-based, on hypothesis), against a real
server on loopback: no generated request may get a 5xx.

    python -m scripts.bench.fuzz            # >= 1,000 generated requests over every operation (the demo's runs/levasa)
    python -m scripts.bench.fuzz --quick    # CI: a few per operation
    python -m scripts.bench.fuzz --run runs/X --examples 200

Path parameters that name a run are the served run's name most of the time (random names only ever meet the 404
guard), so the generated bodies reach the handlers. Figures: fuzz_cases (requests sent), fuzz_5xx (must be 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from scripts.bench.serve import bench_run, served_run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 8 examples per operation")
    p.add_argument("--run", type=Path, help="run folder to serve (default runs/levasa, trained if missing)")
    p.add_argument("--examples", type=int, help="examples per operation (default 100; quick 8)")
    p.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    args = p.parse_args(argv)

    import schemathesis

    run_dir = bench_run(args.quick, args.run)
    if run_dir is None:
        return 2
    per_op = args.examples or (8 if args.quick else 100)
    name = run_dir.name
    statuses: Counter = Counter()
    failures: list[str] = []
    per_operation: dict[str, int] = {}

    with served_run(run_dir, env={"LEVASA_MAX_BATCH": "8", "LEVASA_MAX_GRID": "9"}) as srv:
        t0 = time.perf_counter()
        schema = schemathesis.openapi.from_url(srv.url + "/openapi.json")
        for result in schema.get_all_operations():
            _fuzz_operation(result.ok(), name, srv.url, per_op, args.seed, statuses, failures, per_operation)
        secs = time.perf_counter() - t0

    n = sum(statuses.values())
    n5 = sum(v for k, v in statuses.items() if k == "no answer" or (isinstance(k, int) and k >= 500))
    print(f"{n:,} generated requests over {len(per_operation)} operations in {secs:.0f} s (seed {args.seed})")
    for label, k in sorted(per_operation.items()):
        print(f"  {k:5d}  {label}")
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))))
    for f in failures[:10]:
        print(f"  FAIL {f}")
    ok4 = sum(v for k, v in statuses.items() if isinstance(k, int) and 400 <= k < 500)
    print(f"FIGURE fuzz_cases {n}  ({len(per_operation)} operations x up to {per_op} examples; 2xx "
          f"{sum(v for k, v in statuses.items() if isinstance(k, int) and k < 300)}, 4xx {ok4})")
    print(f"FIGURE fuzz_5xx {n5}  (target 0)")
    return 0 if n5 == 0 else 1


def _fuzz_operation(op, name: str, url: str, per_op: int, seed_: int, statuses, failures, per_operation) -> None:
    """Send per_op generated requests for one OpenAPI operation, tallying statuses and 5xx failures."""
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    label = f"{op.method.upper()} {op.path}"

    @seed(seed_)
    @settings(max_examples=per_op, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(), real_run=st.booleans() | st.just(True))
    def fuzz(case, real_run):
        if real_run and case.path_parameters and "run" in case.path_parameters:
            case.path_parameters["run"] = name
        try:
            resp = case.call(base_url=url, timeout=30)
        except Exception as e:  # noqa: BLE001 - a dropped connection is a failure to report
            statuses["no answer"] += 1
            failures.append(f"{label}: no answer ({type(e).__name__}: {e})")
            return
        statuses[resp.status_code] += 1
        per_operation[label] = per_operation.get(label, 0) + 1
        if resp.status_code >= 500:
            failures.append(f"{label}: {resp.status_code} for {case.as_curl_command()[:300]}")

    fuzz()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A batch of 1,000 requests against the simulator run as its own process, at a team
concurrency ceiling of 10:

- planning it (`batch FILE --plan`): time, and how many dry runs it took (identical requests
  are quoted once: the file holds 100 shots, ten takes of each); then planning it again, its
  prices kept in the ledger;
- sending it (`batch FILE --yes`) until every video is on disk: time, API requests per second
  (peak over any one-second window, sampled from the simulator's counters, and the average)
  against the budget, the simulator's 429 answers, and the engine's peak RSS.

Usage: python3 scripts/bench_batch.py [--shots N] [--takes N] [--budget N]
Builds the release binary first (into $CARGO_TARGET_DIR if set). Prints Markdown.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (  # noqa: E402
    BIN,
    build,
    engine_pid,
    env_for,
    proc_peak_rss_kib,
    start_sim,
    stats,
    stop_engine,
)

API_COUNTERS = ["generatePosts", "dryRuns", "getJob", "listJobs", "getAsset", "cancels"]


def api_requests(api):
    s = stats(api)
    return sum(s.get(k, 0) for k in API_COUNTERS)


class Sampler(threading.Thread):
    """The simulator's API request count every 100 ms, while the batch runs."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.samples = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.samples.append((time.monotonic(), api_requests(self.api)))
            except OSError:
                pass
            time.sleep(0.1)

    def peak_per_second(self):
        peak = 0
        j = 0
        for i, (t, n) in enumerate(self.samples):
            while self.samples[j][0] < t - 1.0:
                j += 1
            peak = max(peak, n - self.samples[j][1])
        return peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=int, default=100)
    parser.add_argument("--takes", type=int, default=10)
    parser.add_argument("--budget", type=float, default=20.0)
    args = parser.parse_args()
    build()
    total = args.shots * args.takes
    sim, api = start_sim(
        "--time-scale", "240", "--failure-rate", "0", "--concurrency-limit", "10"
    )
    home = tempfile.mkdtemp(prefix="kt-batch-")
    try:
        env = env_for(home, api, requests_per_second=args.budget)
        file = os.path.join(home, "takes.jsonl")
        with open(file, "w") as f:
            for shot in range(args.shots):
                line = json.dumps(
                    {"prompt": f"shot {shot}: a red fox in snow", "mode": "standard"}
                )
                for _ in range(args.takes):
                    f.write(line + "\n")
        # An engine that polls often, so the jobs' short runs are seen end soon.
        watch = subprocess.Popen(
            [BIN, "watch", "--poll-interval", "0.5"],
            env=env,
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        watch.terminate()
        watch.wait()

        before = stats(api)
        started = time.monotonic()
        plan = subprocess.run(
            [BIN, "batch", "--plan", file], env=env, cwd=home, capture_output=True
        )
        plan_seconds = time.monotonic() - started
        if plan.returncode != 0:
            raise SystemExit(plan.stderr.decode())
        dry_runs = stats(api)["dryRuns"] - before["dryRuns"]

        # Again, as after an edit of the file: the prices are in the ledger.
        before = stats(api)
        started = time.monotonic()
        again = subprocess.run(
            [BIN, "batch", "--plan", file], env=env, cwd=home, capture_output=True
        )
        again_seconds = time.monotonic() - started
        if again.returncode != 0 or again.stdout != plan.stdout:
            raise SystemExit("the second plan differs:\n" + again.stderr.decode())
        again_dry_runs = stats(api)["dryRuns"] - before["dryRuns"]

        before_send = api_requests(api)
        sampler = Sampler(api)
        sampler.start()
        started = time.monotonic()
        sent = subprocess.run(
            [BIN, "batch", "--yes", file], env=env, cwd=home, capture_output=True
        )
        send_seconds = time.monotonic() - started
        sampler.done.set()
        sampler.join()
        if sent.returncode != 0:
            raise SystemExit(sent.stderr.decode()[-2000:])
        after = stats(api)
        requests = api_requests(api) - before_send
        pid = engine_pid(home)
        rss = proc_peak_rss_kib(pid) / 1024 if pid else float("nan")
        files = [n for n in os.listdir(os.path.join(home, "takes")) if n.endswith(".mp4")]

        print(f"| A batch of {total:,} requests ({args.shots} shots × {args.takes} takes), "
              f"ceiling 10, budget {args.budget:g}/s | |")
        print("|---|---|")
        print(f"| Plan: time / dry runs (identical requests quoted once) | "
              f"{plan_seconds:.1f} s / {dry_runs} |")
        print(f"| Plan again (prices kept in the ledger): time / dry runs | "
              f"{again_seconds:.2f} s / {again_dry_runs} |")
        print(f"| Send until every video is on disk: time | {send_seconds:.1f} s |")
        print(f"| Generate POSTs / jobs made / videos on disk | {after['generatePosts'] - before['generatePosts']}"
              f" / {after['jobsCreated'] - before['jobsCreated']} / {len(files)} |")
        print(f"| API requests per second: peak in any 1 s / average (budget {args.budget:g}) | "
              f"{sampler.peak_per_second()} / {requests / send_seconds:.1f} |")
        print(f"| Engine peak RSS | {rss:.1f} MiB |")
    finally:
        try:
            stop_engine(env, home)
        except Exception as e:  # noqa: BLE001 - the figures are printed already
            print(f"warning: {e}", file=sys.stderr)
        sim.terminate()
        sim.wait()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The ledger with a long history: 100,000 finished jobs (each with a status history of six
entries and a saved file), written straight into a ledger the binary created, then:

- `jobs --json` to the end, and `jobs --search` for one prompt: time and peak RSS;
- `watch` with nothing left to do (the engine opening the ledger): time and peak RSS;
- the full-screen app: time to first frame in a pseudo-terminal, and its peak RSS.

Usage: python3 scripts/bench_ledger.py [--jobs N]. Builds the release binary first; uses
Python's own sqlite3, nothing else.
"""

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BIN, ROOT, env_for, run_measured, start_sim  # noqa: E402
from bench_tui import first_frame, read_for, spawn_in_pty, stop  # noqa: E402

STATUSES = ["pending", "queued", "warming-up", "in-progress", "finalizing", "success"]


def ledger_path(home):
    journals = os.path.join(home, "data", "kling-tui", "journals")
    (folder,) = os.listdir(journals)
    return os.path.join(journals, folder, "ledger.sqlite3")


def fill(path, count):
    db = sqlite3.connect(path)
    with db:
        for i in range(1, count + 1):
            day = 1 + i % 28
            created = f"2026-10-{day:02d}T{i % 24:02d}:{i % 60:02d}:00.{i:06d}Z"
            prompt = f"shot {i}: a red fox in snow, take {i % 97}"
            request = (
                '{"prompt":"%s","mode":"pro","aspectRatio":"16:9","duration":5}' % prompt
            )
            db.execute(
                "INSERT INTO jobs (local_id, created_at, request, prompt, mode, duration, phase,"
                " server_id, status, progress, cost, updated_at, settled)"
                " VALUES (?, ?, ?, ?, 'pro', 5, 'accepted', ?, 'success', 1.0, 75.0, ?, 1)",
                (i, created, request, prompt, f"job_{i:024x}", created),
            )
            db.executemany(
                "INSERT INTO status_history (local_id, seq, date, status) VALUES (?, ?, ?, ?)",
                [(i, seq, created, status) for seq, status in enumerate(STATUSES)],
            )
            db.execute(
                "INSERT INTO downloads (local_id, idx, asset_id, file, size)"
                " VALUES (?, 0, ?, ?, 24864)",
                (i, f"asset_{i:024x}", f"/videos/job_{i:024x}_1.mp4"),
            )
    db.close()


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def app_first_frame(env):
    started = time.perf_counter()
    pid, fd = spawn_in_pty(env)
    first_frame(fd, started)
    elapsed = time.perf_counter() - started
    # Keep reading, so the app is never blocked writing, while it settles.
    read_for(fd, 1.0)
    peak = vm_hwm_kib(pid)
    stop(pid, fd)
    return elapsed, peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    sim, api = start_sim("--time-scale", "600")
    try:
        with tempfile.TemporaryDirectory() as home:
            env = env_for(home, api)
            subprocess.run([BIN, "watch", "--no-download"], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            path = ledger_path(home)
            t = time.perf_counter()
            fill(path, args.jobs)
            print(f"filled {args.jobs} jobs in {time.perf_counter() - t:.1f} s;"
                  f" ledger {os.path.getsize(path) / 2**20:.1f} MiB", file=sys.stderr)
            rows = []
            secs, rss, out = run_measured([BIN, "jobs", "--json"], env)
            assert out.count(b"\n") == args.jobs, "every job listed"
            rows.append(("`jobs --json` to the end", secs, rss))
            secs, rss, out = run_measured([BIN, "jobs", "--search", "shot 4242:"], env)
            assert out.count(b"\n") == 1, out
            rows.append(("`jobs --search` (one match)", secs, rss))
            secs, rss, _ = run_measured([BIN, "watch", "--no-download"], env)
            rows.append(("`watch` opening the ledger, nothing to do", secs, rss))
            secs, rss = app_first_frame(env)
            rows.append(("the app: first frame", secs, rss))
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait()
    print(f"| {args.jobs:,} finished jobs in the ledger | time | peak RSS |")
    print("|---|---|---|")
    for label, secs, rss in rows:
        print(f"| {label} | {secs * 1000:.0f} ms | {rss / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()

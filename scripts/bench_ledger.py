#!/usr/bin/env python3
"""The ledger with a long history: 100,000 finished jobs (each with a status history of six
entries and a saved file), written straight into a ledger the binary created, then:

- `jobs --json` to the end, and `jobs --search` for one prompt (they read the ledger
  themselves): time and peak RSS;
- `watch` with nothing left to do, no engine running: the time includes starting the engine
  and its opening the ledger; the peak RSS of the client and of the engine;
- the full-screen app: time to first frame in a pseudo-terminal and its peak RSS, attached to
  the running engine, and starting one.

The ledger is filled with no engine running; the engine is stopped at the end.

Usage: python3 scripts/bench_ledger.py [--jobs N]. Builds the release binary first; uses
Python's own sqlite3, and GNU time for the peak RSS of short commands.
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
from bench import (  # noqa: E402
    BIN, build, engine_info, engine_pid, env_for, ledger_dir, proc_peak_rss_kib, require_tools,
    run_measured, start_sim, stop_engine,
)
from bench_tui import first_frame, read_for, spawn_in_pty, stop  # noqa: E402

STATUSES = ["pending", "queued", "warming-up", "in-progress", "finalizing", "success"]


def ledger_path(home):
    return os.path.join(ledger_dir(home), "ledger.sqlite3")


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


def app_first_frame(env):
    started = time.perf_counter()
    pid, fd = spawn_in_pty(env)
    first_frame(fd, started)
    elapsed = time.perf_counter() - started
    # Keep reading, so the app is never blocked writing, while it settles.
    read_for(fd, 1.0)
    peak = proc_peak_rss_kib(pid)
    stop(pid, fd)
    return elapsed, peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    require_tools()
    build()
    sim, api = start_sim("--time-scale", "600")
    try:
        with tempfile.TemporaryDirectory() as home:
            env = env_for(home, api)
            try:
                # The first client makes the ledger (and starts the engine, stopped again: the
                # ledger is filled with nobody holding it).
                subprocess.run([BIN, "watch", "--no-download"], env=env, check=True, cwd=home,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                stop_engine(env, home)
                path = ledger_path(home)
                t = time.perf_counter()
                fill(path, args.jobs)
                print(f"filled {args.jobs} jobs in {time.perf_counter() - t:.1f} s;"
                      f" ledger {os.path.getsize(path) / 2**20:.1f} MiB", file=sys.stderr)
                rows = []
                secs, rss, out = run_measured([BIN, "jobs", "--json"], env, cwd=home)
                assert out.count(b"\n") == args.jobs, "every job listed"
                rows.append(("`jobs --json` to the end", secs, rss))
                # One prompt matches ("shot N:" ends at its colon), whatever --jobs is.
                needle = f"shot {min(4242, args.jobs)}:"
                secs, rss, out = run_measured([BIN, "jobs", "--search", needle], env, cwd=home)
                assert out.count(b"\n") == 1, out
                rows.append(("`jobs --search` (one match)", secs, rss))
                assert engine_info(home) is None, "listing jobs started no engine"
                secs, rss, _ = run_measured([BIN, "watch", "--no-download"], env, cwd=home)
                rows.append(("`watch`, nothing to do, starting the engine", secs, rss))
                rows.append(("the engine it started, after opening the ledger", None,
                             proc_peak_rss_kib(engine_pid(home))))
                secs, rss = app_first_frame(env)
                rows.append(("the app: first frame, engine running", secs, rss))
                stop_engine(env, home)
                secs, rss = app_first_frame(env)
                rows.append(("the app: first frame, starting the engine", secs, rss))
                rows.append(("the engine the app started", None, proc_peak_rss_kib(engine_pid(home))))
            finally:
                stop_engine(env, home)
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait()
    print(f"| {args.jobs:,} finished jobs in the ledger | time | peak RSS |")
    print("|---|---|---|")
    for label, secs, rss in rows:
        time_text = f"{secs * 1000:.0f} ms" if secs is not None else "—"
        print(f"| {label} | {time_text} | {rss / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()

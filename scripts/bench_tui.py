#!/usr/bin/env python3
"""Benchmarks of the full-screen app in a real pseudo-terminal (160x48), against the simulator
running as its own process on loopback:

- time to first frame: from starting the process to the first drawn frame on the terminal;
- bytes written to the terminal per minute while idle with 100 running jobs (only changed
  cells should be written: spinners and clocks);
- bytes written while idle with nothing running (should be zero);
- CPU of the app, and of the engine it is attached to, over the same minute.

The app is a client of the background engine, and in both cases here it starts the engine
itself (the first frame comes once the engine is up and attached to; with running jobs that
engine takes them over from the ledger). Each case stops its engine at the end.

Usage: python3 scripts/bench_tui.py [--window SECONDS]. Builds the release binary first.
"""

import argparse
import fcntl
import os
import select
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (  # noqa: E402
    BIN, build, engine_pid, env_for, proc_cpu_seconds, start_sim, stop_engine, submit_jobs,
)


def spawn_in_pty(env, cols=160, rows=48):
    pid, fd = os.forkpty()
    if pid == 0:
        os.execve(BIN, [BIN], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def read_for(fd, seconds):
    """Everything the app writes during `seconds`."""
    out = bytearray()
    end = time.perf_counter() + seconds
    while True:
        left = end - time.perf_counter()
        if left <= 0:
            return bytes(out)
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return bytes(out)


# The app asks the terminal how it draws pictures, ending with the device attributes query,
# which every terminal answers at once (xterm, tmux: `ESC [ ? 62 ; 22 c`); this pty answers as
# they do, so the first frame is not held by a wait no real terminal causes.
DEVICE_ATTRIBUTES = b"\x1b[c"
DEVICE_ANSWER = b"\x1b[?62;22c"


def answer_terminal_queries(fd, seen, answered):
    """Answers the device attributes query once it is in `seen`; returns whether it was."""
    if not answered and DEVICE_ATTRIBUTES in seen:
        os.write(fd, DEVICE_ANSWER)
        return True
    return answered


def first_frame(fd, started, marker=b"Parameters"):
    seen = bytearray()
    answered = False
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 10)
        if not ready:
            raise SystemExit("no frame within 10 s")
        seen += os.read(fd, 65536)
        answered = answer_terminal_queries(fd, seen, answered)
    return time.perf_counter() - started


def stop(pid, fd):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(fd)


def measure(env, home, window, label):
    started = time.perf_counter()
    pid, fd = spawn_in_pty(env)
    ttff = first_frame(fd, started)
    read_for(fd, 5)  # the ledger's jobs arrive and settle on screen
    engine = engine_pid(home)
    cpu0, engine0 = proc_cpu_seconds(pid), proc_cpu_seconds(engine)
    t0 = time.perf_counter()
    written = read_for(fd, window)
    elapsed = time.perf_counter() - t0
    cpu = (proc_cpu_seconds(pid) - cpu0) / elapsed * 100
    engine_cpu = (proc_cpu_seconds(engine) - engine0) / elapsed * 100
    stop(pid, fd)
    return {
        "label": label,
        "ttff_ms": ttff * 1000,
        "bytes_per_min": len(written) / elapsed * 60,
        "cpu_percent": cpu,
        "engine_cpu_percent": engine_cpu,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()
    build()

    results = []
    # Nothing running: an empty ledger; the app starts the engine.
    sim, api = start_sim("--time-scale", "1")
    home = tempfile.mkdtemp(prefix="kling-tui-bench-")
    env = env_for(home, api)
    try:
        results.append(measure(env, home, args.window, "idle, no jobs (the app starts the engine)"))
    finally:
        stop_engine(env, home)
        sim.send_signal(signal.SIGINT)
        sim.wait()
        shutil.rmtree(home, ignore_errors=True)

    # 100 running jobs: a slow simulator keeps them running for the whole window.
    sim, api = start_sim("--time-scale", "0.05", "--concurrency-limit", str(args.jobs * 2))
    home = tempfile.mkdtemp(prefix="kling-tui-bench-")
    env = env_for(home, api)
    try:
        submit_jobs(env, home, args.jobs)
        results.append(measure(env, home, args.window, f"idle, {args.jobs} running jobs (the app starts the engine)"))
    finally:
        stop_engine(env, home)
        sim.send_signal(signal.SIGINT)
        sim.wait()
        shutil.rmtree(home, ignore_errors=True)

    print("| 160x48 in a pseudo-terminal | time to first frame | bytes written per minute "
          "| CPU of the app | CPU of the engine |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['label']} | {r['ttff_ms']:.0f} ms | {r['bytes_per_min']:.0f} "
            f"| {r['cpu_percent']:.2f} % of one core | {r['engine_cpu_percent']:.2f} % of one core |"
        )


if __name__ == "__main__":
    main()

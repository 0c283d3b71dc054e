#!/usr/bin/env python3
"""Benchmarks of the background engine holding 1,000 running jobs, against the simulator running
as its own process on loopback (slow enough that every job runs for the whole benchmark):

- attach, first full frame: a client of the socket's own protocol written here (connect, the
  engine's hello, hello with the credentials' proof, welcome, snapshot), from connect to the
  whole snapshot received, median of N attaches; and the full-screen app in a pseudo-terminal:
  time to its first frame, and to the first frame that shows the engine's jobs;
- the engine idle with two clients attached (`watch` and a protocol client): CPU and peak RSS
  of the engine (and of `watch`), the API requests per second it makes to the simulator;
- bytes per minute on the socket to one attached client (the protocol client), and frames.

Usage: python3 scripts/bench_engine.py [--jobs N] [--window SECONDS] [--attaches N]
Builds the release binary first (into $CARGO_TARGET_DIR if set). Prints Markdown.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (  # noqa: E402
    BIN, KEY, SECRET, build, engine_info, engine_pid, engine_status, env_for,
    proc_cpu_seconds, proc_peak_rss_kib, proc_rss_kib, reset_peak_rss, start_sim, stats,
    stop_engine, submit_jobs,
)
from bench_tui import answer_terminal_queries, read_for, spawn_in_pty, stop  # noqa: E402

PROTOCOL = 1


def proof(nonce, key=KEY, secret=SECRET):
    """What `Credentials::proof` computes: hex SHA-256 of nonce, key and secret, each ended by NUL."""
    h = hashlib.sha256()
    for part in (nonce, key, secret):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


class Client:
    """One connection to the engine's socket: 4-byte big-endian length, then JSON."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.received = 0  # bytes, length prefixes included

    def _exact(self, n):
        chunks = []
        while n:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise EOFError("the engine closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
            self.received += len(chunk)
        return b"".join(chunks)

    def frame(self):
        (length,) = struct.unpack(">I", self._exact(4))
        return self._exact(length)

    def send(self, message):
        data = json.dumps(message).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def close(self):
        self.sock.close()


def attach(path):
    """Connects and attaches. Returns (client, seconds from connect to the whole snapshot
    received, snapshot frame in bytes, frames before it)."""
    t0 = time.perf_counter()
    c = Client(path)
    hello = json.loads(c.frame())
    if hello.get("kind") != "hello":
        raise SystemExit(f"the engine did not greet first: {hello}")
    c.send({"kind": "hello", "protocol": PROTOCOL, "build": "0.1.0",
            "proof": proof(hello["nonce"]), "attach": True})
    before = 0
    while True:
        frame = c.frame()
        # The kind is in the first bytes: a whole parse of the snapshot is not part of the time.
        head = frame[:40]
        if b'"kind":"snapshot"' in head:
            return c, time.perf_counter() - t0, len(frame), frame, before
        if b'"kind":"refused"' in head:
            raise SystemExit(f"refused: {json.loads(frame)['reason']}")
        before += 1


def attach_times(path, count, jobs):
    times, sizes, parses = [], [], []
    for _ in range(count):
        c, secs, size, frame, _ = attach(path)
        c.close()
        t = time.perf_counter()
        snapshot = json.loads(frame)
        parses.append(time.perf_counter() - t)
        if len(snapshot["jobs"]) < jobs:
            print(f"warning: the snapshot held {len(snapshot['jobs'])} jobs, not {jobs}", file=sys.stderr)
        times.append(secs)
        sizes.append(size)
        time.sleep(0.1)
    return times, sizes, parses


def app_times(env, runs, marker):
    """The app in a pty: (first frame, first frame showing a job) per run, in seconds."""
    import select

    firsts, fulls = [], []
    for _ in range(runs):
        started = time.perf_counter()
        pid, fd = spawn_in_pty(env)
        seen = bytearray()
        first = full = None
        answered = False
        while full is None:
            ready, _, _ = select.select([fd], [], [], 10)
            if not ready:
                stop(pid, fd)
                raise SystemExit("the app drew no frame with the jobs within 10 s")
            seen += os.read(fd, 65536)
            answered = answer_terminal_queries(fd, seen, answered)
            now = time.perf_counter() - started
            if first is None and b"Parameters" in seen:
                first = now
            if first is not None and marker in seen:
                full = now
        read_for(fd, 0.5)
        stop(pid, fd)
        firsts.append(first)
        fulls.append(full)
        time.sleep(0.3)
    return firsts, fulls


class Listener(threading.Thread):
    """Keeps a protocol client attached, reading every frame; counts bytes and frames by kind
    between mark() calls."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.lock = threading.Lock()
        self.frames = 0
        self.kinds = {}
        self.largest = 0
        self.error = None

    def run(self):
        try:
            while True:
                frame = self.client.frame()
                message = json.loads(frame)
                kind = message.get("kind", "?")
                if kind == "event":
                    event = message.get("event")
                    kind = "event " + (next(iter(event), "?") if isinstance(event, dict) else str(event))
                with self.lock:
                    self.frames += 1
                    self.kinds[kind] = self.kinds.get(kind, 0) + 1
                    self.largest = max(self.largest, len(frame))
        except (OSError, EOFError) as e:
            self.error = e

    def mark(self):
        with self.lock:
            counts = (self.client.received, self.frames, dict(self.kinds), self.largest)
            self.kinds = {}
            self.largest = 0
            return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--attaches", type=int, default=20)
    parser.add_argument("--app-runs", type=int, default=5)
    parser.add_argument("--paced-submits", type=int, default=3)
    # A job takes 120 s / time scale: 0.2 keeps them running for 10 minutes.
    parser.add_argument("--time-scale", type=float, default=0.2)
    args = parser.parse_args()
    build()

    sim, api = start_sim("--time-scale", str(args.time_scale), "--failure-rate", "0",
                         "--concurrency-limit", str(args.jobs * 2))
    home = tempfile.mkdtemp(prefix="kling-engine-bench-")
    env = env_for(home, api)
    watch = listener = None
    try:
        t0 = time.perf_counter()
        submit_ms = submit_jobs(env, home, args.jobs) * 1000
        print(f"submitted {args.jobs} jobs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        # `watch` starts the engine with the default settings; it takes the 1,000 jobs over.
        watch = subprocess.Popen([BIN, "watch", "--no-download"], env=env, cwd=home,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        engine = engine_pid(home)
        socket_path = engine_info(home)["socket"]
        for _ in range(100):
            status = engine_status(env)
            if status["unfinished"] >= args.jobs:
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"the engine holds {status['unfinished']} unfinished jobs, not {args.jobs}")

        # Attach: the protocol client, then the app.
        times, sizes, parses = attach_times(socket_path, args.attaches, args.jobs)
        firsts, fulls = app_times(env, args.app_runs, b"red fox in snow")

        # Idle with two clients: `watch` and a protocol client that only listens.
        client, _, _, _, _ = attach(socket_path)
        client.sock.settimeout(None)
        listener = Listener(client)
        listener.start()
        time.sleep(5)  # both attached, `watch`'s refresh asked
        clients = engine_status(env)["clients"]
        pids = {"engine": engine, "watch": watch.pid}
        lifetime_peak = proc_peak_rss_kib(engine)
        reset = reset_peak_rss(engine)
        cpu0 = {k: proc_cpu_seconds(p) for k, p in pids.items()}
        req0, (bytes0, frames0, _, _), t_start = stats(api), listener.mark(), time.perf_counter()
        time.sleep(args.window)
        req1, (bytes1, frames1, kinds, largest), t_end = stats(api), listener.mark(), time.perf_counter()
        cpu1 = {k: proc_cpu_seconds(p) for k, p in pids.items()}
        elapsed = t_end - t_start
        cpu = {k: (cpu1[k] - cpu0[k]) / elapsed * 100 for k in pids}
        window_peak = proc_peak_rss_kib(engine) if reset else None
        rss_now = proc_rss_kib(engine)
        watch_peak = proc_peak_rss_kib(watch.pid)
        end_status = engine_status(env)
        # A new job while the engine polls its running ones at the default budget.
        paced = []
        for n in range(args.paced_submits):
            t = time.perf_counter()
            subprocess.run([BIN, "submit", "--prompt", f"one more fox, take {n}"], env=env,
                           cwd=home, check=True, stdout=subprocess.DEVNULL)
            paced.append(time.perf_counter() - t)
        if listener.error:
            print(f"warning: the protocol client lost the engine: {listener.error}", file=sys.stderr)
        if end_status["unfinished"] < args.jobs:
            print(f"warning: only {end_status['unfinished']} jobs were still running at the end",
                  file=sys.stderr)
        watch.send_signal(signal.SIGKILL)
        watch.wait()
        client.close()
        stop_s = stop_engine(env, home)
        left = engine_info(home)
    finally:
        if watch and watch.poll() is None:
            watch.kill()
            watch.wait()
        stop_engine(env, home)
        sim.send_signal(signal.SIGINT)
        sim.wait()
        shutil.rmtree(home, ignore_errors=True)

    med = statistics.median
    per_min = 60 / elapsed
    print(f"| Engine holding {args.jobs:,} running jobs | |")
    print("|---|---|")
    print(f"| Attach → whole snapshot received, protocol client (median of {len(times)}; min / max) "
          f"| {med(times) * 1000:.1f} ms ({min(times) * 1000:.1f} / {max(times) * 1000:.1f}) |")
    print(f"| Snapshot frame size | {med(sizes) / 1024:.0f} KiB ({med(sizes) / args.jobs:.0f} bytes per job) |")
    print(f"| Parsing the snapshot in Python (median, not in the time above) | {med(parses) * 1000:.1f} ms |")
    print(f"| The app in a pseudo-terminal, 160x48: first frame (median of {len(firsts)}) | {med(firsts) * 1000:.0f} ms |")
    print(f"| The app: first frame showing the engine's jobs (median of {len(fulls)}; max) "
          f"| {med(fulls) * 1000:.0f} ms ({max(fulls) * 1000:.0f}) |")
    print(f"| `submit`, engine with no polls due (how the jobs were made), per job | {submit_ms:.0f} ms |")
    if paced:
        print(f"| `submit` while the engine polls the {args.jobs:,} jobs (5 requests/s; median of "
              f"{len(paced)}) | {med(paced) * 1000:.0f} ms |")
    print()
    print(f"| Engine idle, {args.jobs:,} running jobs, {clients} clients attached "
          f"(`watch` + protocol client; {elapsed:.0f} s window) | |")
    print("|---|---|")
    print(f"| CPU of the engine | {cpu['engine']:.2f} % of one core |")
    print(f"| CPU of the `watch` client | {cpu['watch']:.2f} % of one core |")
    print(f"| API requests per second to the simulator (budget 5) | {(req1['requests'] - req0['requests']) / elapsed:.2f} |")
    peak_text = f"{window_peak / 1024:.1f} MiB" if window_peak else "n/a"
    print(f"| Engine RSS: peak in the window / now / peak since start | {peak_text} / "
          f"{rss_now / 1024:.1f} MiB / {lifetime_peak / 1024:.1f} MiB |")
    print(f"| Peak RSS of `watch` | {watch_peak / 1024:.1f} MiB |")
    print(f"| Bytes per minute on the socket to one client | {(bytes1 - bytes0) * per_min:,.0f} |")
    print(f"| Frames per minute to one client | {(frames1 - frames0) * per_min:.0f} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(kinds.items()))}) |")
    print(f"| Largest frame in the window | {largest:,} bytes |")
    print(f"| Jobs still running at the end / `engine stop` took / engine left behind | "
          f"{end_status['unfinished']} / {stop_s * 1000:.0f} ms / {'yes' if left else 'no'} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmarks of kling-tui against its own simulator, all on loopback.

1. Monitoring 1,000 running jobs with `watch`: API requests per second, CPU, peak RSS.
2. Downloading a 1 GiB video: throughput as a ratio against curl fetching the same URL in the
   same run, and peak RSS above an idle command's.

Usage: python3 scripts/bench.py [--jobs N] [--window SECONDS] [--rounds N]
Builds the release binary first; installs curl with apt-get when missing. Prints Markdown.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "kling-tui")
KEY, SECRET = "demo_key", "demo_secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sim(*args):
    port = free_port()
    proc = subprocess.Popen(
        [BIN, "sim", "--addr", f"127.0.0.1:{port}", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/v1"
    for _ in range(200):
        try:
            stats(api)
            return proc, api
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the simulator did not start")


def stats(api):
    base = api.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(f"{base}/_sim/stats", timeout=5) as r:
        return json.load(r)


def api_get(api, path):
    req = urllib.request.Request(f"{api}{path}")
    token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def env_for(home, api):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENARIO_")}
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=os.path.join(home, "config"),
        XDG_DATA_HOME=os.path.join(home, "data"),
        SCENARIO_API_URL=api,
        SCENARIO_API_KEY=KEY,
        SCENARIO_API_SECRET=SECRET,
    )
    return env


def run_measured(cmd, env):
    """Runs cmd; returns (seconds, peak RSS in KiB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[1:3]} failed with {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss, out


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def bench_monitoring(jobs, window):
    sim, api = start_sim("--time-scale", "0.5", "--failure-rate", "0", "--concurrency-limit", str(jobs * 2))
    home = tempfile.mkdtemp(prefix="kling-bench-")
    env = env_for(home, api)
    try:
        t0 = time.perf_counter()
        for n in range(jobs):
            subprocess.run(
                [BIN, "submit", "--prompt", f"a red fox in snow, take {n}"],
                env=env, check=True, stdout=subprocess.DEVNULL,
            )
        submit_secs = time.perf_counter() - t0
        watch = subprocess.Popen(
            [BIN, "watch", "--no-download"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(5)  # let it start and settle into its rhythm
        before, cpu_before, t_before = stats(api), proc_cpu_seconds(watch.pid), time.perf_counter()
        time.sleep(window)
        after, cpu_after, t_after = stats(api), proc_cpu_seconds(watch.pid), time.perf_counter()
        peak = proc_peak_rss_kib(watch.pid)
        watch.send_signal(signal.SIGKILL)
        watch.wait()
        elapsed = t_after - t_before
        return {
            "jobs": jobs,
            "submit_per_job_ms": submit_secs / jobs * 1000,
            "requests_per_s": (after["requests"] - before["requests"]) / elapsed,
            "cpu_percent": (cpu_after - cpu_before) / elapsed * 100,
            "peak_rss_mib": peak / 1024,
            "window_s": elapsed,
        }
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait()
        shutil.rmtree(home, ignore_errors=True)


def bench_download(rounds):
    size = 1 << 30
    sim, api = start_sim("--time-scale", "200", "--failure-rate", "0", "--video-size", str(size))
    home = tempfile.mkdtemp(prefix="kling-bench-")
    env = env_for(home, api)
    out = os.path.join(home, "out")
    os.makedirs(out)
    try:
        done = subprocess.run(
            [BIN, "submit", "--prompt", "a big red fox", "--wait", "--json", "--poll-interval", "0.2"],
            env=env, check=True, capture_output=True, text=True,
        )
        job = json.loads(done.stdout.splitlines()[-1])
        job_id, asset_id = job["jobId"], job["assetIds"][0]
        _, idle_kib, _ = run_measured([BIN, "status", job_id], env)
        curl_times, kt_times, kt_rss = [], [], []
        for _ in range(rounds):
            url = api_get(api, f"/assets/{asset_id}")["asset"]["url"]
            target = os.path.join(out, "curl.mp4")
            secs, _, _ = run_measured(["curl", "-sS", "--fail", "-o", target, url], env)
            assert os.path.getsize(target) == size
            os.remove(target)
            curl_times.append(secs)
            secs, rss, _ = run_measured([BIN, "download", job_id, "--out", out], env)
            files = [f for f in os.listdir(out) if f.endswith(".mp4")]
            assert len(files) == 1 and os.path.getsize(os.path.join(out, files[0])) == size, files
            os.remove(os.path.join(out, files[0]))
            kt_times.append(secs)
            kt_rss.append(rss)
        curl_s, kt_s = statistics.median(curl_times), statistics.median(kt_times)
        return {
            "size_mib": size / (1 << 20),
            "curl_mib_s": size / (1 << 20) / curl_s,
            "kling_mib_s": size / (1 << 20) / kt_s,
            "ratio": curl_s / kt_s,
            "idle_rss_mib": idle_kib / 1024,
            "download_rss_mib": max(kt_rss) / 1024,
            "rounds": rounds,
        }
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait()
        shutil.rmtree(home, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["monitor", "download"])
    args = parser.parse_args()
    if shutil.which("curl") is None:
        subprocess.run(["apt-get", "install", "-y", "curl"], check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)

    if args.only in (None, "monitor"):
        m = bench_monitoring(args.jobs, args.window)
        print(f"| {m['jobs']} running jobs monitored by `watch` ({m['window_s']:.0f} s window) | |")
        print("|---|---|")
        print(f"| API requests per second (budget 5) | {m['requests_per_s']:.2f} |")
        print(f"| CPU of the watching process | {m['cpu_percent']:.2f} % of one core |")
        print(f"| Peak RSS | {m['peak_rss_mib']:.1f} MiB |")
        print(f"| `submit` (journal + POST), per job | {m['submit_per_job_ms']:.0f} ms |")
        print()
    if args.only in (None, "download"):
        d = bench_download(args.rounds)
        print(f"| 1 GiB download from the simulator (median of {d['rounds']}) | |")
        print("|---|---|")
        print(f"| curl | {d['curl_mib_s']:.0f} MiB/s |")
        print(f"| kling-tui download (fsynced, size-checked) | {d['kling_mib_s']:.0f} MiB/s |")
        print(f"| Throughput ratio kling-tui / curl | {d['ratio']:.2f} |")
        print(f"| Peak RSS: idle command / download | {d['idle_rss_mib']:.1f} MiB / {d['download_rss_mib']:.1f} MiB |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

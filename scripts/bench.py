#!/usr/bin/env python3
"""Benchmarks of kling-tui against its own simulator, all on loopback.

1. Monitoring 1,000 running jobs with `watch`: API requests per second, and the CPU and peak
   RSS of the engine (the background process that polls) and of the `watch` client.
2. Downloading a 1 GiB video: throughput as a ratio against curl fetching the same URL in the
   same run, and the peak RSS of the engine, which runs the transfer for `download`.

Every client here reaches the engine of its temporary home (socket folder and log inside it);
each benchmark stops that engine at the end and checks that the process is gone.

Usage: python3 scripts/bench.py [--jobs N] [--window SECONDS] [--rounds N] [--only ...]
Builds the release binary first (into $CARGO_TARGET_DIR if set); installs curl and GNU time
(for the peak RSS of short commands) with apt-get when missing. Prints Markdown.
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
# cargo puts the binary under $CARGO_TARGET_DIR when set (relative to the workspace if relative).
TARGET = os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR") or "target")
BIN = os.path.join(TARGET, "release", "kling-tui")
KEY, SECRET = "demo_key", "demo_secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")
GNU_TIME = "/usr/bin/time"


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


def require_tools():
    missing = [pkg for pkg, path in (("curl", shutil.which("curl")), ("time", os.path.exists(GNU_TIME)))
               if not path]
    if missing:
        subprocess.run(["apt-get", "install", "-y", *missing], check=True)


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)


def socket_dir_for(home):
    """A private (0700) socket folder for the home's engine, its path short enough for a
    socket address (108 bytes with the engine's file name of 29)."""
    folder = os.path.join(home, "s")
    if len(folder) > 70:
        folder = tempfile.mkdtemp(prefix="kt-s-", dir="/tmp")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def write_config(home, **settings):
    """config.toml in the home (0600, as the binary demands): the engine's downloads land in
    the home, never in the folder the benchmark was run from."""
    settings.setdefault("download_dir", os.path.join(home, "videos"))
    folder = os.path.join(home, "config", "kling-tui")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "config.toml")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for key, value in settings.items():
            f.write(f"{key} = {json.dumps(value)}\n")


def env_for(home, api, **config):
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("SCENARIO_") and k != "KLING_TUI_SOCKET_DIR"
    }
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=os.path.join(home, "config"),
        XDG_DATA_HOME=os.path.join(home, "data"),
        XDG_STATE_HOME=os.path.join(home, "state"),
        KLING_TUI_SOCKET_DIR=socket_dir_for(home),
        SCENARIO_API_URL=api,
        SCENARIO_API_KEY=KEY,
        SCENARIO_API_SECRET=SECRET,
    )
    write_config(home, **config)
    return env


def ledger_dir(home):
    """The one ledger folder of the home (one API, one project)."""
    journals = os.path.join(home, "data", "kling-tui", "journals")
    (folder,) = os.listdir(journals)
    return os.path.join(journals, folder)


def pid_alive(pid):
    """Running, not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def engine_info(home):
    """What the engine's lock file says of it (pid, socket, ...), if one is running."""
    try:
        with open(os.path.join(ledger_dir(home), "engine.lock")) as f:
            info = json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None
    if not info or not pid_alive(info["pid"]):
        return None
    try:
        with open(f"/proc/{info['pid']}/cmdline", "rb") as f:
            return info if b"engine\0serve" in f.read() else None
    except OSError:
        return None


def engine_pid(home):
    """The pid of the home's running engine; waits a moment for one that is starting."""
    for _ in range(100):
        info = engine_info(home)
        if info:
            return info["pid"]
        time.sleep(0.05)
    raise SystemExit("no engine is running")


def engine_status(env):
    out = subprocess.run([BIN, "engine", "status", "--json"], env=env, check=True,
                         capture_output=True, text=True, timeout=30).stdout
    return json.loads(out)


def stop_engine(env, home):
    """`kling-tui engine stop`, then checks the process is gone. Returns the seconds the stop
    took; an engine still there is reported on stderr and killed, so none is left behind."""
    info = engine_info(home)
    t = time.perf_counter()
    subprocess.run([BIN, "engine", "stop"], env=env, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if info is None:
        return 0.0
    pid = info["pid"]
    for _ in range(200):
        if not pid_alive(pid):
            return time.perf_counter() - t
        time.sleep(0.05)
    print(f"warning: the engine (pid {pid}) was still running 10 s after `engine stop`; killed",
          file=sys.stderr)
    os.kill(pid, signal.SIGKILL)
    return time.perf_counter() - t


def run_measured(cmd, env, cwd=None):
    """Runs cmd; returns (seconds, peak RSS in KiB, stdout).

    The peak comes from GNU time, which runs cmd as a child of its own: a process started
    straight from this script inherits this script's high-water RSS in its ru_maxrss (Linux
    keeps the larger of the old and new peaks across exec), so wait4 would report at least
    Python's own peak, e.g. the output of an earlier `jobs --json` held in memory."""
    with tempfile.NamedTemporaryFile(prefix="kling-bench-rss-") as report:
        wrapped = [GNU_TIME, "-f", "%M", "-o", report.name, *cmd]
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        out = proc.stdout.read()
        code = proc.wait()
        elapsed = time.perf_counter() - start
        if code != 0:
            raise SystemExit(f"{cmd[1:3]} failed with {code}")
        peak = int(open(report.name).read().split()[-1])
    return elapsed, peak, out


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def proc_peak_rss_kib(pid):
    return proc_status_kib(pid, "VmHWM")


def proc_rss_kib(pid):
    return proc_status_kib(pid, "VmRSS")


def reset_peak_rss(pid):
    """Starts a new peak (VmHWM) from the current RSS; False where the kernel refuses."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def submit_jobs(env, home, jobs, label="a red fox in snow"):
    """`submit` once per job; returns the seconds per job. Every API call of the engine shares
    its request budget (5 per second), so with the default settings each POST waits its turn
    behind the polls: past ~20 running jobs a `submit` takes ~1.8 s. The first `submit` here
    therefore starts an engine that sends at once and polls nothing yet; that engine is stopped
    afterwards, and the next client starts one with the default settings, which takes the
    ledger's running jobs over."""
    t0 = time.perf_counter()
    for n in range(jobs):
        first = ["--requests-per-second", "1000", "--poll-interval", "3600"] if n == 0 else []
        subprocess.run(
            [BIN, "submit", "--prompt", f"{label}, take {n}", *first],
            env=env, cwd=home, check=True, stdout=subprocess.DEVNULL,
        )
    per_job = (time.perf_counter() - t0) / jobs
    stop_engine(env, home)
    return per_job


def bench_monitoring(jobs, window):
    sim, api = start_sim("--time-scale", "0.5", "--failure-rate", "0", "--concurrency-limit", str(jobs * 2))
    home = tempfile.mkdtemp(prefix="kling-bench-")
    env = env_for(home, api)
    watch = None
    try:
        submit_secs = submit_jobs(env, home, jobs)
        # `watch` starts the engine (default settings), which takes the running jobs over.
        watch = subprocess.Popen(
            [BIN, "watch", "--no-download"], env=env, cwd=home,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        engine = engine_pid(home)
        time.sleep(5)  # let it settle into its rhythm
        pids = {"engine": engine, "watch": watch.pid}
        cpu_before = {k: proc_cpu_seconds(p) for k, p in pids.items()}
        before, t_before = stats(api), time.perf_counter()
        time.sleep(window)
        after, t_after = stats(api), time.perf_counter()
        cpu_after = {k: proc_cpu_seconds(p) for k, p in pids.items()}
        peak = {k: proc_peak_rss_kib(p) for k, p in pids.items()}
        status = engine_status(env)
        watch.send_signal(signal.SIGKILL)
        watch.wait()
        elapsed = t_after - t_before
        cpu = {k: (cpu_after[k] - cpu_before[k]) / elapsed * 100 for k in pids}
        if status["unfinished"] < jobs:
            print(f"warning: only {status['unfinished']} of {jobs} jobs were still running at the "
                  "end of the window", file=sys.stderr)
        return {
            "jobs": jobs,
            "submit_per_job_ms": submit_secs * 1000,
            "requests_per_s": (after["requests"] - before["requests"]) / elapsed,
            "engine_cpu_percent": cpu["engine"],
            "watch_cpu_percent": cpu["watch"],
            "engine_peak_rss_mib": peak["engine"] / 1024,
            "watch_peak_rss_mib": peak["watch"] / 1024,
            "unfinished": status["unfinished"],
            "window_s": elapsed,
            "stop_s": stop_engine(env, home),
        }
    finally:
        if watch and watch.poll() is None:
            watch.kill()
            watch.wait()
        stop_engine(env, home)
        sim.send_signal(signal.SIGINT)
        sim.wait()
        shutil.rmtree(home, ignore_errors=True)


def bench_download(rounds):
    """Each round is a fresh job: curl fetches its video, then `download` asks the engine,
    which runs the transfer and records the file. The engine does not download by itself
    (auto_download = false), so the file is fetched by the measured command only; and a job
    whose file the ledger holds is not fetched again (even once the file is deleted), hence a
    new job per round."""
    size = 1 << 30
    sim, api = start_sim("--time-scale", "200", "--failure-rate", "0", "--video-size", str(size))
    home = tempfile.mkdtemp(prefix="kling-bench-")
    env = env_for(home, api, auto_download=False)
    out = os.path.join(home, "out")
    os.makedirs(out)
    try:
        curl_times, kt_times, kt_rss, engine_peaks, engine_cpu = [], [], [], [], []
        idle_kib = engine_idle_kib = None
        for n in range(rounds):
            done = subprocess.run(
                [BIN, "submit", "--prompt", f"a big red fox, take {n}", "--wait", "--json",
                 "--poll-interval", "0.2"],
                env=env, cwd=home, check=True, capture_output=True, text=True,
            )
            job = json.loads(done.stdout.splitlines()[-1])
            job_id, asset_id = job["jobId"], job["assetIds"][0]
            engine = engine_pid(home)
            if idle_kib is None:
                _, idle_kib, _ = run_measured([BIN, "status", job_id], env, cwd=home)
                engine_idle_kib = proc_rss_kib(engine)
            url = api_get(api, f"/assets/{asset_id}")["asset"]["url"]
            target = os.path.join(out, "curl.mp4")
            secs, _, _ = run_measured(["curl", "-sS", "--fail", "-o", target, url], env)
            assert os.path.getsize(target) == size
            os.remove(target)
            curl_times.append(secs)
            reset = reset_peak_rss(engine)
            cpu0 = proc_cpu_seconds(engine)
            secs, rss, _ = run_measured([BIN, "download", job_id, "--out", out], env, cwd=home)
            engine_cpu.append(proc_cpu_seconds(engine) - cpu0)
            engine_peaks.append(proc_peak_rss_kib(engine) if reset else None)
            files = [f for f in os.listdir(out) if f.endswith(".mp4")]
            assert len(files) == 1 and os.path.getsize(os.path.join(out, files[0])) == size, files
            os.remove(os.path.join(out, files[0]))
            kt_times.append(secs)
            kt_rss.append(rss)
        curl_s, kt_s = statistics.median(curl_times), statistics.median(kt_times)
        known = [p for p in engine_peaks if p is not None]
        return {
            "size_mib": size / (1 << 20),
            "curl_mib_s": size / (1 << 20) / curl_s,
            "kling_mib_s": size / (1 << 20) / kt_s,
            "ratio": curl_s / kt_s,
            "ratios": [c / k for c, k in zip(curl_times, kt_times)],
            "idle_rss_mib": idle_kib / 1024,
            "download_rss_mib": max(kt_rss) / 1024,
            "engine_idle_rss_mib": engine_idle_kib / 1024,
            "engine_download_rss_mib": max(known) / 1024 if known else None,
            "engine_cpu_s": statistics.median(engine_cpu),
            "rounds": rounds,
            "stop_s": stop_engine(env, home),
        }
    finally:
        stop_engine(env, home)
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
    require_tools()
    build()

    if args.only in (None, "monitor"):
        m = bench_monitoring(args.jobs, args.window)
        both = m["engine_cpu_percent"] + m["watch_cpu_percent"]
        print(f"| {m['jobs']} running jobs in the engine, `watch` attached ({m['window_s']:.0f} s window) | |")
        print("|---|---|")
        print(f"| API requests per second (budget 5) | {m['requests_per_s']:.2f} |")
        print(f"| CPU: engine / `watch` client / both | {m['engine_cpu_percent']:.2f} % / "
              f"{m['watch_cpu_percent']:.2f} % / {both:.2f} % of one core |")
        print(f"| Peak RSS: engine / `watch` client | {m['engine_peak_rss_mib']:.1f} MiB / "
              f"{m['watch_peak_rss_mib']:.1f} MiB |")
        print(f"| `submit` (through an engine with no polls due: ledger + POST), per job | {m['submit_per_job_ms']:.0f} ms |")
        print(f"| Jobs still running at the end / `engine stop` took | {m['unfinished']} / {m['stop_s'] * 1000:.0f} ms |")
        print()
    if args.only in (None, "download"):
        d = bench_download(args.rounds)
        engine_peak = (f"{d['engine_download_rss_mib']:.1f} MiB" if d["engine_download_rss_mib"]
                       else "n/a (clear_refs refused)")
        print(f"| 1 GiB download from the simulator (median of {d['rounds']}) | |")
        print("|---|---|")
        print(f"| curl | {d['curl_mib_s']:.0f} MiB/s |")
        print(f"| kling-tui download, run by the engine (fsynced, size-checked) | {d['kling_mib_s']:.0f} MiB/s |")
        print(f"| Throughput ratio kling-tui / curl: each run; of the medians | "
              f"{', '.join(f'{r:.2f}' for r in d['ratios'])}; {d['ratio']:.2f} |")
        print(f"| Engine RSS: idle / peak during a download | {d['engine_idle_rss_mib']:.1f} MiB / {engine_peak} |")
        print(f"| Engine CPU per download (median) | {d['engine_cpu_s']:.2f} s |")
        print(f"| Peak RSS of the clients: idle command (`status`) / `download` | "
              f"{d['idle_rss_mib']:.1f} MiB / {d['download_rss_mib']:.1f} MiB |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

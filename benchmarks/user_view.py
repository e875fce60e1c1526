"""Training speed as users see it: chainrule against PyTorch, one fresh process per measurement.

Each measurement starts a new Python process that imports the framework, builds the model and
the data (neither is timed), then trains one whole pass of the workload by the wall clock, the
first steps included: what a user waits for when running a script. The framework's import time
(NumPy already loaded) is reported beside it.

Every workload runs at the default thread settings (nothing limited: NumPy's BLAS and PyTorch
choose), then at one thread (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS set to 1
for the child, plus threadpoolctl and ``torch.set_num_threads(1)`` inside it). chainrule and
PyTorch processes alternate (c, t, c, t, ...) for ``--rounds`` rounds; the tables give the median
of each framework's times and the median of the per-round ratios chainrule/PyTorch.

Memory of one training step, printed beside the times:
  - traced: the peak of NumPy's buffers (tracemalloc) during a warm chainrule step;
  - RSS: the growth of the process's peak resident memory over the first training step, for
    both frameworks (Linux only: the peak is reset through /proc/self/clear_refs).

Usage: python benchmarks/user_view.py [--rounds 5] [--workloads mlp tiny]
                                      [--threads-only {default,one,both}] [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

from common import describe_machine, limit_threads, peak_step_memory
from workloads import WORKLOADS, build

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SETTINGS = {"default": "default threads", "one": "one thread"}
NAMES = {"chainrule": "chainrule", "torch": "PyTorch"}
MARKER = "user-view result: "


# --- the child: one measurement in a fresh process ---

def _proc_status_kib(field):
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak_rss() -> bool:
    """Set the process's peak resident memory (VmHWM) to its current value; False if unable."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _threads(n):
    return f"{n} thread{'' if n == 1 else 's'}"


def _thread_summary(torch):
    """One line on the thread pools this process runs on."""
    if torch is not None:
        return f"torch {torch.__version__} ({_threads(torch.get_num_threads())})"
    import numpy as np

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"numpy {np.__version__} (BLAS threads unknown: threadpoolctl is missing)"
    pools = "; ".join(f"{p.get('internal_api')} {p.get('version')} in "
                      f"{os.path.basename(p.get('filepath', '')).split('-')[0]}, "
                      f"{_threads(p.get('num_threads'))}"
                      for p in sorted(threadpool_info(), key=lambda p: p.get("filepath", "")))
    return f"numpy {np.__version__} ({pools})"


def measure(name, framework, threads, quick):
    """Time one pass of workload ``name`` here, in this (fresh) process; return a dict."""
    import numpy  # noqa: F401  (both frameworks use it; loaded before the import clock starts)

    start = time.perf_counter()
    lib = importlib.import_module(framework)
    _ = lib.nn, lib.optim  # chainrule loads these on first use, torch at import: count both
    import_s = time.perf_counter() - start
    torch = lib if framework == "torch" else None
    _limits = limit_threads(1, torch) if threads == "one" else None  # noqa: F841 - held

    start = time.perf_counter()
    step, n_steps = build(name, lib, quick)
    build_s = time.perf_counter() - start

    rss_before = _proc_status_kib("VmRSS")
    can_reset = _reset_peak_rss()
    start = time.perf_counter()
    loss = step(0)
    peak_after_first = _proc_status_kib("VmHWM")  # a read of /proc: microseconds
    for i in range(1, n_steps):
        loss = step(i)
    final_loss = loss.item()
    seconds = time.perf_counter() - start

    rss_growth = None
    if can_reset and rss_before is not None and peak_after_first is not None:
        rss_growth = (peak_after_first - rss_before) * 1024
    traced = peak_step_memory(lambda: step(0)) if torch is None else None
    return {"seconds": seconds, "import_s": import_s, "build_s": build_s, "steps": n_steps,
            "loss": final_loss, "rss_growth": rss_growth, "traced": traced,
            "threads": _thread_summary(torch), "machine": describe_machine(torch)}


# --- the parent: fresh processes, alternating, and the tables ---

def run_child(name, framework, threads, quick):
    """Run :func:`measure` in a new Python process and return its result."""
    env = dict(os.environ)
    if threads == "one":
        env.update({variable: "1" for variable in THREAD_VARIABLES})
    command = [sys.executable, os.path.abspath(__file__), "--child", name,
               "--framework", framework, "--threads-only", threads]
    proc = subprocess.run(command + (["--quick"] if quick else []), env=env,
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{framework} {name} ({SETTINGS[threads]}) failed:\n"
                           f"{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len(MARKER):])


def measure_all(names, frameworks, settings, rounds, quick):
    """``results[setting][name][framework]`` -> one result per round, frameworks alternating."""
    results = {}
    for threads in settings:
        results[threads] = {}
        for name in names:
            runs = results[threads][name] = {framework: [] for framework in frameworks}
            for r in range(rounds):
                for framework in frameworks:
                    runs[framework].append(run_child(name, framework, threads, quick))
                times = ", ".join(f"{NAMES[f]} {runs[f][-1]['seconds']:.3f} s"
                                  for f in frameworks)
                if "torch" in runs:
                    ratio = runs["chainrule"][-1]["seconds"] / runs["torch"][-1]["seconds"]
                    times += f" (ratio {ratio:.2f}x)"
                print(f"  {SETTINGS[threads]:<15} {name:<6} round {r + 1}/{rounds}: {times}",
                      flush=True)
    return results


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            match = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.MULTILINE)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mib(n_bytes):
    return "n/a" if n_bytes is None else f"{n_bytes / 2 ** 20:.3g}"


def _median(records, key):
    values = [r[key] for r in records if r[key] is not None]
    return statistics.median(values) if values else None


def table(threads, by_name, frameworks, rounds, quick=False):
    """A markdown table of one thread setting, with its date and machine line."""
    first = {f: next(iter(by_name.values()))[f][0] for f in frameworks}
    machine = "; ".join([f"{cpu_model()}, {os.cpu_count()} cpus, {platform.system()}",
                         f"python {platform.python_version()}"]
                        + [first[f]["threads"] for f in frameworks])
    lines = [f"Training speed, {SETTINGS[threads]} ({datetime.date.today().isoformat()}). "
             f"{machine}. One pass per fresh process, wall clock, first steps included; "
             f"medians of {rounds} alternating round{'' if rounds == 1 else 's'}"
             f"{' (quick sizes)' if quick else ''}.", ""]
    has_torch = "torch" in frameworks
    header = ["workload", "chainrule (s)"]
    if has_torch:
        header += ["PyTorch (s)", "chainrule / PyTorch"]
    header += ["import (s)", "step memory, traced (MiB)", "first-step RSS growth (MiB)"]
    lines += ["| " + " | ".join(header) + " |", "|---" + "|--:" * (len(header) - 1) + "|"]
    for name, runs in by_name.items():
        ours = runs["chainrule"]
        row = [WORKLOADS[name].describe(quick), f"{_median(ours, 'seconds'):.3g}"]
        imports = f"{_median(ours, 'import_s'):.2f}"
        rss = _mib(_median(ours, "rss_growth"))
        if has_torch:
            theirs = runs["torch"]
            ratios = [c["seconds"] / t["seconds"] for c, t in zip(ours, theirs)]
            row += [f"{_median(theirs, 'seconds'):.3g}", f"{statistics.median(ratios):.2f}x"]
            imports += f" / {_median(theirs, 'import_s'):.2f}"
            rss += f" / {_mib(_median(theirs, 'rss_growth'))}"
        row += [imports, _mib(_median(ours, "traced")), rss]
        lines.append("| " + " | ".join(row) + " |")
    if has_torch:
        lines += ["", "import and RSS columns: chainrule / PyTorch. Traced memory is NumPy's "
                      "buffers at the peak of a warm chainrule step; PyTorch allocates outside "
                      "tracemalloc's view, so only its RSS growth is shown."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating rounds (default 5, or 1 with --quick)")
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=None,
                        metavar="NAME", help=f"a subset of: {', '.join(WORKLOADS)}")
    parser.add_argument("--threads-only", choices=("default", "one", "both"), default="both",
                        help="which thread settings to measure")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and one round: checks that everything runs")
    parser.add_argument("--child", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    parser.add_argument("--framework", choices=list(NAMES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # inside a fresh process: one measurement, printed for the parent
        result = measure(args.child, args.framework, args.threads_only, args.quick)
        print(MARKER + json.dumps(result), flush=True)
        return None

    rounds = args.rounds or (1 if args.quick else 5)
    names = args.workloads or list(WORKLOADS)
    settings = ["default", "one"] if args.threads_only == "both" else [args.threads_only]
    frameworks = ["chainrule"]
    if importlib.util.find_spec("torch") is not None:
        frameworks.append("torch")
    else:
        print("PyTorch is not installed: chainrule is reported alone")
    set_variables = {v: os.environ[v] for v in THREAD_VARIABLES if v in os.environ}
    print(f"{cpu_model()}, {os.cpu_count()} cpus; python {platform.python_version()}; "
          f"thread variables set for the default runs: {set_variables or 'none'}")
    print(f"{rounds} rounds of {', '.join(names)}, {' then '.join(SETTINGS[s] for s in settings)}"
          f"{' (quick sizes)' if args.quick else ''}", flush=True)

    results = measure_all(names, frameworks, settings, rounds, args.quick)
    for threads in settings:
        first = next(iter(results[threads].values()))
        print(f"\n## {SETTINGS[threads]}: the configuration inside the measuring processes")
        for framework in frameworks:
            print(f"{NAMES[framework]} process:\n{first[framework][0]['machine']}")
    for threads in settings:
        print("\n" + table(threads, results[threads], frameworks, rounds, args.quick))
    return results


if __name__ == "__main__":
    main()

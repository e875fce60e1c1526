"""Run the programs of tests/real_world/programs and read what they print.

A program prints its results on lines ``RESULT name=value``: floats written with ``repr``, and
``RESULT dtype_<name>=<dtype>`` for the dtypes of what it prints (PyTorch's ``torch.float32``
and chainrule's ``float32`` both read as ``float32``). It states, as module-level constants:

- ``TOLERANCE``: two runs agree when ``|a - b| <= TOLERANCE * max(1, |b|)`` for every float;
- ``CONVERGED_BELOW`` / ``CONVERGED_ABOVE``: dicts ``{result name: threshold}`` that the
  chainrule run must reach.
"""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "launch.py"
PROGRAMS = HERE / "programs"
ROOT = HERE.parents[1]


def programs() -> list[Path]:
    """The program files, in name order."""
    return sorted(PROGRAMS.glob("*.py"))


def constants(path: Path) -> dict:
    """The module-level constants of a program whose values are literals (read, not run)."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                try:
                    found[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return found


@dataclass
class Run:
    """One run of a program: its parsed results, its output and how long it took."""

    framework: str
    returncode: int
    results: dict = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    def failure(self, lines: int = 6) -> str:
        """The last lines of the error output (the end of the traceback)."""
        tail = (self.stderr or self.stdout).strip().splitlines()[-lines:]
        return f"{self.framework} run exited with {self.returncode}:\n" + "\n".join(tail)


def parse_results(stdout: str) -> dict:
    """``{name: float or str}`` from the ``RESULT name=value`` lines of ``stdout``."""
    results = {}
    for line in stdout.splitlines():
        if not line.startswith("RESULT "):
            continue
        name, _, value = line[len("RESULT "):].partition("=")
        name, value = name.strip(), value.strip()
        if name.startswith("dtype_"):
            results[name] = value.removeprefix("torch.")
        else:
            results[name] = float(value)
    return results


def _command(path: Path, framework: str) -> list[str]:
    return [sys.executable, str(LAUNCHER), "--framework", framework, str(path)]


def _environment() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    return env


def _run_one(path: Path, framework: str, timeout: float) -> Run:
    start = time.perf_counter()
    try:
        done = subprocess.run(_command(path, framework), capture_output=True, text=True,
                              timeout=timeout, env=_environment(), cwd=str(ROOT))
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as error:
        stdout, stderr = (text.decode() if isinstance(text, bytes) else text or ""
                          for text in (error.stdout, error.stderr))
        returncode, stderr = -9, stderr + f"\ntimed out after {timeout} s"
    seconds = time.perf_counter() - start
    return Run(framework, returncode, parse_results(stdout), stdout, stderr, seconds)


def run_programs(path: Path, frameworks, timeout: float = 120.0) -> dict:
    """Run ``path`` under each framework at the same time (a fresh interpreter each)."""
    with ThreadPoolExecutor(max_workers=len(frameworks)) as pool:
        futures = {name: pool.submit(_run_one, path, name, timeout) for name in frameworks}
        return {name: future.result() for name, future in futures.items()}


def run_program(path: Path, framework: str, timeout: float = 120.0) -> Run:
    """Run ``path`` through the launcher in a fresh interpreter under ``framework``."""
    return run_programs(path, [framework], timeout)[framework]


def convergence_problems(results: dict, settings: dict) -> list[str]:
    """What the run failed to reach of the program's CONVERGED_BELOW / CONVERGED_ABOVE."""
    problems = []
    for name, bound in settings.get("CONVERGED_BELOW", {}).items():
        value = results.get(name)
        if value is None or not value < bound:
            problems.append(f"{name}={value!r} is not below {bound!r}")
    for name, bound in settings.get("CONVERGED_ABOVE", {}).items():
        value = results.get(name)
        if value is None or not value > bound:
            problems.append(f"{name}={value!r} is not above {bound!r}")
    return problems


def mismatches(ours: dict, theirs: dict, tolerance: float) -> list[str]:
    """The results of ``ours`` (chainrule) that differ from ``theirs`` (PyTorch)."""
    problems = [f"{name} missing from the chainrule run" for name in theirs if name not in ours]
    problems += [f"{name} missing from the PyTorch run" for name in ours if name not in theirs]
    for name in sorted(set(ours) & set(theirs)):
        a, b = ours[name], theirs[name]
        if isinstance(b, str) or isinstance(a, str):
            if a != b:
                problems.append(f"{name}: chainrule {a!r}, PyTorch {b!r}")
        elif not (abs(a - b) <= tolerance * max(1.0, abs(b))
                  or (math.isnan(a) and math.isnan(b))):
            problems.append(f"{name}: chainrule {a!r}, PyTorch {b!r} (tolerance {tolerance})")
    return problems


def main() -> None:
    """Run every program (or those named) under both frameworks and print a summary table."""
    chosen = [p for p in programs() if len(sys.argv) < 2 or p.stem in sys.argv[1:]]
    for path in chosen:
        settings = constants(path)
        runs = run_programs(path, ["chainrule", "torch"])
        ours, theirs = runs["chainrule"], runs["torch"]
        status = "ok"
        if ours.returncode or theirs.returncode:
            status = "FAIL\n" + "\n".join(r.failure() for r in (ours, theirs) if r.returncode)
        else:
            problems = convergence_problems(ours.results, settings) + mismatches(
                ours.results, theirs.results, settings.get("TOLERANCE", 0.0))
            status = "ok" if not problems else "MISMATCH\n  " + "\n  ".join(problems)
        print(f"{path.stem:28s} chainrule {ours.seconds:5.1f} s  torch {theirs.seconds:5.1f} s"
              f"  {status}", flush=True)


if __name__ == "__main__":
    main()

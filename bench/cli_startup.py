"""Benchmark: wall time of `maildesk --help`, `tickets list` and `tickets show N`, before and after.

Run: python bench/cli_startup.py [--runs 9] [--baseline a695c95]

"Before" is the code of the baseline commit (the command line as it was before it imported lazily),
exported with `git archive` into a scratch folder and run from there in the same session, each
against its own small installation (`maildesk init` and one `run --once`: 8 tickets, 18 mails).
Every figure is the median of --runs fresh processes of the real interpreter (not a shim), output
to a pipe. The target is under 0.3 s for each of the three commands.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "a695c95"  # the last commit before the command line imported lazily
TARGET = 0.3


# the commands run from a folder of their own: `python -m` puts the working folder first on the path
NEUTRAL = Path(tempfile.gettempdir())


def _env(code: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MAILDESK_CONFIG", "COLUMNS")}
    env["PYTHONPATH"] = str(code)
    return env


def _maildesk(code: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maildesk", *args], capture_output=True, text=True,
                          env=_env(code), cwd=NEUTRAL, check=True)


def _installation(code: Path, folder: Path) -> tuple[Path, str]:
    """A small installation made by that code: the demo config and its sample mailbox, taken in."""
    _maildesk(code, "init", str(folder))
    config = folder / "maildesk.toml"
    _maildesk(code, "--config", str(config), "run", "--once")
    number = json.loads(_maildesk(code, "--config", str(config), "tickets", "list", "--json").stdout)[0]["number"]
    return config, number


def _median(code: Path, args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "maildesk", *args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=_env(code), cwd=NEUTRAL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--baseline", default=BASELINE, help="the commit measured as 'before'")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maildesk-bench-") as scratch:
        tmp = Path(scratch)
        before_code = tmp / "before"
        before_code.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "maildesk"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before_code)], input=archive, check=True)
        codes = {"before": before_code, "after": ROOT}
        installs = {name: _installation(code, tmp / f"desk-{name}") for name, code in codes.items()}
        python = statistics.median(_timed([sys.executable, "-c", "pass"]) for _ in range(args.runs))
        print(f"python {sys.version.split()[0]}, {args.runs} runs each, median wall time in seconds "
              f"(the interpreter alone: {python:.3f} s)")
        print(f"{'command':<22}{'before':>9}{'after':>9}{'ratio':>8}   target < {TARGET} s")
        for label, command in (("--help", ["--help"]), ("tickets list", ["tickets", "list"]),
                               ("tickets show N", ["tickets", "show"])):
            row = {}
            for name, code in codes.items():
                config, number = installs[name]
                full = command if label == "--help" else ["--config", str(config), *command]
                if label == "tickets show N":
                    full = [*full, number]
                row[name] = _median(code, full, args.runs)
            ok = "ok" if row["after"] < TARGET else "MISSED"
            print(f"{label:<22}{row['before']:>9.3f}{row['after']:>9.3f}{row['before'] / row['after']:>7.1f}x   {ok}")


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

"""The faults of a replicated cluster, timed: for each, how long committed output
stalled and how many records were processed twice.

    python bench/faults.py [--rounds 3] [-k EXPRESSION] [--busy] [--combined]

Runs ``tests/integration/test_cluster.py`` (three Apache Kafka brokers and three
controllers of their own, or with ``--combined`` three nodes each both; replication
factor 3, min ISR 2, two workers with the story steps on, paced input; the release
jars resolved as the integration tests resolve them) ``--rounds`` times and prints,
per fault and guarantee, the median over the rounds of:

- ``stall_s``: for a frozen node and a killed coordinator, the end of the longest gap
  in committed output (read_committed under exactly_once) within 60 s of the fault,
  in seconds from the fault; for a lost quorum, from the nodes' return to the first
  committed output;
- ``reprocessed``: records read back more than once (at_least_once; 0 under
  exactly_once, which the tests assert).

Each round asserts what the tests assert (nothing lost, nothing twice under
exactly_once); a failed round is reported and left out of the medians. The figures
depend on the machine's load: run it alone. ``--busy`` keeps one core busy for the
whole run (a loop in a process of its own), as a loaded machine would.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"FAULT (\S+) (\S+): resumed_s=([\d.]+) reprocessed=(\d+) ?(.*)")


def one_round(
    expression: str | None,
) -> tuple[list[tuple[str, str, float, int, str]], int]:
    """The FAULT lines of one run of the cluster tests (with what the test says of the
    fault: the node, the outputs per 2 s), and pytest's exit status."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/integration/test_cluster.py",
        "-s",
        "-q",
        "-n0",
        "-p",
        "no:randomly",
    ]
    if expression:
        command += ["-k", expression]
    env = os.environ | {"KAFKA_TESTS": "require", "KAFKA_CLUSTER_TESTS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    found = [(m[1], m[2], float(m[3]), int(m[4]), m[5]) for m in LINE.finditer(done.stdout)]
    if done.returncode:
        lines = done.stdout.splitlines()
        # why each test failed (pytest's E lines, not the workers' log lines they quote)
        why = [ln for ln in lines if ln.startswith("E ") and not ln[1:].lstrip().startswith("{")]
        tail = "\n".join([*why[:30], *lines[-15:]])
        print(f"round failed (pytest exit {done.returncode}):\n{tail}", file=sys.stderr)
    return found, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-k", dest="expression", help="only the faults pytest -k selects")
    parser.add_argument("--busy", action="store_true", help="one core kept busy meanwhile")
    parser.add_argument(
        "--combined",
        action="store_true",
        help="each broker a controller too (no controllers of their own)",
    )
    args = parser.parse_args()
    if args.combined:  # read by the cluster fixture (tests/integration/test_cluster.py)
        os.environ["KAFKA_CLUSTER_CONTROLLERS"] = "0"
    busy = None
    if args.busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return report(args.rounds, args.expression)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()


def report(rounds: int, expression: str | None) -> int:
    """Run the rounds and print the table; 1 where any round failed."""
    stalls: dict[tuple[str, str], list[float]] = defaultdict(list)
    again: dict[tuple[str, str], list[int]] = defaultdict(list)
    failed = 0
    for n in range(rounds):
        found, status = one_round(expression)
        failed += status != 0
        for fault, guarantee, stall, extra, detail in found:
            stalls[fault, guarantee].append(stall)
            again[fault, guarantee].append(extra)
            print(
                f"round {n + 1}: {fault} {guarantee}: stall {stall:.1f}s, reprocessed {extra}"
                + (f" {detail}" if detail else ""),
                flush=True,
            )
    print()
    print("| fault | guarantee | stall, median (rounds) | reprocessed, median |")
    print("|---|---|---|---|")
    for (fault, guarantee), values in sorted(stalls.items()):
        each = ", ".join(f"{v:.1f}" for v in values)
        print(
            f"| {fault} | {guarantee} | {statistics.median(values):.1f} s ({each}) "
            f"| {statistics.median(again[fault, guarantee]):.0f} |"
        )
    if failed:
        print(f"\n{failed} of {rounds} rounds failed; see above", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

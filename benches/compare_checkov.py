#!/usr/bin/env python3
"""Full scan of a generated 2,000-file Terraform tree: palisade against `checkov -d`.

Usage: benches/compare_checkov.py [--runs 5] [--checkov PATH] [--palisade PATH] [--tree DIR]

Generates the tree with benches/terraform_tree.py (unless --tree is given), warms palisade's
compile cache once, then runs both scanners --runs times, interleaved, and prints the median
wall time and peak memory of each and their ratio. Both write JSON reports to a file, so the
terminal's speed is not measured. checkov comes from PyPI (`pip install checkov`); palisade
defaults to target/release/palisade (`cargo build --release`).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(command, output):
    """Runs a command, returns (seconds, peak RSS in MiB, exit code)."""
    start = time.perf_counter()
    with open(output, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkov", default="checkov")
    parser.add_argument(
        "--palisade", default=os.path.join(HERE, "..", "target", "release", "palisade")
    )
    parser.add_argument("--tree")
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="palisade-vs-checkov-")
    tree = args.tree or os.path.join(work, "tree")
    if not args.tree:
        subprocess.run(
            [sys.executable, os.path.join(HERE, "terraform_tree.py"), tree, "--files", str(args.files)],
            check=True,
        )
    cache = os.path.join(work, "cache")
    palisade = [args.palisade, "scan", tree, "--format", "json", "--cache-dir", cache]
    checkov = [args.checkov, "-d", tree, "--framework", "terraform", "-o", "json", "--quiet"]
    # The first palisade run compiles the built-in packs into the cache, as a CI cache would hold.
    run(palisade, os.path.join(work, "warm.json"))

    results = {"palisade": [], "checkov": []}
    for _ in range(args.runs):
        for name, command in (("palisade", palisade), ("checkov", checkov)):
            seconds, rss, code = run(command, os.path.join(work, f"{name}.json"))
            if code not in (0, 1):
                sys.exit(f"{name} failed with exit code {code}; see {work}/{name}.json")
            results[name].append((seconds, rss))

    for name, samples in results.items():
        seconds = statistics.median(s for s, _ in samples)
        rss = max(r for _, r in samples)
        print(f"{name:9} median {seconds * 1000:9.1f} ms   peak {rss:7.1f} MiB   ({len(samples)} runs)")
    ratio = statistics.median(s for s, _ in results["checkov"]) / statistics.median(
        s for s, _ in results["palisade"]
    )
    print(f"palisade is {ratio:.0f}x faster than checkov on {tree}")


if __name__ == "__main__":
    main()

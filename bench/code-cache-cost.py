#!/usr/bin/env python3
"""What leaving V8's code caches out of an executable costs at start-up.

    python3 bench/code-cache-cost.py WITH WITHOUT [ROUNDS] [-- LAUNCHER...]

WITH and WITHOUT are two builds of one commit, with and without the code
caches (the arm64 executable has none: build the x86-64 one without them
to measure the cost on real hardware). Cold starts of each command are
interleaved, one process per start, and each is measured by its CPU time
(user + system, from wait4: microseconds, and less disturbed by a busy
machine than the wall clock, which is printed beside it). Prints the median
of ROUNDS (default 20) per command. With `-- qemu-aarch64-static -L ROOT`
it runs them under emulation: those figures are emulated, not real.
"""
import os
import statistics
import sys
import time

COMMANDS = {
    "--version": (["--version"], {}),
    "check-health (closed port)": (["check-health", "--port", "1"], {}),
    "migrate (refused connection)": (
        ["migrate"],
        {"DATABASE_URL": "postgres://u@127.0.0.1:1/x"},
    ),
}


def start(argv, env):
    """CPU and wall-clock milliseconds of one run of argv."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    began = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin", **env})
    _, _, usage = os.wait4(pid, 0)
    os.close(devnull)
    return (usage.ru_utime + usage.ru_stime) * 1000, (time.monotonic() - began) * 1000


def main(args):
    launcher = args[args.index("--") + 1 :] if "--" in args else []
    args = args[: args.index("--")] if "--" in args else args
    executables = {"with": os.path.abspath(args[0]), "without": os.path.abspath(args[1])}
    rounds = int(args[2]) if len(args) > 2 else 20
    samples = {}
    for _ in range(rounds):
        for command, (argv, env) in COMMANDS.items():
            for name, path in executables.items():
                samples.setdefault((command, name), []).append(
                    start(launcher + [path] + argv, env)
                )
    for command in COMMANDS:
        cpu = {n: statistics.median(s[0] for s in samples[(command, n)]) for n in executables}
        wall = {n: statistics.median(s[1] for s in samples[(command, n)]) for n in executables}
        print(
            f"{command}: CPU {cpu['with']:.1f} -> {cpu['without']:.1f} ms "
            f"({cpu['without'] - cpu['with']:+.1f} ms, {cpu['without'] / cpu['with']:.2f}x); "
            f"wall {wall['with']:.0f} -> {wall['without']:.0f} ms"
        )


if __name__ == "__main__":
    main(sys.argv[1:])

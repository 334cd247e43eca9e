"""Dask anchor for scripts/measure-local.ts's `fresh` scenario (measurement only; Dask is
never a dependency): 10,000 trivial tasks (5,000 inc leaves, a binary tree of adds, a root),
a new graph with new keys for every get, one warm-up, on Dask's sync, threads and processes
schedulers with 2 workers. Prints the median µs per task.

    /usr/bin/python3 scripts/measure-dask.py [runs]
"""
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import dask
import dask.local
import dask.multiprocessing
import dask.threaded


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def identity(x):
    return x


def graph(prefix, leaves=5000):
    dsk = {}
    level = []
    for i in range(leaves):
        k = f"{prefix}inc-{i}"
        dsk[k] = (inc, i)
        level.append(k)
    n = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            if i + 1 < len(level):
                k = f"{prefix}add-{n}"
                n += 1
                dsk[k] = (add, level[i], level[i + 1])
                nxt.append(k)
            else:
                nxt.append(level[i])
        level = nxt
    dsk[f"{prefix}root"] = (identity, level[0])
    return dsk, f"{prefix}root"


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    expected = 5000 * 5001 // 2
    print(f"dask {dask.__version__}: 10,000 trivial tasks, fresh graph per get, median of {runs} after 1 warm-up")
    with ThreadPoolExecutor(2) as tpool, ProcessPoolExecutor(2) as ppool:
        getters = {
            "sync": lambda d, k: dask.local.get_sync(d, k),
            "threads": lambda d, k: dask.threaded.get(d, k, pool=tpool),
            "processes": lambda d, k: dask.multiprocessing.get(d, k, pool=ppool),
        }
        for name, get in getters.items():
            samples = []
            for run in range(runs + 1):
                dsk, key = graph(f"{name}{run}-")
                t0 = time.perf_counter()
                v = get(dsk, key)
                dt = time.perf_counter() - t0
                assert v == expected, (name, v)
                if run:
                    samples.append(dt * 1e6 / len(dsk))
            print(f"{name:10s} {statistics.median(samples):8.1f} us/task (min {min(samples):.1f})")


if __name__ == "__main__":
    main()

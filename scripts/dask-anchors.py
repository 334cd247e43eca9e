"""Dask distributed anchors for scripts/measure-distributed-anchors.ts (measurement only; Dask
is never a dependency of schedlab). Run with Debian's python3-dask and python3-distributed:

    /usr/bin/python3 scripts/dask-anchors.py [--workers 2]

Starts one LocalCluster (worker processes, 1 thread each, BLAS pinned to 1 thread) and then
reads one command per line on stdin, answering each with one JSON line on stdout, so the
TypeScript script can interleave Dask with schedlab's schedulers in the same run:

    shape <workload> <size>   time one get of the same graph shape as schedlab's catalog
    independent <n> <ms>      n independent busy-wait tasks of ms each feeding one sum
    trivial <tasks>           per-task cost: a fresh tree of trivial tasks (new keys) per get
    quit

The shapes mirror workloads/{matmul,shuffle,tree-reduce} with NumPy: the same task counts,
block and array sizes, and dependencies (the kernels differ: NumPy's matmul is OpenBLAS).
Large graph literals (matmul's input blocks) are scattered to the workers inside the timed
region, as schedlab's client uploads them inside its get.
"""
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import dask  # noqa: E402
from distributed import Client, LocalCluster, get_worker  # noqa: E402

SIZES = {
    "matmul": {"quick": {"n": 1280, "b": 256}, "small": {"n": 2000, "b": 256}},
    "shuffle": {
        "quick": {"partitions": 8, "rows": 160_000, "customers": 40_000},
        "small": {"partitions": 16, "rows": 150_000, "customers": 50_000},
    },
    "tree-reduce": {"quick": {"leaves": 16, "length": 2_000_000}, "small": {"leaves": 32, "length": 2_000_000}},
}


# ---------------------------------------------------------------- ops (run on the workers)
def multiply(a, b):
    return a @ b


def sum_blocks(*blocks):
    out = blocks[0].copy()
    for block in blocks[1:]:
        out += block
    return out


def make_sales(seed, partition, rows, customers):
    rng = np.random.default_rng(seed * 1000 + partition)
    return {"customers": rng.integers(0, customers, rows, dtype=np.uint32), "cents": rng.integers(1, 100_001, rows, dtype=np.uint32)}


def partition_of(customers, partitions):
    return (customers.astype(np.uint64) * np.uint64(2654435761) % np.uint64(2**32)) % np.uint64(partitions)


def select_partition(sales, target, partitions):
    mask = partition_of(sales["customers"], partitions) == target
    return {"customers": sales["customers"][mask], "cents": sales["cents"][mask]}


def group_by_customer(*pieces):
    customers = np.concatenate([p["customers"] for p in pieces])
    cents = np.concatenate([p["cents"] for p in pieces]).astype(np.float64)
    ids, inverse, counts = np.unique(customers, return_inverse=True, return_counts=True)
    return {"customers": ids, "counts": counts.astype(np.uint32), "cents": np.bincount(inverse, weights=cents)}


def make_leaf(leaf, length):
    return (leaf * 31 + np.arange(length, dtype=np.float64) * 17) % 1024


def add_arrays(x, y):
    return x + y


def spin(ms, i):
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass
    return [i, get_worker().address]


def total(*parts):
    return sum(p[0] for p in parts)


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def identity(x):
    return x


# ---------------------------------------------------------------- graphs (as the catalog's)
def matmul_graph(client, prefix, n, b):
    nb = -(-n // b)
    size = lambda i: min(b, n - i * b)  # noqa: E731
    rng = np.random.default_rng(1)
    blocks = {}
    for i in range(nb):
        for j in range(nb):
            blocks[f"{prefix}A-{i}-{j}"] = rng.uniform(-1, 1, (size(i), size(j)))
            blocks[f"{prefix}B-{i}-{j}"] = rng.uniform(-1, 1, (size(i), size(j)))

    def build():
        futures = client.scatter(blocks)  # dict key -> future, spread over the workers
        dsk = dict(futures)
        keys = []
        for i in range(nb):
            for j in range(nb):
                products = []
                for k in range(nb):
                    key = f"{prefix}mul-{i}-{j}-{k}"
                    dsk[key] = (multiply, f"{prefix}A-{i}-{k}", f"{prefix}B-{k}-{j}")
                    products.append(key)
                dsk[f"{prefix}C-{i}-{j}"] = (sum_blocks, *products)
                keys.append(f"{prefix}C-{i}-{j}")
        return dsk, keys

    return build


def shuffle_graph(prefix, partitions, rows, customers):
    dsk = {}
    for i in range(partitions):
        dsk[f"{prefix}sales-{i}"] = (make_sales, 2, i, rows, customers)
    keys = []
    for q in range(partitions):
        pieces = []
        for i in range(partitions):
            key = f"{prefix}piece-{i}-{q}"
            dsk[key] = (select_partition, f"{prefix}sales-{i}", q, partitions)
            pieces.append(key)
        dsk[f"{prefix}group-{q}"] = (group_by_customer, *pieces)
        keys.append(f"{prefix}group-{q}")
    return dsk, keys


def pairwise(dsk, prefix, level, op):
    n = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            if i + 1 < len(level):
                key = f"{prefix}add-{n}"
                n += 1
                dsk[key] = (op, level[i], level[i + 1])
                nxt.append(key)
            else:
                nxt.append(level[i])
        level = nxt
    return level[0]


def tree_reduce_graph(prefix, leaves, length):
    dsk = {f"{prefix}leaf-{i}": (make_leaf, i, length) for i in range(leaves)}
    return dsk, [pairwise(dsk, prefix, [f"{prefix}leaf-{i}" for i in range(leaves)], add_arrays)]


def trivial_graph(prefix, tasks):
    leaves = tasks // 2
    dsk = {f"{prefix}inc-{i}": (inc, i) for i in range(leaves)}
    top = pairwise(dsk, prefix, [f"{prefix}inc-{i}" for i in range(leaves)], add)
    dsk[f"{prefix}root"] = (identity, top)
    return dsk, f"{prefix}root"


def main():
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 2
    dask.config.set({"distributed.worker.daemon": False})
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1")
    client = Client(cluster)
    client.wait_for_workers(workers)
    print(json.dumps({"ready": True, "dask": dask.__version__, "workers": workers}), flush=True)
    counter = 0
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        counter += 1
        prefix = f"r{counter}-"
        try:
            if words[0] == "shape":
                name, size = words[1], words[2]
                params = SIZES[name][size]
                if name == "matmul":
                    build = matmul_graph(client, prefix, params["n"], params["b"])
                    t0 = time.perf_counter()
                    dsk, keys = build()
                elif name == "shuffle":
                    dsk, keys = shuffle_graph(prefix, params["partitions"], params["rows"], params["customers"])
                    t0 = time.perf_counter()
                else:
                    dsk, keys = tree_reduce_graph(prefix, params["leaves"], params["length"])
                    t0 = time.perf_counter()
                out = client.get(dsk, keys)
                seconds = time.perf_counter() - t0
                assert len(out) == len(keys)
                print(json.dumps({"seconds": seconds}), flush=True)
            elif words[0] == "independent":
                n, ms = int(words[1]), float(words[2])
                dsk = {f"{prefix}part-{i}": (spin, ms, i) for i in range(n)}
                dsk[f"{prefix}total"] = (total, *[f"{prefix}part-{i}" for i in range(n)])
                keys = [f"{prefix}part-{i}" for i in range(n)] + [f"{prefix}total"]
                t0 = time.perf_counter()
                out = client.get(dsk, keys)
                seconds = time.perf_counter() - t0
                assert out[-1] == n * (n - 1) // 2
                print(json.dumps({"seconds": seconds, "workers": [p[1] for p in out[:-1]]}), flush=True)
            elif words[0] == "trivial":
                dsk, key = trivial_graph(prefix, int(words[1]))
                t0 = time.perf_counter()
                client.get(dsk, key)
                seconds = time.perf_counter() - t0
                print(json.dumps({"seconds": seconds, "tasks": len(dsk)}), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {words[0]}"}), flush=True)
        except Exception as err:  # reported to the caller, which prints it
            print(json.dumps({"error": repr(err)}), flush=True)
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()

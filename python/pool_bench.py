"""Python's process pools on this machine: the rows of `cargo bench -p multiprocessing --bench pool`.

On a started Pool(2), 10 000 tasks of a function that returns its argument: map with its default
chunks, map with chunksize=1, imap_unordered, apply_async + get, ProcessPoolExecutor submit +
as_completed; then Pool(2) start + close + join. Each row is run ROUNDS times; the median and the
10th and 90th percentiles are printed, per task where the row has many.

With --dead-worker it shows instead what each pool does when a worker is SIGKILLed mid-task:
Pool.map_async never completes (the wait below gives up after a deadline, or it would wait for
ever), and ProcessPoolExecutor fails every pending future with BrokenProcessPool.

    python3 python/pool_bench.py [--rounds N] [--dead-worker]

Standard library only.
"""

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
import statistics
import time

TASKS = 10_000


def identity(x):
    return x


def square_or_die(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x


def report(what, times, per=1):
    times = sorted(times)

    def at(fraction):
        return times[int((len(times) - 1) * fraction)] / per * 1e6

    unit = " per task" if per > 1 else ""
    print(
        f"{what}: median {at(0.5):.2f} µs{unit} (p10 {at(0.1):.2f} µs, p90 {at(0.9):.2f} µs, "
        f"{len(times)} rounds)"
    )


def measure(rounds, body):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        body()
        times.append(time.perf_counter() - started)
    return times


def benchmark(rounds):
    items = range(TASKS)
    with mp.Pool(2) as pool, cf.ProcessPoolExecutor(2) as executor:
        pool.map(identity, range(1000), chunksize=1)

        def map_default():
            assert pool.map(identity, items) == list(items)

        def map_one():
            assert pool.map(identity, items, chunksize=1) == list(items)

        def imap_unordered():
            assert sum(1 for _ in pool.imap_unordered(identity, items)) == TASKS

        def apply_async():
            handles = [pool.apply_async(identity, (x,)) for x in items]
            assert [h.get() for h in handles] == list(items)

        def submit():
            futures = [executor.submit(identity, x) for x in items]
            assert sum(1 for f in cf.as_completed(futures) if f.result() is not None) == TASKS

        for what, body in [
            ("map, default chunks", map_default),
            ("map(chunksize=1)", map_one),
            ("imap_unordered", imap_unordered),
            ("apply_async + get", apply_async),
            ("executor submit + as_completed", submit),
        ]:
            report(f"{what}, {TASKS} tasks", measure(rounds, body), TASKS)

    def start_and_join():
        pool = mp.Pool(2)
        pool.close()
        pool.join()

    report("Pool(2) start + close + join", measure(rounds, start_and_join))


def dead_worker():
    with mp.Pool(2) as pool:
        pending = pool.map_async(square_or_die, range(10), chunksize=1)
        try:
            pending.get(timeout=10)
            print("Pool: map_async returned")
        except mp.TimeoutError:
            print("Pool: map_async still has no result after 10 s (it would wait for ever)")
    with cf.ProcessPoolExecutor(2) as executor:
        futures = [executor.submit(square_or_die, x) for x in range(10)]
        broken = 0
        for future in futures:
            try:
                future.result(timeout=10)
            except cf.process.BrokenProcessPool:
                broken += 1
        print(f"ProcessPoolExecutor: {broken} of 10 futures raised BrokenProcessPool")
        try:
            executor.submit(identity, 1)
            print("ProcessPoolExecutor: still takes work")
        except cf.process.BrokenProcessPool:
            print("ProcessPoolExecutor: submit now raises BrokenProcessPool")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--dead-worker", action="store_true")
    args = parser.parse_args()
    if args.dead_worker:
        dead_worker()
    else:
        benchmark(args.rounds)

"""1 MiB `bytes` items through a multiprocessing.Queue, from a child process to its parent.

The Python side of one row of `cargo bench -p multiprocessing --bench queue` (the row
"queue, 1 MiB ByteBuf payloads"), measured the same way:

- one producer `Process` puts COUNT items of 1 MiB into a `multiprocessing.Queue`;
- the parent gets them, checks each one's length, and counts them until the producer's
  end-of-stream marker arrives (the Rust queue ends by itself when the last sender is gone;
  Python's needs a sentinel);
- the clock runs from creating the queue to `join()` returning, start-up included, as in the
  Rust bench, and the start method is the fork server by default (the Rust bench's default;
  `--start-method spawn` matches its `--spawn`).

Run it (standard library only; Python 3.8 or newer):

    python3 python/queue_bytes.py                 # 3000 items, 3 rounds, like the Rust bench
    python3 python/queue_bytes.py --quick         # 300 items, 1 round
    python3 python/queue_bytes.py --rounds 5 --count 3000

Each round prints one line with the rate in GiB/s; with more than one round, the median and
the range follow. Nothing is asserted about time.
"""

import argparse
import multiprocessing as mp
import statistics
import time

MIB = 1 << 20
GIB = 1 << 30


def produce(queue, count):
    """The child: put `count` payloads of 1 MiB, then the end-of-stream marker."""
    payload = bytes([7]) * MIB
    for _ in range(count):
        queue.put(payload)
    queue.put(None)


def one_round(ctx, count):
    """Seconds to move `count` payloads from a fresh child to this process."""
    started = time.perf_counter()
    queue = ctx.Queue()
    child = ctx.Process(target=produce, args=(queue, count))
    child.start()
    received = 0
    while True:
        item = queue.get()
        if item is None:
            break
        if len(item) != MIB:
            raise SystemExit(f"payload {received} has {len(item)} bytes, not {MIB}")
        received += 1
    child.join()
    elapsed = time.perf_counter() - started
    if received != count or child.exitcode != 0:
        raise SystemExit(f"got {received} of {count} payloads, exit code {child.exitcode}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="payloads per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds to run")
    parser.add_argument("--quick", action="store_true", help="300 payloads, 1 round")
    parser.add_argument(
        "--start-method",
        default="forkserver",
        choices=["forkserver", "spawn", "fork"],
        help="how the child is started (default: forkserver, as the Rust bench)",
    )
    args = parser.parse_args()
    if args.quick:
        args.count, args.rounds = 300, 1
    ctx = mp.get_context(args.start_method)
    rates = []
    for round_number in range(1, args.rounds + 1):
        elapsed = one_round(ctx, args.count)
        rate = args.count * MIB / GIB / elapsed
        rates.append(rate)
        print(
            f"round {round_number}/{args.rounds}: {args.count} payloads of 1 MiB "
            f"in {elapsed:.3f} s  {rate:.2f} GiB/s"
        )
    if len(rates) > 1:
        print(
            f"median {statistics.median(rates):.2f} GiB/s "
            f"(range {min(rates):.2f}-{max(rates):.2f}) over {len(rates)} rounds"
        )


if __name__ == "__main__":
    main()

"""Long memory: the adding problem (Hochreiter & Schmidhuber, 1997) with 100-step sequences.

    python -m benchmarks.accuracy.adding_problem [--steps 6000] [--length 100] [--hidden 64]

Each sequence has two input channels: random values in [0, 1], and a marker that is 1
at exactly two steps (one in each half) and 0 elsewhere. The target is the sum of the
two marked values, so the network must carry a value across up to 99 steps in its
cell state. Predicting the mean (1.0) gives MSE 1/6 ~ 0.167; a model that only saw
the second marked value scores about 1/12 ~ 0.083. Prints the test MSE as training goes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lstmcast.nn import network
from lstmcast.nn.network import Net
from lstmcast.nn.optim import Adam


def adding_batch(rng, n, length):
    values = rng.random((n, length))
    marks = np.zeros((n, length))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    marks[np.arange(n), first] = 1.0
    marks[np.arange(n), second] = 1.0
    x = np.stack([values, marks], axis=2).astype(np.float32)
    y = (values[np.arange(n), first] + values[np.arange(n), second])[:, None].astype(np.float32)
    return x, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    x_test, y_test = adding_batch(np.random.default_rng(12345), 2000, args.length)
    net = Net.from_params(network.init_params(2, args.hidden, 1, 1, seed=args.seed))
    opt = Adam(net.size, lr=args.lr, clip_norm=1.0)
    print(f"adding problem: length {args.length}, hidden {args.hidden}, batch {args.batch}, "
          f"lr {args.lr}; predicting the mean gives MSE {np.var(y_test):.3f}")
    print()
    print("| step | test MSE | seconds |")
    print("| --- | --- | --- |")
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        x, y = adding_batch(rng, args.batch, args.length)
        _, grad = net.loss_and_grad(x, y)
        opt.step(net.theta, grad)
        if step % 500 == 0 or step == args.steps:
            mse = float(np.mean((net.predict(x_test) - y_test) ** 2))
            print(f"| {step} | {mse:.5f} | {time.perf_counter() - start:.1f} |", flush=True)


if __name__ == "__main__":
    main()

"""How many bundle-entropy cuts the Olivetti completion PICNN needs before its rows certify.

    python -m benchmarks.studies.supervised_bundle_budget [--steps 60] [--every 20] [--data PATH]

Trains the completion network by bundle entropy with the paper's 5 cuts (the training images 0–299,
Adam 1e-3, batch 70) and, every `--every` steps, solves the 50 validation images (300–349) with
each cut budget and certified-gap tolerance of the grid, printing the share of rows whose gap
min F(cuts) + φ(λ) <= tol·(1 + |min F|) certified, the mean cuts used, the validation MSE and the
solve time. The budget and tolerance in configs/completion.yaml were chosen from this table
(validation images only).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from icnn_rl.convex import attach_projection
from icnn_rl.supervised.completion import CompletionConfig, build, mse255
from icnn_rl.supervised.data import completion_splits, load_olivetti
from icnn_rl.supervised.inference import BundleInference, predict_bundle

BUDGETS = (5, 10, 20, 40)
TOLERANCES = (1e-6, 1e-4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train, _ = completion_splits(load_olivetti(args.data))
    tx, ty = torch.as_tensor(train.x[:300]), torch.as_tensor(train.y[:300])
    vx, vy = torch.as_tensor(train.x[300:]), torch.as_tensor(train.y[300:])
    y0 = ty.mean(0).flatten().unsqueeze(0)
    config = CompletionConfig(bundle=BundleInference(iterations=5))
    net, predictor = build("bundle", config, y0)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    attach_projection(optimizer, net)
    rng = np.random.default_rng(0)
    print("| training step | tol | cut budget | certified share | mean cuts | val MSE | seconds |")
    print("|---|---|---|---|---|---|---|")
    for step in range(1, args.steps + 1):
        net.train()
        idx = torch.as_tensor(rng.integers(0, len(tx), config.batch_size))
        optimizer.zero_grad()
        mse255(predictor(tx[idx], True), ty[idx]).backward()
        optimizer.step()
        if step % args.every:
            continue
        net.eval()
        for tol in TOLERANCES:
            for budget in BUDGETS:
                start = time.perf_counter()
                with torch.no_grad():
                    solve = predict_bundle(net, vx, y0.expand(len(vx), -1), BundleInference(budget, tol), False)
                mse = float(mse255(solve.y.view_as(vy), vy))
                print(f"| {step} | {tol:g} | {budget} | {solve.converged.float().mean():.2f} | "
                      f"{solve.iterations.float().mean():.1f} | {mse:.1f} | {time.perf_counter() - start:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()

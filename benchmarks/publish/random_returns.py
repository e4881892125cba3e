"""A uniform random policy's mean return per task under the package's test protocol: the ``random``
end of the normalised score (:mod:`icnn_rl.rl.scores`), written to ``icnn_rl/rl/random_returns.json``.

    python -m benchmarks.publish.random_returns                 # the paper's ten tasks, 100 episodes each

Protocol: one env without reward scaling, seeded once (seed 0) at its first reset, then consecutive
episodes, each to termination or the time limit; actions drawn uniformly from the action box by the
action space's own seeded generator.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from gymnasium import spaces

from icnn_rl.cli import write_json_atomic
from icnn_rl.envs import PAPER_TASKS, make_env
from icnn_rl.rl.rollout import rollout
from icnn_rl.rl.scores import RANDOM_RETURNS


class UniformRandomPolicy:
    """Acts uniformly at random in a ``Box`` action space, seeded; ``predict`` as SB3's models."""

    def __init__(self, action_space: spaces.Box, seed: int) -> None:
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(self, observation: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        return self.action_space.sample(), None


def random_policy_returns(env_id: str, episodes: int, seed: int = 0) -> list[float]:
    """Returns of ``episodes`` consecutive episodes of a uniform random policy under the test protocol."""
    env = make_env(env_id)
    try:
        policy = UniformRandomPolicy(env.action_space, seed)
        return [rollout(policy, env, seed=seed if k == 0 else None) for k in range(episodes)]
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=list(PAPER_TASKS))
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    entries = {}
    for env_id in args.envs:
        returns = random_policy_returns(env_id, args.episodes)
        entries[env_id] = {"mean": round(statistics.fmean(returns), 4), "std": round(statistics.stdev(returns), 4),
                           "episodes": len(returns)}
        print(f"{env_id}: {entries[env_id]['mean']:.2f} ± {entries[env_id]['std']:.2f} (std, {len(returns)} episodes)",
              flush=True)
    write_json_atomic(RANDOM_RETURNS, {"protocol": "uniform random actions, one env seeded once (seed 0), raw "
                                                   "rewards, episodes to termination or time limit",
                                       "envs": entries})
    print(f"→ {RANDOM_RETURNS}")


if __name__ == "__main__":
    main()

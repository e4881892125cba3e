"""icnn-rl: input convex neural networks for reinforcement learning and structured prediction.

The convex core lives in :mod:`icnn_rl.convex`; the paper's supervised experiments in
:mod:`icnn_rl.supervised`; the RL agents and tasks in :mod:`icnn_rl.agents` and :mod:`icnn_rl.envs`
(the repository's ``agents/`` and ``envs/``), their training runs in :mod:`icnn_rl.rl`; the commands
in :mod:`icnn_rl.train`, :mod:`icnn_rl.evaluate` and :mod:`icnn_rl.report`, with the plumbing they
share in :mod:`icnn_rl.cli`.
"""

__version__ = "0.1.0"

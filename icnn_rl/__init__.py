"""icnn-rl: input convex neural networks for reinforcement learning and structured prediction.

The convex core lives in :mod:`icnn_rl.convex`; the paper's supervised experiments in
:mod:`icnn_rl.supervised`; rollout evaluation and reports in :mod:`icnn_rl.evaluate` and
:mod:`icnn_rl.report`.
"""

__version__ = "0.1.0"

"""NAF's quadratic Q-network (Gu et al. 2016) as a greedy SB3 policy.

Q(s, a) = V(s) − ½ (a − μ(s))ᵀ P(s) (a − μ(s)),  P = L Lᵀ,

with L lower-triangular and its diagonal passed through exp, so P is positive definite and
μ(s) = tanh(·) ∈ (−1, 1)ᵈ is the exact maximiser of Q(s, ·) over the action box, with
max_a Q(s, a) = V(s).

Options of the ICNN paper's NAF (locuslab/icnn ``RL/src/naf.py``, ``naf_nets_dm.py``; its hand-tuned
HalfCheetah NAF used both):
BatchNorm on each head's input and hidden pre-activations, and truncated-normal weight init.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from icnn_rl.agents.common import GreedyQPolicy, mlp


def check_net_arguments(init_std: float | None = None, **_: Any) -> None:
    """:class:`NAFNetwork`'s check of its arguments (other keywords are ignored): ``ValueError``
    for a value it refuses."""
    if init_std is not None and not init_std > 0:
        raise ValueError(f"init_std={init_std} must be > 0 or None (PyTorch's default init)")


class NAFNetwork(nn.Module):
    """Three MLP heads on the observation, as in the ICNN paper's NAF: V(s), μ(s) and the
    d(d+1)/2 entries of L(s); ``batch_norm`` and ``init_std`` as in :func:`mlp`."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...], batch_norm: bool = False,
                 init_std: float | None = None) -> None:
        super().__init__()
        check_net_arguments(init_std=init_std)
        rows, cols = torch.tril_indices(act_dim, act_dim)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.act_dim = act_dim
        self.value = mlp(obs_dim, hidden, 1, batch_norm, init_std)
        self.mu = mlp(obs_dim, hidden, act_dim, batch_norm, init_std)
        self.l_entries = mlp(obs_dim, hidden, len(rows), batch_norm, init_std)

    def heads(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(V [B], μ [B, d], L [B, d, d]) with exp on L's diagonal."""
        entries = self.l_entries(obs)
        entries = torch.where(self.rows == self.cols, entries.exp(), entries)
        lower = entries.new_zeros(obs.shape[0], self.act_dim, self.act_dim)
        lower[:, self.rows, self.cols] = entries
        return self.value(obs).squeeze(-1), torch.tanh(self.mu(obs)), lower

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) = V − ½ ‖Lᵀ (a − μ)‖²  → [B]."""
        value, mu, lower = self.heads(obs)
        projected = torch.einsum("bij,bi->bj", lower, actions - mu)
        return value - 0.5 * projected.pow(2).sum(-1)


class NAFPolicy(GreedyQPolicy):
    """Greedy NAF policy: the action is μ(s), exploration comes from the algorithm's action noise."""

    q_net: NAFNetwork
    q_net_target: NAFNetwork

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        check_net_arguments(**kwargs)

    def make_q_net(self) -> NAFNetwork:
        return NAFNetwork(self.obs_dim, self.act_dim, self.hidden, **self.net_kwargs)

    def q_values(self, net: nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return net(obs, actions)

    def next_values(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """V_target(s'). With BatchNorm the target network normalises s' by the minibatch's own
        statistics, as Q(s, a) in the loss is: with the running statistics the TD target diverged
        on HalfCheetah-v5 (docs/rl_results.md). The running statistics this updates are replaced by the
        online network's after the update step."""
        self.q_net_target.train(True)
        value = self.q_net_target.heads(obs)[0]
        self.q_net_target.train(False)
        return value, {}

    def _predict(self, observation: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self.q_net.heads(observation.float())[1]


MlpPolicy = NAFPolicy

"""What ICNN and NAF share: a policy that owns a Q-network and acts greedily on it, and a
Q-learning algorithm that fits that network to a one-step TD target.

Sign convention: every network exposes :meth:`GreedyQPolicy.q_values`, the action value Q(s, a)
used in the loss (for ICNN that is −f, optionally plus the entropy bonus).
"""

from __future__ import annotations

import itertools
import time
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim, get_flattened_obs_dim
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from stable_baselines3.common.utils import get_parameters_by_name, polyak_update
from torch import nn
from torch.nn import functional as F

from icnn_rl.convex import PhaseTimes

# The ICNN paper's NAF used TF's batch_norm with decay 0.999 and epsilon 1e-3 (RL/src/naf_nets_dm.py
# of locuslab/icnn).
BN_MOMENTUM = 1e-3
BN_EPS = 1e-3


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, batch_norm: bool = False,
        init_std: float | None = None) -> nn.Sequential:
    """in_dim → hidden… (ReLU) → out_dim, linear output.

    :param batch_norm: BatchNorm on the input and on every hidden pre-activation.
    :param init_std: weights ~ N(0, init_std²) truncated at ±2 std and zero biases;
        ``None`` keeps PyTorch's default init.
    """
    sizes = (in_dim, *hidden)
    layers: list[nn.Module] = [_batch_norm(in_dim)] if batch_norm else []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers.append(nn.Linear(fan_in, fan_out))
        layers += [_batch_norm(fan_out)] if batch_norm else []
        layers.append(nn.ReLU())
    layers.append(nn.Linear(sizes[-1], out_dim))
    if init_std is not None:
        for layer in layers:
            if isinstance(layer, nn.Linear):
                nn.init.trunc_normal_(layer.weight, std=init_std, a=-2 * init_std, b=2 * init_std)
                nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


def check_q_arguments(l2: float = 0.0, td_clip: float | None = None, **_: Any) -> None:
    """:class:`GreedyQAlgorithm`'s checks of its own arguments (other keywords are ignored):
    ``ValueError`` for a value the constructor refuses, without building anything."""
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    if td_clip is not None and td_clip <= 0:
        raise ValueError(f"td_clip must be > 0 or None, got {td_clip}")


def _batch_norm(size: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(size, eps=BN_EPS, momentum=BN_MOMENTUM)


class GreedyQPolicy(BasePolicy):
    """Owns ``q_net``, its target copy ``q_net_target`` and one optimizer; acts greedily in [−1, 1].

    Subclasses build the network in :meth:`make_q_net`, define Q(s, a) in :meth:`q_values` and
    the greedy action in :meth:`_predict`. ``squash_output=True`` makes SB3 map the [−1, 1]
    action to the env's bounds.

    :param hidden: hidden layer sizes of the Q-network.
    :param net_kwargs: further arguments of the subclass's network constructor.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        hidden: tuple[int, ...] | list[int] = (200, 200),
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        **net_kwargs: Any,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            squash_output=True,
        )
        self.hidden = tuple(int(h) for h in hidden)
        self.net_kwargs = net_kwargs
        self.obs_dim = get_flattened_obs_dim(observation_space)
        self.act_dim = get_action_dim(action_space)
        self.q_net = self.make_q_net().to(self.device)
        self.q_net_target = self.make_q_net().to(self.device)
        self.q_net_target.load_state_dict(self.q_net.state_dict())
        self.q_net_target.requires_grad_(False)
        self.q_net_target.train(False)
        self.optimizer = self.optimizer_class(
            self.q_net.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.times = PhaseTimes()   # seconds in network passes and solver sub-problems, see GreedyQAlgorithm

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """``ValueError`` for a keyword argument value this policy (or its network) refuses, callable
        without building anything (:meth:`GreedyQAlgorithm.check_arguments`); a subclass's constructor
        makes the same checks. Nothing is refused here."""

    @abstractmethod
    def make_q_net(self) -> nn.Module:
        """A fresh Q-network from ``hidden`` and ``net_kwargs`` (called twice: online and target)."""

    @abstractmethod
    def q_values(self, net: nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) of ``net`` (online or target) for a batch: obs [B, o], actions [B, d] → [B], or
        [K, B] for a network of K critics (each is fitted to the same target)."""

    @abstractmethod
    def next_values(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """max_a' Q_target(s', a') for next observations ``obs`` [B, o] → ([B], scalars to log).

        ``actions`` [B, d] are the minibatch's stored actions.
        """

    def after_update(self, observations: torch.Tensor, tau: float) -> dict[str, float]:
        """Called after every Q update with the minibatch's observations and the target update
        rate; returns scalars to log. Nothing by default (ICNN fits its argmin proposal here)."""
        return {}

    def forward(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def set_training_mode(self, mode: bool) -> None:
        if self.q_net.training != mode:   # SB3 calls this on every predict; walking the modules costs
            self.q_net.train(mode)
        self.training = mode

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            hidden=self.hidden,
            lr_schedule=self._dummy_schedule,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            **self.net_kwargs,
        )
        return data


class GreedyQAlgorithm(OffPolicyAlgorithm):
    """Q-learning with a greedy policy: minimise (Q(s, a) − y)² + l2·Σ‖W‖², with

        y = r + γ (1 − done) max_a' Q_target(s', a'),

    optionally clipped into [Q(s, a) − td_clip, Q(s, a) + td_clip] (the ICNN paper's clip), and
    a soft target update θ' ← (1 − τ) θ' + τ θ after every gradient step. ``done`` excludes
    time-outs unless the replay buffer is built with ``handle_timeout_termination=False``.

    :param l2: coefficient of the squared L2 norm of the Q-network's weight matrices (biases excluded).
    :param td_clip: half-width of the TD-target clip around Q(s, a); ``None`` disables it.
    Every other parameter is :class:`~stable_baselines3.common.off_policy_algorithm.OffPolicyAlgorithm`'s.
    """

    policy: GreedyQPolicy
    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {}

    def __init__(
        self,
        policy: str | type[GreedyQPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-3,
        buffer_size: int = 500_000,
        learning_starts: int = 1000,
        batch_size: int = 256,
        tau: float = 0.01,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        action_noise: ActionNoise | None = None,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        l2: float = 0.0,
        td_clip: float | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        super().__init__(
            policy,
            env,
            learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            action_noise=action_noise,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            policy_kwargs=policy_kwargs,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            sde_support=False,
            support_multi_env=True,
            supported_action_spaces=(spaces.Box,),
        )
        check_q_arguments(l2, td_clip)
        self.l2 = l2
        self.td_clip = td_clip
        if _init_setup_model:
            self._setup_model()

    @classmethod
    def check_arguments(cls, kwargs: dict[str, Any], policy_kwargs: dict[str, Any]) -> None:
        """The checks that this class's constructor and its ``MlpPolicy`` make of ``kwargs`` (the
        constructor's keyword arguments beyond SB3's) and ``policy_kwargs``, without building a
        model: ``ValueError`` for a value they refuse."""
        check_q_arguments(**kwargs)
        cls.policy_aliases["MlpPolicy"].check_arguments(**policy_kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        self.q_net = self.policy.q_net
        self.q_net_target = self.policy.q_net_target
        # Batch-norm running statistics are copied, not learned (SB3 GH #996).
        self._bn_stats = get_parameters_by_name(self.q_net, ["running_"])
        self._bn_stats_target = get_parameters_by_name(self.q_net_target, ["running_"])
        self.phase_totals: defaultdict[str, float] = defaultdict(float)

    def _weight_penalty(self) -> torch.Tensor:
        """Σ‖W‖² over the Q-network's weight matrices."""
        return sum(p.pow(2).sum() for p in self.q_net.parameters() if p.dim() > 1)

    def _setup_learn(self, *args: Any, **kwargs: Any) -> Any:
        self._cycle_end: float | None = None   # a learn() call's first update has no previous cycle
        return super()._setup_learn(*args, **kwargs)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        for _ in range(gradient_steps):
            self._n_updates += 1
            assert self.replay_buffer is not None
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = self.gamma if data.discounts is None else data.discounts.flatten()
            with torch.no_grad():
                next_values, solver_logs = self.policy.next_values(
                    data.next_observations.float(), data.actions
                )
                target = data.rewards.flatten() + (1.0 - data.dones.flatten()) * discounts * next_values
            with self.policy.times.phase("network"):
                q = self.policy.q_values(self.q_net, data.observations.float(), data.actions)
                target = target.expand_as(q)   # several critics ([K, B]) share one target
                td_error = (target - q.detach()).abs().mean().item()
                if self.td_clip is not None:
                    target = torch.clamp(target, q.detach() - self.td_clip, q.detach() + self.td_clip)
                loss = F.mse_loss(q, target)
                if self.l2 > 0:
                    loss = loss + self.l2 * self._weight_penalty()
                self.policy.optimizer.zero_grad()
                loss.backward()
                self.policy.optimizer.step()
            polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), self.tau)
            polyak_update(self._bn_stats, self._bn_stats_target, 1.0)
            solver_logs.update(self.policy.after_update(data.observations.float(), self.tau))
            self.logger.record_mean("train/loss", loss.item())
            self.logger.record_mean("train/q_mean", q.mean().item())
            self.logger.record_mean("train/td_error_abs", td_error)   # |y − Q(s, a)| before the clip
            for key, value in solver_logs.items():
                self.logger.record_mean(key, value)
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self._record_times()

    @contextmanager
    def untimed(self) -> Iterator[None]:
        """Leave what runs inside (test episodes, checkpoints) out of ``time/*``: its phases are
        dropped and the current cycle is shortened by its duration."""
        kept = self.policy.times.pop()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.policy.times.pop()
            for key, seconds in kept.items():
                self.policy.times.seconds[key] += seconds
            if getattr(self, "_cycle_end", None) is not None:
                self._cycle_end += time.perf_counter() - start

    def _record_times(self) -> None:
        """``time/*`` (ms, averaged until the next log dump): the cycle from the end of one train()
        call to the end of the next (one env step with its acting solve, and the update), split
        into network passes, solver sub-problems and everything else (env, replay, optimizer
        bookkeeping). ``phase_totals`` keeps the running sums in seconds (benchmarks read them)."""
        now = time.perf_counter()
        spent = self.policy.times.pop()
        if getattr(self, "_cycle_end", None) is not None:
            cycle = now - self._cycle_end
            network, subproblem = spent.get("network", 0.0), spent.get("subproblem", 0.0)
            parts = {"cycle": cycle, "network": network, "subproblem": subproblem,
                     "other": cycle - network - subproblem}
            for key, seconds in parts.items():
                self.logger.record_mean(f"time/{key}_ms", 1e3 * seconds)
                self.phase_totals[key] += seconds
            self.phase_totals["updates"] += 1
        self._cycle_end = now

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "q_net", "q_net_target", "_bn_stats", "_bn_stats_target",
                "phase_totals", "_cycle_end"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "policy.optimizer"], []

"""The five agents as SB3 algorithms: training, save/load, seeding, greedy actions."""

from __future__ import annotations

import copy
import inspect
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import StopTrainingOnMaxEpisodes
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from icnn_rl.agents import AGENTS, ICNN, NAF, agent_name_of, load_agent
from icnn_rl.agents.icnn.algo import entropy_weight_rule
from icnn_rl.agents.icnn.policies import TwinPICNN
from icnn_rl.agents.naf.policies import NAFNetwork
from icnn_rl.convex import SolverConfig, argmin, binary_entropy, is_convex, rl_picnn, solve
from icnn_rl.envs import make_env, task_for
from icnn_rl.rl.build import build_model, make_agent
from icnn_rl.rl.callbacks import PaperTestCallback
from icnn_rl.rl.config import resolve_config
from icnn_rl.rl.evaluations import read_evaluations
from icnn_rl.rl.run import RunSpec, train_run

FAST = ["hidden=[32,32]", "learning_starts=50", "batch_size=32", "test_interval=100"]
ICNN_FAST = ["act_solver.max_iter=2", "target_solver.max_iter=2"]  # cheap solves where accuracy is not tested


def fast(agent: str) -> list[str]:
    return FAST + ICNN_FAST if agent == "icnn" else FAST


def small_model(agent: str, seed: int = 0, extra: tuple[str, ...] = ()):
    config = resolve_config(agent, "Pendulum-v1", overrides=[*fast(agent), *extra])
    return build_model(agent, "Pendulum-v1", config, seed=seed, steps=300, device="cpu")


@pytest.mark.parametrize("agent", list(AGENTS))
def test_trains_a_few_hundred_steps_and_save_load_keeps_actions(agent: str, tmp_path) -> None:
    model = small_model(agent)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(120)
    assert model.num_timesteps == 120
    assert model._n_updates > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    obs = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    actions, _ = model.predict(obs, deterministic=True)
    model.save(tmp_path / "model.zip")
    loaded = load_agent(tmp_path / "model.zip", device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    assert loaded.env_id == "Pendulum-v1"
    assert agent_name_of(type(loaded)) == agent


def class_defaults(agent: str) -> dict:
    """The default of every parameter the agent's classes take: its algorithm's (through its base
    classes), its policy's and its network's."""
    spec = AGENTS[agent]
    functions = [cls.__init__ for cls in reversed(spec.algo.__mro__) if "__init__" in vars(cls)]
    functions += [spec.algo.policy_aliases["MlpPolicy"].__init__, {"icnn": rl_picnn, "naf": NAFNetwork}[agent]]
    defaults = {}
    for function in functions:
        defaults |= {name: parameter.default for name, parameter in inspect.signature(function).parameters.items()
                     if parameter.default is not parameter.empty}
    return defaults


@pytest.mark.parametrize("agent", ["icnn", "naf"])
def test_an_agent_built_in_code_has_the_packaged_configs_defaults(agent: str) -> None:
    """One default per setting: every key of the packaged config (no env section) that the agent's
    classes take has the same default there, so ``ICNN("MlpPolicy", env)`` trains as train.py does."""
    config = resolve_config(agent, "Pendulum-v1")
    defaults = class_defaults(agent)
    differ = {key: (value, defaults[key]) for key, value in config.items()
              if key in defaults and not isinstance(value, dict)
              and defaults[key] != (tuple(value) if isinstance(value, list) else value)}
    assert differ == {}
    if agent == "icnn":
        policy = ICNN("MlpPolicy", make_env("Pendulum-v1")).policy
        for key in ("act_solver", "target_solver"):
            assert getattr(policy, key) == SolverConfig(**config[key])   # ε pending: SolverConfig's 1.0


@pytest.mark.parametrize("agent", ["ddpg", "td3"])
def test_an_untagged_model_of_sb3s_shared_td3_policy_loads_as_its_own_agent(agent: str, tmp_path) -> None:
    # DDPG and TD3 share SB3's TD3Policy; a model built outside the harness carries no agent_name.
    model = AGENTS[agent].algo("MlpPolicy", make_env("Pendulum-v1"), learning_starts=10, seed=0)
    model.save(tmp_path / "plain.zip")
    assert agent_name_of(type(load_agent(tmp_path / "plain.zip"))) == agent


@pytest.mark.parametrize("agent", list(AGENTS))
def test_same_seed_gives_identical_test_returns(agent: str, tmp_path) -> None:
    # InvertedPendulum: untrained policies fall within a few dozen steps, so tests are cheap.
    config = resolve_config(agent, "InvertedPendulum-v5", overrides=fast(agent))

    def returns(log_dir: str) -> str:
        spec = RunSpec(
            agent, "InvertedPendulum-v5", seed=3, steps=200, config=config, log_dir=tmp_path / log_dir
        )
        return (train_run(spec).run_dir / "evaluations.csv").read_text()

    first = returns("a")
    assert first == returns("b")
    assert len(first.splitlines()) == 4  # header + tests at steps 0, 100, 200


def test_icnn_action_is_the_solvers_argmin_and_in_bounds() -> None:
    solver = {"max_iter": 50, "tol": 1e-8, "atol": 0.0}
    model = small_model("icnn", extra=tuple(f"act_solver.{k}={v}" for k, v in solver.items()))
    model.learn(100)
    policy = model.policy
    obs = torch.as_tensor(np.random.default_rng(1).normal(size=(16, 3)), dtype=torch.float32)
    with torch.no_grad():
        action = policy._predict(obs)
    expected = argmin(
        policy.q_net, obs, policy.start(obs), SolverConfig(**policy.act_solver.to_dict()), bounds=(-1.0, 1.0)
    )
    torch.testing.assert_close(action, expected.y.clamp(-1, 1))
    # It is the minimiser of f(s, a) − ε·H((a + 1)/2): no point of a fine grid does better.
    eps = policy.act_solver.entropy_weight
    grid = torch.linspace(-0.999, 0.999, 2001).view(1, -1, 1).expand(16, -1, -1)
    with torch.no_grad():
        energy = policy.q_net.condition(obs)
        objective = energy(grid) - eps * binary_entropy((grid + 1) / 2)
        at_action = policy.q_net(obs, action) - eps * binary_entropy((action + 1) / 2)
    assert torch.all(at_action <= objective.min(1).values + 1e-4)
    env_actions, _ = model.predict(np.random.default_rng(2).normal(size=(64, 3)) * 10, deterministic=True)
    assert np.all(np.abs(env_actions) <= 2.0)  # Pendulum's torque bounds


def test_naf_greedy_action_maximises_q() -> None:
    model = small_model("naf")
    model.learn(100)
    net = model.policy.q_net
    rng = np.random.default_rng(0)
    obs = torch.as_tensor(rng.normal(size=(32, 3)), dtype=torch.float32)
    with torch.no_grad():
        value, _, lower = net.heads(obs)
        greedy = net(obs, model.policy._predict(obs))
        others = torch.stack([net(obs, torch.rand(32, 1) * 2 - 1) for _ in range(50)], 1)
    torch.testing.assert_close(greedy, value)
    assert torch.all(others <= greedy.unsqueeze(1) + 1e-6)
    assert torch.all(torch.diagonal(lower, dim1=1, dim2=2) > 0)


def test_naf_target_bootstraps_from_target_value() -> None:
    model = small_model("naf")
    obs = torch.randn(5, 3)
    values, logs = model.policy.next_values(obs, torch.zeros(5, 1))
    torch.testing.assert_close(values, model.policy.q_net_target.heads(obs)[0])
    assert isinstance(model, NAF) and logs == {}


def test_naf_paper_options_batch_norm_and_truncated_normal_init(tmp_path) -> None:
    model = small_model("naf", extra=("batch_norm=true", "init_std=0.007"))
    net = model.policy.q_net
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 3 * 3  # input and two hidden pre-activations in each of V, μ and L
    assert all(m.momentum == 1e-3 and m.eps == 1e-3 for m in norms)  # TF decay 0.999, eps 1e-3
    weights = [m.weight for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert all(w.abs().max() <= 0.014 for w in weights)  # truncated at 2 std
    assert abs(torch.cat([w.flatten() for w in weights]).std().item() - 0.007) < 0.001
    assert all(torch.all(m.bias == 0) for m in net.modules() if isinstance(m, torch.nn.Linear))
    model.learn(120)
    target_stats = dict(model.policy.q_net_target.named_buffers())
    for name, stat in net.named_buffers():
        if "running_" in name:  # the target reads the online network's statistics
            torch.testing.assert_close(target_stats[name], stat)
            assert not torch.equal(stat, torch.zeros_like(stat)) and not torch.equal(stat, torch.ones_like(stat))
    next_obs = torch.randn(16, 3)
    batch_stats = copy.deepcopy(model.policy.q_net_target).train(True)
    with torch.no_grad():
        values, _ = model.policy.next_values(next_obs, torch.zeros(16, 1))
        torch.testing.assert_close(values, batch_stats.heads(next_obs)[0])  # V_target(s') with the batch's statistics
        assert not torch.allclose(values, model.policy.q_net_target.heads(next_obs)[0])
    assert not model.policy.q_net_target.training
    obs = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32)
    actions, _ = model.predict(obs, deterministic=True)
    single = np.concatenate([model.predict(o[None], deterministic=True)[0] for o in obs])
    np.testing.assert_allclose(single, actions, atol=1e-6)  # acting uses running statistics, not the batch's
    model.save(tmp_path / "naf.zip")
    np.testing.assert_array_equal(NAF.load(tmp_path / "naf.zip", device="cpu").predict(obs)[0], actions)


def test_naf_rejects_a_non_positive_init_std() -> None:
    with pytest.raises(ValueError, match="init_std"):
        small_model("naf", extra=("init_std=0",))


@pytest.mark.parametrize("twin_q", [True, False])
@pytest.mark.parametrize("entropy_bonus", [True, False])
def test_icnn_target_value_is_target_q_at_the_target_argmin(entropy_bonus: bool, twin_q: bool) -> None:
    model = small_model("icnn", extra=(f"entropy_bonus={str(entropy_bonus).lower()}", f"twin_q={str(twin_q).lower()}"))
    model.learn(100)
    policy = model.policy
    obs = torch.randn(8, 3)
    values, _ = policy.next_values(obs, torch.zeros(8, 1))
    start = policy.start(obs)   # the TD target starts at the proposal
    a_next = argmin(policy.q_net_target, obs, start, policy.target_solver, bounds=(-1.0, 1.0)).y
    with torch.no_grad():
        expected = policy.q_values(policy.q_net_target, obs, a_next)   # [2, B] with twin critics
    torch.testing.assert_close(values, expected.min(dim=0).values if twin_q else expected)


def test_icnn_double_q_target_values_the_online_argmin_with_the_target_network() -> None:
    model = small_model("icnn", extra=("double_q=true", "twin_q=false", "entropy_weight=0.1",
                                       "target_solver.max_iter=100", "target_solver.atol=0.0001"))
    model.learn(100)
    policy = model.policy
    for seed, net in enumerate((policy.q_net, policy.q_net_target)):   # two unrelated networks
        torch.manual_seed(seed)
        net.load_state_dict(policy.make_q_net().state_dict())
    obs = torch.randn(64, 3)
    values, _ = policy.next_values(obs, torch.zeros(64, 1))
    a_next = argmin(policy.q_net, obs, policy.start(obs), policy.target_solver, bounds=(-1.0, 1.0)).y
    policy.double_q = False
    own_max, _ = policy.next_values(obs, torch.zeros(64, 1))
    with torch.no_grad():
        torch.testing.assert_close(values, policy.q_values(policy.q_net_target, obs, a_next))
    # the target network valued at another network's argmin: at most its own max (up to the tolerance)
    assert (values <= own_max + policy.target_solver.atol + 1e-5).all() and (values < own_max - 1e-3).any()
    with pytest.raises(ValueError, match="double_q needs batch_norm: false"):
        small_model("icnn", extra=("double_q=true", "batch_norm=true"))


def test_icnn_twin_critics_are_both_fitted_and_the_target_takes_their_minimum(tmp_path: Path) -> None:
    model = small_model("icnn", extra=("entropy_weight=0.1", "target_solver.max_iter=30"))   # twin by default
    policy = model.policy
    assert isinstance(policy.q_net, TwinPICNN)
    first, second = (copy.deepcopy(net.state_dict()) for net in (policy.q_net.first, policy.q_net.second))
    model.learn(300)
    for net, before in ((policy.q_net.first, first), (policy.q_net.second, second)):
        assert is_convex(net)
        assert any(not torch.equal(p, before[k]) for k, p in net.state_dict().items())   # both trained
    obs = torch.randn(64, 3)
    values, _ = policy.next_values(obs, torch.zeros(64, 1))
    a_next = argmin(policy.q_net_target, obs, policy.start(obs), policy.target_solver, bounds=(-1.0, 1.0)).y
    with torch.no_grad():
        both = policy.q_values(policy.q_net_target, obs, a_next)
    assert both.shape == (2, 64)
    torch.testing.assert_close(values, both.min(dim=0).values)
    assert (values < both[0] - 1e-6).any()   # the second critic is lower somewhere
    policy.double_q = True   # with Double DQN's online argmin, the same minimum at that action
    values, _ = policy.next_values(obs, torch.zeros(64, 1))
    a_online = argmin(policy.q_net, obs, policy.start(obs), policy.target_solver, bounds=(-1.0, 1.0)).y
    with torch.no_grad():
        torch.testing.assert_close(values, policy.q_values(policy.q_net_target, obs, a_online).min(dim=0).values)
    policy.double_q = False
    model.save(tmp_path / "twin.zip")
    loaded = ICNN.load(tmp_path / "twin.zip")
    assert loaded.policy.twin_q and isinstance(loaded.policy.q_net, TwinPICNN)
    torch.testing.assert_close(loaded.policy.q_values(loaded.policy.q_net, obs, a_next),
                               policy.q_values(policy.q_net, obs, a_next))


def test_icnn_saved_before_twin_critics_loads_as_its_single_critic(tmp_path: Path) -> None:
    model = small_model("icnn", extra=("twin_q=false",))
    del model.policy_kwargs["twin_q"]   # what a model saved before the option records
    model.save(tmp_path / "single.zip")
    loaded = load_agent(tmp_path / "single.zip")
    assert not loaded.policy.twin_q and not isinstance(loaded.policy.q_net, TwinPICNN)
    assert ICNN("MlpPolicy", "Pendulum-v1").policy.twin_q   # new models get two critics


def test_icnn_logs_solver_statistics_and_where_time_goes() -> None:
    model = small_model("icnn")
    model.learn(100)
    logged = model.logger.name_to_value
    for kind in ("act", "target"):
        assert 1 <= logged[f"train/solver_{kind}_iterations"] <= model.policy.target_solver.max_iter
        for share in ("within_tol", "first_cut"):
            assert 0.0 <= logged[f"train/solver_{kind}_{share}"] <= 1.0
        assert logged[f"train/solver_{kind}_gap_mean"] >= 0.0
    assert 0.0 <= logged["train/solver_target_gap_p50"] <= logged["train/solver_target_gap_p99"]
    assert np.isfinite(logged["train/proposal_objective"])
    parts = [logged[f"time/{key}_ms"] for key in ("network", "subproblem", "other")]
    assert all(part >= 0 for part in parts[:2]) and parts[0] > 0
    assert sum(parts) == pytest.approx(logged["time/cycle_ms"])


def test_icnn_q_net_stays_convex_after_updates() -> None:
    model = small_model("icnn")
    model.learn(120)
    net = model.policy.q_net
    obs = torch.randn(64, 3)
    a, b = torch.rand(64, 1) * 2 - 1, torch.rand(64, 1) * 2 - 1
    t = torch.rand(64, 1)
    with torch.no_grad():
        mid = net(obs, t * a + (1 - t) * b)
        chord = t.squeeze(1) * net(obs, a) + (1 - t.squeeze(1)) * net(obs, b)
    assert torch.all(mid <= chord + 1e-5)


def test_icnn_softplus_critic_is_convex_smooth_and_kept_by_save_load(tmp_path: Path) -> None:
    model = small_model("icnn", extra=("activation=softplus",))
    model.learn(120)
    critics = model.policy.q_net.both
    obs, a = torch.randn(64, 3), torch.rand(64, 1) * 1.8 - 0.9
    with torch.no_grad():   # smooth in a: central differences of f agree at two step sizes
        second = [(critics(obs, a + h) - 2 * critics(obs, a) + critics(obs, a - h)) / h ** 2 for h in (1e-2, 5e-3)]
    assert (second[0] >= -1e-2).all()   # convex
    torch.testing.assert_close(second[0], second[1], atol=0.05, rtol=0.05)
    model.save(tmp_path / "softplus.zip")
    loaded = load_agent(tmp_path / "softplus.zip")
    assert loaded.policy.q_net.first.activation == "softplus"
    np.testing.assert_array_equal(loaded.predict(obs.numpy(), deterministic=True)[0],
                                  model.predict(obs.numpy(), deterministic=True)[0])
    with pytest.raises(ValueError, match="activation='tanh'.*valid: relu, leaky_relu, softplus"):
        small_model("icnn", extra=("activation=tanh",))


@pytest.mark.parametrize("agent", ["icnn", "naf"])
def test_vec_envs_callbacks_and_evaluate_policy_work(agent: str) -> None:
    venv = make_vec_env("Pendulum-v1", n_envs=2, seed=0)
    kwargs = {"hidden": [16, 16]}
    if agent == "icnn":
        kwargs |= {"act_solver": {"max_iter": 2}, "target_solver": {"max_iter": 2}}
    model = AGENTS[agent].algo(
        "MlpPolicy", venv, learning_starts=20, batch_size=16, policy_kwargs=kwargs, seed=0
    )
    stopper = StopTrainingOnMaxEpisodes(max_episodes=100)
    model.learn(60, callback=stopper)
    assert model.num_timesteps == 60 and model.replay_buffer.n_envs == 2
    mean, _ = evaluate_policy(model, venv, n_eval_episodes=2)
    assert -2000 < mean <= 0


@pytest.mark.parametrize("stop_at, steps", [(-np.inf, 1), (np.inf, 120)])
def test_paper_test_callback_stops_training_at_its_threshold(stop_at: float, steps: int, tmp_path) -> None:
    model = small_model("naf")
    csv_path = tmp_path / "evaluations.csv"
    tester = PaperTestCallback(make_env("Pendulum-v1"), 50, 1, csv_path, seed=1, stop_at=stop_at)
    model.learn(120, callback=tester)
    assert model.num_timesteps == steps
    rows = read_evaluations(csv_path)
    assert tester.last_return == rows[-1][1] and len(rows) == (1 if steps == 1 else 3)


def test_icnn_proposal_fit_lowers_its_objective_on_a_fixed_network() -> None:
    model = small_model("icnn", extra=("proposal_hidden=[32,32]",))
    policy = model.policy
    with torch.no_grad():   # move the target network's argmin away from the centre, where π_φ starts
        for layer in policy.q_net_target.layers:
            layer.y_to_out.weight.mul_(20.0)
    obs = torch.randn(256, 3)
    optimum = solve(policy.q_net_target.condition(obs), torch.zeros(256, 1), SolverConfig(max_iter=40, tol=1e-7),
                    bounds=(-1.0, 1.0)).objective.mean().item()

    def excess() -> float:   # mean F at the proposals above the minimum
        with torch.no_grad():
            return policy.next_values(obs, torch.zeros(256, 1))[1]["train/proposal_objective"] - optimum

    before = excess()
    for _ in range(200):   # the Q-networks stay fixed: only the proposal learns
        excess()
        policy.after_update(obs, tau=0.01)
    assert 0 <= excess() < 0.2 * before


@pytest.mark.parametrize("proposal", ["mlp", "none"])
def test_icnn_actions_are_within_tolerance_of_the_exact_argmax_or_flagged(proposal: str) -> None:
    pytest.importorskip("cvxpy")
    from icnn_rl.convex.exact import exact_argmin

    model = small_model("icnn", extra=(f"proposal={proposal}", "act_solver.max_iter=3", "act_solver.atol=0.001"))
    model.learn(150)
    policy = model.policy
    obs = torch.randn(64, 3)
    with torch.no_grad():
        result, _, _ = policy.certified_solve(policy.q_net, obs, policy.start(obs), policy.act_solver)
    _, best = exact_argmin(policy.q_net, obs, entropy_weight=policy.act_solver.entropy_weight, bounds=(-1.0, 1.0))
    excess = result.objective.double() - best.double()
    assert (excess >= -1e-4).all()
    within = result.converged
    assert (excess[within] <= policy.act_solver.atol + 1e-4).all()   # kept rows: certified (float32 slack)
    assert (result.gap[~within] > policy.act_solver.atol).all()     # the rest are flagged, not passed off


def test_icnn_saves_and_loads_its_proposal_and_its_optimizer(tmp_path) -> None:
    model = small_model("icnn")
    model.learn(120)
    model.save(tmp_path / "icnn.zip")
    loaded = AGENTS["icnn"].algo.load(tmp_path / "icnn.zip", device="cpu")
    for a, b in zip(model.policy.proposal.parameters(), loaded.policy.proposal.parameters()):
        torch.testing.assert_close(a, b)
    saved, restored = model.policy.proposal_optimizer.state_dict(), loaded.policy.proposal_optimizer.state_dict()
    assert saved["state"] and saved["state"].keys() == restored["state"].keys()
    torch.testing.assert_close(saved["state"][0]["exp_avg"], restored["state"][0]["exp_avg"])


def test_icnn_entropy_weight_rule_keeps_the_bonus_a_fixed_share_of_the_warm_up_reward(tmp_path) -> None:
    model = small_model("icnn", extra=("entropy_share=0.5",))   # learning_starts=50
    assert model.policy.entropy_weight is None               # the rule is pending
    assert model.policy.act_solver.entropy_weight == 1.0     # before the first update: the paper's ε
    model.learn(52)
    first = model.replay_buffer.rewards[:51]                 # what the buffer held at the first update
    eps = model.policy.act_solver.entropy_weight
    assert eps * 1 * math.log(2) == pytest.approx(0.5 * np.abs(first).mean())   # d = 1 on Pendulum
    assert model.policy.target_solver.entropy_weight == eps
    assert model.logger.name_to_value["train/entropy_weight"] == pytest.approx(eps)
    model.learn(60, reset_num_timesteps=False)               # fixed once: later rewards do not move it
    assert model.policy.act_solver.entropy_weight == eps
    model.save(tmp_path / "icnn.zip")
    loaded = AGENTS["icnn"].algo.load(tmp_path / "icnn.zip", device="cpu", env=make_env("Pendulum-v1"))
    loaded.learn(10, reset_num_timesteps=False)              # a loaded model keeps ε, it does not re-apply the rule
    assert loaded.policy.act_solver.entropy_weight == loaded.policy.target_solver.entropy_weight == eps


def test_icnn_saved_with_its_entropy_weight_in_the_solver_settings_loads_with_it(tmp_path: Path) -> None:
    model = small_model("icnn", extra=("entropy_weight=0.3",))
    epsilon = model.policy_kwargs.pop("entropy_weight")   # what a model saved before ε was the policy's records
    for key in ("act_solver", "target_solver"):
        model.policy_kwargs[key]["entropy_weight"] = epsilon
    model.save(tmp_path / "icnn.zip")
    loaded = load_agent(tmp_path / "icnn.zip")
    assert loaded.policy.entropy_weight == loaded.policy.act_solver.entropy_weight == 0.3
    assert loaded.policy.target_solver.entropy_weight == 0.3


def test_icnn_entropy_weight_rule_needs_non_zero_rewards() -> None:
    with pytest.raises(ValueError, match="all 0"):
        entropy_weight_rule(np.zeros((50, 1)), act_dim=2, share=2.0)


def test_icnn_fixed_entropy_weight_goes_to_both_solvers_and_only_there() -> None:
    model = small_model("icnn", extra=("entropy_weight=0.3",))
    model.learn(60)
    assert model.policy.act_solver.entropy_weight == model.policy.target_solver.entropy_weight == 0.3
    assert "entropy_weight" not in model.policy._get_constructor_parameters()["act_solver"]
    env = make_env("Pendulum-v1")
    for policy_kwargs in ({"act_solver": {"entropy_weight": 0.3}}, {"entropy_weight": 0.3}):
        with pytest.raises(ValueError, match="both argmins share it"):
            AGENTS["icnn"].algo("MlpPolicy", env, policy_kwargs=policy_kwargs)
    with pytest.raises(ValueError, match="entropy_weight must be >= 0"):
        AGENTS["icnn"].algo("MlpPolicy", env, entropy_weight=-1.0)
    with pytest.raises(ValueError, match="entropy_share must be > 0"):
        AGENTS["icnn"].algo("MlpPolicy", env, entropy_share=0.0)


def test_icnn_rejects_an_unknown_proposal() -> None:
    with pytest.raises(ValueError, match="proposal"):
        small_model("icnn", extra=("proposal=transformer",))


def test_time_spent_in_tests_and_checkpoints_is_left_out_of_the_update_cycle() -> None:
    model = small_model("icnn")
    model.learn(60)
    times = model.policy.times
    times.seconds["network"] = 0.5                 # spent in training before the test
    model._cycle_end = cycle_end = 100.0
    with model.untimed():
        times.seconds["network"] += 7.0            # e.g. acting in test episodes
        time.sleep(0.01)
    assert times.seconds["network"] == 0.5
    assert model._cycle_end >= cycle_end + 0.01


def test_make_agent_builds_what_train_py_trains_and_refuses_bad_input() -> None:
    model = make_agent("icnn", "Pendulum-v1", seed=3, overrides=["batch_size=32"])
    assert isinstance(model, ICNN) and model.batch_size == 32 and model.seed == 3
    assert model.buffer_size == task_for("Pendulum-v1").budget and model.agent_name == "icnn"
    assert type(model.action_noise).__name__ == "OrnsteinUhlenbeckActionNoise"   # the harness's noise
    assert type(make_agent("sac", "Pendulum-v1")).__name__ == "SAC"
    with pytest.raises(ValueError, match="unknown agent 'ppo'"):
        make_agent("ppo", "Pendulum-v1")
    with pytest.raises(ValueError, match="unknown config key 'no_such_key'"):
        make_agent("td3", "Pendulum-v1", overrides=["no_such_key=1"])
    with pytest.raises(ValueError, match="unknown env"):
        make_agent("ddpg", "NoSuchEnv-v0")

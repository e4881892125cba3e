"""The packaged YAML configs (installed as :mod:`icnn_rl.configs`): ``harness.yaml`` (the keys the RL
agents share), one file per RL agent and one per supervised experiment; see :func:`icnn_rl.cli.config_path`."""

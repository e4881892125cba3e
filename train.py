"""Train ICNN, NAF and DDPG agents from a checkout: ``python train.py --help``.

The command itself is :mod:`icnn_rl.train` (installed as ``icnn-rl-train``)."""

import sys

from icnn_rl.train import main

if __name__ == "__main__":
    sys.exit(main())

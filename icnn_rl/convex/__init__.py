"""The convex core: input convex networks, batched argmin solvers, argmin differentiation.

See ``docs/convex_api.md`` for the contract. Imports nothing from the RL or supervised code.
"""

from .bundle_entropy import bundle_entropy
from .conv_picnn import ConvPICNN
from .ficnn import FICNN
from .first_order import first_order
from .nonneg import attach_projection, is_convex, project_
from .picnn import PICNN, rl_picnn
from .problem import SolveResult, binary_entropy
from .solve import SOLVER_METHODS, SolverConfig, argmin, solve

__all__ = [
    "FICNN",
    "PICNN",
    "SOLVER_METHODS",
    "ConvPICNN",
    "SolveResult",
    "SolverConfig",
    "argmin",
    "attach_projection",
    "binary_entropy",
    "bundle_entropy",
    "first_order",
    "is_convex",
    "project_",
    "rl_picnn",
    "solve",
]

"""The convex core: input convex networks, batched argmin solvers, argmin differentiation.

See ``docs/convex_api.md`` for the contract. Imports nothing from the RL or supervised code.
"""

from .bundle_entropy import bundle_entropy
from .certificate import Certificate, certify, within_tolerance
from .conv_picnn import ConvPICNN
from .ficnn import FICNN
from .first_order import first_order
from .nonneg import attach_projection, is_convex, project_
from .picnn import PICNN, rl_picnn
from .problem import SolveResult, binary_entropy, value_and_grad
from .solve import SOLVER_METHODS, SolverConfig, argmin, solve, solve_from
from .timing import PhaseTimes

__all__ = [
    "FICNN",
    "PICNN",
    "SOLVER_METHODS",
    "Certificate",
    "ConvPICNN",
    "PhaseTimes",
    "SolveResult",
    "SolverConfig",
    "argmin",
    "attach_projection",
    "binary_entropy",
    "bundle_entropy",
    "certify",
    "first_order",
    "is_convex",
    "project_",
    "rl_picnn",
    "solve",
    "solve_from",
    "value_and_grad",
    "within_tolerance",
]

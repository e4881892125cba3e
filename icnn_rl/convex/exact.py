"""Exact reference solutions for small piecewise-linear ICNNs (tests and benchmarks only).

The paper's observation "inference is a linear program": for a ReLU / leaky-ReLU ICNN with the x-path
fixed, each layer is pre_i = A_i z_i + C_i y + c_i with A_i >= 0, so

    min_y f(x, y)  =  min_{y, z} pre_L   s.t.  z_{i+1} >= pre_i,  z_{i+1} >= α·pre_i   (hidden layers)

(the epigraph is tight because the objective is non-decreasing in every z). Adding the entropy
barrier −ε·H(p) = ε Σ_j [p_j log p_j + (1 − p_j) log(1 − p_j)] gives an exponential-cone program,
solved here by cvxpy (Clarabel). cvxpy is a test/benchmark dependency, imported lazily.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .picnn import piecewise_linear_slope
from .problem import Bounds


def exact_argmin(net: nn.Module, x: Tensor | None, *, entropy_weight: float = 1.0,
                 bounds: Bounds = (0.0, 1.0), batch: int | None = None) -> tuple[Tensor, Tensor]:
    """argmin_y net(x, y) − ε·H(p) over the box for every row, by cvxpy; returns (y [B, n], objective [B]).

    ``net`` is a :class:`PICNN` or :class:`FICNN` with a ``relu`` or ``leaky_relu`` activation and
    non-negative W^(z) (a convex net); rows are solved as one separable program.
    """
    try:
        import cvxpy as cp
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("exact_argmin needs cvxpy: pip install 'icnn-rl[test]'") from err
    alpha = piecewise_linear_slope(net.activation, net.negative_slope)
    terms = net.epigraph_terms(x) if x is not None else net.epigraph_terms(None, batch or 1)
    terms = [(None if A is None else A.detach().double().cpu().numpy(), C.detach().double().cpu().numpy(),
              c.detach().double().cpu().numpy())
             for A, C, c in terms]
    if any(A is not None and (A < 0).any() for A, _, _ in terms):
        raise ValueError("the network has negative W^(z) entries, so it is not convex: no exact LP")
    B, n = terms[0][1].shape[0], terms[0][1].shape[2]
    lo, hi = float(bounds[0]), float(bounds[1])
    ys, objectives, cost, constraints = [], [], 0, []
    for b in range(B):
        y = cp.Variable(n)
        p = (y - lo) / (hi - lo)
        z = None
        for i, (A, C, c) in enumerate(terms):
            pre = C[b] @ y + c[b] + (A[b] @ z if z is not None else 0)
            if i == len(terms) - 1:
                obj = pre[0] - entropy_weight * cp.sum(cp.entr(p) + cp.entr(1 - p))
                break
            z = cp.Variable(C.shape[1])
            constraints += [z >= pre, z >= alpha * pre]
        constraints += [y >= lo, y <= hi]
        ys.append(y)
        objectives.append(obj)
        cost = cost + obj
    cp.Problem(cp.Minimize(cost), constraints).solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10,
                                                     tol_feas=1e-10)
    y_out = torch.tensor(np.stack([y.value for y in ys]), dtype=torch.float64)
    obj_out = torch.tensor([float(o.value) for o in objectives], dtype=torch.float64)
    return y_out, obj_out

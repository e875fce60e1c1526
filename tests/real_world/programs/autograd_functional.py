"""Jacobians, Hessians and their products with torch.autograd.functional.

Each result is checked against the closed form: the Jacobian of a polar-to-Cartesian map, the
Hessian of a log-sum-exp plus a quartic, and the vector-Jacobian and Hessian-vector products
against the full matrices.
"""

import torch
from torch.autograd.functional import hessian, hvp, jacobian, vjp

TOLERANCE = 1e-10
CONVERGED_BELOW = {"jacobian_error": 1e-12, "hessian_error": 1e-12, "vjp_error": 1e-12,
                   "hvp_error": 1e-12}


def polar_to_cartesian(p):
    r, theta = p[0], p[1]
    return torch.stack([r * torch.cos(theta), r * torch.sin(theta)])


def energy(x):
    return torch.logsumexp(x, dim=0) + (x ** 4).sum() / 4


p = torch.tensor([2.0, 0.7], dtype=torch.float64)
J = jacobian(polar_to_cartesian, p)
r, theta = p.tolist()
J_exact = torch.tensor([[torch.cos(p[1]).item(), -r * torch.sin(p[1]).item()],
                        [torch.sin(p[1]).item(), r * torch.cos(p[1]).item()]],
                       dtype=torch.float64)
jacobian_error = (J - J_exact).abs().max().item()

x = torch.tensor([0.3, -1.2, 0.5], dtype=torch.float64)
H = hessian(energy, x)
s = torch.softmax(x, dim=0)
H_exact = torch.diag(s) - torch.outer(s, s) + torch.diag(3 * x ** 2)
hessian_error = (H - H_exact).abs().max().item()

v = torch.tensor([1.0, -0.5], dtype=torch.float64)
_, vjp_value = vjp(polar_to_cartesian, p, v)
vjp_error = (vjp_value - v @ J).abs().max().item()

u = torch.tensor([0.2, 0.1, -1.0], dtype=torch.float64)
value, hvp_value = hvp(energy, x, u)
hvp_error = (hvp_value - H @ u).abs().max().item()

print("J =", J)
print("H =", H)
print(f"RESULT jacobian_error={jacobian_error!r}")
print(f"RESULT hessian_error={hessian_error!r}")
print(f"RESULT vjp_error={vjp_error!r}")
print(f"RESULT hvp_error={hvp_error!r}")
print(f"RESULT energy={value.item()!r}")
print(f"RESULT jacobian_01={J[0, 1].item()!r}")
print(f"RESULT hessian_trace={torch.trace(H).item()!r}")
print(f"RESULT dtype_jacobian={J.dtype}")
print(f"RESULT dtype_hessian={H.dtype}")

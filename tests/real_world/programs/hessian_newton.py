"""Second derivatives with torch.autograd.grad(..., create_graph=True).

The Hessian of the Rosenbrock function is built row by row by differentiating each component of
the gradient, checked against the closed form, and used for Newton's method, which reaches the
minimum (1, 1) in a few steps. A Hessian-vector product is checked against H @ v.
"""

import torch

TOLERANCE = 1e-8
CONVERGED_BELOW = {"hessian_error": 1e-9, "hvp_error": 1e-9, "newton_distance": 1e-8}


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def exact_hessian(x):
    x0, x1 = x[0].item(), x[1].item()
    return torch.tensor([[2 - 400 * (x1 - x0 ** 2) + 800 * x0 ** 2, -400 * x0],
                         [-400 * x0, 200.0]], dtype=torch.float64)


def hessian(f, x):
    """The Hessian of f at x: each row is the gradient of one gradient component."""
    value = f(x)
    (grad,) = torch.autograd.grad(value, x, create_graph=True)
    rows = []
    for i in range(x.numel()):
        (row,) = torch.autograd.grad(grad[i], x, retain_graph=True)
        rows.append(row)
    return value, grad, torch.stack(rows)


x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
value, grad, H = hessian(rosenbrock, x)
hessian_error = (H - exact_hessian(x)).abs().max().item()
print("Hessian at (-1.2, 1):\n", H)
print(f"RESULT start_value={value.item()!r}")
print(f"RESULT start_grad_0={grad[0].item()!r}")
for i in range(2):
    for j in range(2):
        print(f"RESULT hessian_{i}{j}={H[i, j].item()!r}")
print(f"RESULT hessian_error={hessian_error!r}")
print(f"RESULT hessian_symmetry={(H - H.T).abs().max().item()!r}")

# Hessian-vector product: the gradient of <grad f, v>.
v = torch.tensor([0.5, -2.0], dtype=torch.float64)
(grad,) = torch.autograd.grad(rosenbrock(x), x, create_graph=True)
(hvp,) = torch.autograd.grad(grad, x, grad_outputs=v)
hvp_error = (hvp - H @ v).abs().max().item()
print(f"RESULT hvp_error={hvp_error!r}")

# Newton's method: x <- x - H^-1 grad.
for step in range(8):
    value, grad, H = hessian(rosenbrock, x)
    with torch.no_grad():
        x -= torch.linalg.solve(H, grad)
    print(step, value.item(), x.tolist())

newton_distance = (x.detach() - torch.tensor([1.0, 1.0], dtype=torch.float64)).norm().item()
print(f"RESULT newton_distance={newton_distance!r}")
print(f"RESULT final_value={rosenbrock(x).item()!r}")
print(f"RESULT dtype_hessian={H.dtype}")

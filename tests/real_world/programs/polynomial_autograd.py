"""Fit a cubic polynomial to sin(x) with bare tensors and autograd.

The four coefficients are plain tensors with requires_grad=True; the update is written by hand
inside torch.no_grad(), and the gradients are dropped after each step.
"""

import math

import torch

TOLERANCE = 1e-4
CONVERGED_BELOW = {"final_loss": 30.0}

dtype = torch.float

x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

# y is approximated by a + b x + c x^2 + d x^3
a = torch.randn((), dtype=dtype, requires_grad=True)
b = torch.randn((), dtype=dtype, requires_grad=True)
c = torch.randn((), dtype=dtype, requires_grad=True)
d = torch.randn((), dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    # sum of squared errors: a scalar tensor
    loss = (y_pred - y).pow(2).sum()
    if t % 500 == 99:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
print(f"RESULT final_loss={loss.item()!r}")
for name, coefficient in zip("abcd", (a, b, c, d)):
    print(f"RESULT {name}={coefficient.item()!r}")
print(f"RESULT dtype_loss={loss.dtype}")
print(f"RESULT requires_grad_after_update={float(a.requires_grad)!r}")

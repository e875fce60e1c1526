"""Fit sin(x) through a custom autograd Function: the Legendre polynomial P3.

y = a + b * P3(c + d * x), with P3(x) = (5 x^3 - 3 x) / 2 written as a
torch.autograd.Function with its own backward, P3'(x) = 3 (5 x^2 - 1) / 2.
"""

import math

import torch

TOLERANCE = 1e-4
CONVERGED_BELOW = {"final_loss": 30.0}


class LegendrePolynomial3(torch.autograd.Function):
    """P3 and its derivative, saving the input for the backward pass."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

# Start near the solution: with random weights this model does not converge.
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(2000):
    P3 = LegendrePolynomial3.apply

    y_pred = a + b * P3(c + d * x)

    loss = (y_pred - y).pow(2).sum()
    if t % 500 == 99:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        a.grad.zero_()
        b.grad.zero_()
        c.grad.zero_()
        d.grad.zero_()

print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
print(f"RESULT final_loss={loss.item()!r}")
for name, coefficient in zip("abcd", (a, b, c, d)):
    print(f"RESULT {name}={coefficient.item()!r}")
print(f"RESULT dtype_loss={loss.dtype}")
print(f"RESULT dtype_y_pred={y_pred.dtype}")

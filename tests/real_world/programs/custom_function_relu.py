"""A two-layer network with a hand-written ReLU Function, trained with manual updates.

The custom Function clamps in forward and masks the incoming gradient in backward, as the
classic "defining new autograd functions" example does.
"""

import torch

TOLERANCE = 1e-4
CONVERGED_BELOW = {"final_loss": 50.0}


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


dtype = torch.float

# N is the batch size; D_in the input size; H the hidden size; D_out the output size.
N, D_in, H, D_out = 32, 40, 20, 5

x = torch.randn(N, D_in, dtype=dtype)
y = torch.randn(N, D_out, dtype=dtype)

w1 = torch.randn(D_in, H, dtype=dtype, requires_grad=True)
w2 = torch.randn(H, D_out, dtype=dtype, requires_grad=True)

learning_rate = 1e-4
for t in range(400):
    relu = MyReLU.apply

    y_pred = relu(x.mm(w1)).mm(w2)

    loss = (y_pred - y).pow(2).sum()
    if t == 0:
        initial_loss = loss.item()
    if t % 100 == 99:
        print(t, loss.item())

    loss.backward()

    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad

        w1.grad.zero_()
        w2.grad.zero_()

print(f"RESULT initial_loss={initial_loss!r}")
print(f"RESULT final_loss={loss.item()!r}")
print(f"RESULT w1_norm={w1.norm().item()!r}")
print(f"RESULT w2_sum={w2.sum().item()!r}")
print(f"RESULT dtype_loss={loss.dtype}")

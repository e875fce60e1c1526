"""nn.Sequential on polynomial features: Linear(3, 1) followed by Flatten(0, 1).

The input holds x, x^2 and x^3 as three features; Flatten(0, 1) turns the (N, 1) output into
a vector of length N so that it matches the target. The update is written by hand over
model.parameters(); a second model of the same shape is then fitted with RMSprop.
"""

import math

import torch

TOLERANCE = 1e-3
CONVERGED_BELOW = {"final_loss": 50.0, "rmsprop_final_loss": 30.0}

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# (2000,) -> (2000, 1), raised to the powers (3,) -> (2000, 3) by broadcasting.
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
# An optimiser is built (and not used) only so that both frameworks start from the same weights.
torch.optim.SGD(model.parameters(), lr=0.0)

loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-6
for t in range(1000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 250 == 99:
        print(t, loss.item())

    model.zero_grad()
    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
print(f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x"
      f" + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")
print(f"RESULT final_loss={loss.item()!r}")
print(f"RESULT bias={linear_layer.bias.item()!r}")
for i in range(3):
    print(f"RESULT weight_{i}={linear_layer.weight[:, i].item()!r}")
print(f"RESULT dtype_xx={xx.dtype}")
print(f"RESULT dtype_y_pred={y_pred.dtype}")
print(f"RESULT y_pred_ndim={float(y_pred.dim())!r}")

# The same model again, with an optimiser doing the update.
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
optimizer = torch.optim.RMSprop(model.parameters(), lr=3e-3)
for _ in range(500):
    loss = loss_fn(model(xx), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"RESULT rmsprop_final_loss={loss.item()!r}")
print(f"RESULT rmsprop_weight_2={model[0].weight[0, 2].item()!r}")

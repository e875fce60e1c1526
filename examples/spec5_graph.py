"""Backpropagation on the worked graph of SPEC 5, by hand and by chainrule.

L(a, b, w, t) = ((a + b) w - t)^2 + w^2 at a=1, b=2, w=2, t=4 gives L = 8 and
dL/da = dL/db = 8, dL/dw = 16, dL/dt = -4.
"""

import chainrule as cr


def main():
    a, b, w, t = (cr.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0, 4.0))
    u = a + b            # u = 3
    v = u * w            # v = 6
    e = v - t            # e = 2
    loss = e ** 2 + w ** 2
    loss.backward()
    # By hand: dL/de = 2e = 4; dL/dv = 4; dL/du = 4 w = 8; dL/dw = 4 u + 2 w = 16; dL/dt = -4.
    print(f"L = {loss.item():g}")
    for name, x in zip("abwt", (a, b, w, t)):
        print(f"dL/d{name} = {x.grad.item():g}")


if __name__ == "__main__":
    main()

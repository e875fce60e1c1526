"""`LBFGS`: limited-memory BFGS, a quasi-Newton method driven by a closure."""

from __future__ import annotations

import math

import numpy as np

from chainrule import backend
from chainrule.autograd.mode import enable_grad
from chainrule.optim.optimizer import Optimizer


class LBFGS(Optimizer):
    """Limited-memory BFGS with an optional strong-Wolfe line search, as PyTorch runs it.

    All parameters are treated as one flat vector x with gradient g. The inverse Hessian is
    approximated from the last m = ``history_size`` pairs s_i = x_{i+1} - x_i,
    y_i = g_{i+1} - g_i (a pair is kept only when y_i^T s_i > 1e-10), with rho_i = 1 / y_i^T s_i.
    The direction d = -H g comes from the two-loop recursion:

        q = -g
        for i = k-1, ..., k-m:   a_i = rho_i s_i^T q;     q = q - a_i y_i
        r = gamma q,             gamma = y_{k-1}^T s_{k-1} / y_{k-1}^T y_{k-1}
        for i = k-m, ..., k-1:   b_i = rho_i y_i^T r;     r = r + (a_i - b_i) s_i
        d = r                    (d = -g at the very first iteration)

    and the update is x <- x + t d. Without a line search t = ``lr`` (at the first iteration
    t = min(1, 1 / ||g||_1) lr). With ``line_search_fn="strong_wolfe"``, t is found by
    bracketing and zooming with cubic interpolation until the strong Wolfe conditions hold:
    f(x + t d) <= f(x) + c1 t g^T d and |g(x + t d)^T d| <= c2 |g^T d|, c1 = 1e-4, c2 = 0.9.

    One :meth:`step` runs up to ``max_iter`` iterations and stops early when
    max|g| <= ``tolerance_grad``, g^T d > -``tolerance_change``, max|t d| <= ``tolerance_change``,
    |f_k - f_{k-1}| < ``tolerance_change`` or after ``max_eval`` evaluations of the closure.
    The history carries over from one step to the next.

    Args:
        params: the Tensors to optimise (one parameter group only).
        lr: learning rate, the step length t without a line search (default 1).
        max_iter: iterations per step (default 20).
        max_eval: closure evaluations per step (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when the largest gradient entry is this small (default 1e-7).
        tolerance_change: stop when the loss or the parameters change less (default 1e-9).
        history_size: the number m of pairs kept (default 100).
        line_search_fn: None or ``"strong_wolfe"``.

    Example:
        >>> opt = cr.optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((X @ w - y) ** 2).mean()
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ---- the parameters as one flat vector ----------------------------------------------------
    def _flat_grad(self):
        xp = backend.namespace(self._params[0].data)
        return xp.concatenate([p.grad.data.ravel() if p.grad is not None
                               else xp.zeros(p.data.size, dtype=p.dtype) for p in self._params])

    def _add_step(self, t, d) -> None:
        """x <- x + t d, in place on every parameter."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += t * d[offset:offset + n].reshape(p.shape)
            p._version += 1
            offset += n

    def _set_params(self, arrays) -> None:
        for p, a in zip(self._params, arrays):
            p.data[...] = a
            p._version += 1

    def _evaluate_at(self, closure, x, t, d):
        """f and g at x + t d; the parameters are put back to x afterwards."""
        self._add_step(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        self._set_params(x)
        return loss, g

    # ---- one step -----------------------------------------------------------------------------
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations.

        Args:
            closure: re-evaluates the model, calls ``backward()`` and returns the loss; called
                with gradients enabled, several times per step.

        Returns:
            The loss of the first evaluation (at the parameters the step started from).
        """
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that re-evaluates the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search, history_size = group["line_search_fn"], group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            first_loss = closure()
        loss = float(first_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if abs(g).max() <= tolerance_grad:
            return first_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), \
            state.get("prev_loss")
        done = False
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro, h_diag = [], [], [], 1
            else:
                y, s = g - prev_g, d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                al = state.setdefault("al", [None] * history_size)
                d = _two_loop(g, old_dirs, old_stps, ro, h_diag, al)
            if prev_g is None:
                prev_g = g.copy()
            else:
                prev_g[...] = g
            prev_loss = loss

            t = min(1.0, 1.0 / abs(g).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = g.dot(d)
            if gtd > -tolerance_change:
                break
            used = 0
            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x = [p.data.copy() for p in self._params]

                def evaluate(step_size, x=x, d=d):
                    return self._evaluate_at(closure, x, step_size, d)

                loss, g, t, used = _strong_wolfe(evaluate, t, d, loss, g, gtd,
                                                 max_ls=max_eval - evals)
                self._add_step(t, d)
                done = abs(g).max() <= tolerance_grad
            else:
                self._add_step(t, d)
                if n_iter != max_iter:  # the last iteration's loss would be thrown away
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    done = abs(g).max() <= tolerance_grad
                    used = 1
            evals += used
            state["func_evals"] += used
            if n_iter == max_iter or evals >= max_eval or done:
                break
            if abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss)
        return first_loss

    # ---- serialisation: the history is global, kept with the first parameter -------------------
    def state_dict(self) -> dict:
        """As :meth:`Optimizer.state_dict`; the history lists are copied too."""
        packed = super().state_dict()
        state = self.state.get(self._params[0])
        packed["state"] = {} if state is None else {0: {k: _snapshot(v) for k, v in state.items()}}
        return packed

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from :meth:`state_dict` (or a PyTorch LBFGS state converted to arrays).

        Raises:
            ValueError: the parameter groups differ, or the state is not the first
                parameter's.
        """
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        self._params = self.param_groups[0]["params"]
        xp = backend.namespace(self._params[0].data)
        dtype = np.result_type(*(p.dtype for p in self._params))
        self.state = {}
        for key, saved in state_dict["state"].items():
            if int(key) != 0:
                raise ValueError(f"LBFGS keeps its state with parameter 0, got state for "
                                 f"parameter {key}")
            self.state[self._params[0]] = {k: _restore(v, xp, dtype) for k, v in saved.items()}


def _two_loop(g, old_dirs, old_stps, ro, h_diag, al):
    """d = -H g by the two-loop recursion (see the class docstring); ``al`` is scratch space."""
    q = -g
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q -= al[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        be_i = old_dirs[i].dot(r) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return r


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2.

    With d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2) and d2 = sqrt(d1^2 - g1 g2), the minimiser is
    x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2) (x2 the larger point), clipped to
    ``bounds`` (default [min(x1, x2), max(x1, x2)]); the midpoint when d1^2 < g1 g2.
    """
    low, high = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if not d2_square >= 0:
        return (low + high) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, low), high)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Step length t along d satisfying the strong Wolfe conditions (Nocedal & Wright 3.5-3.6).

    Bracketing: try t, extrapolating by cubic interpolation within [t + 0.01 (t - t_prev), 10 t]
    until the sufficient-decrease condition fails, the slope turns non-negative (a bracket) or
    both conditions hold. Zoom: shrink the bracket by cubic interpolation, moving a trial
    within 10% of an end away from it, until the conditions hold or the bracket is shorter
    than ``tolerance_change / max|d|``.

    Returns:
        (f, g, t, evaluations) at the chosen step.
    """
    d_norm = abs(d).max()
    f_new, g_new = evaluate(t)
    evals, ls_iter = 1, 0
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    bracket = None
    while ls_iter < max_ls:
        wolfe = abs(gtd_new) <= -c2 * gtd
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev) or \
                (gtd_new >= 0 and not wolfe):
            bracket, fs, gs, gtds = [t_prev, t], [f_prev, f_new], [g_prev, g_new], \
                [gtd_prev, gtd_new]
            break
        if wolfe:
            bracket, fs, gs, done = [t], [f_new], [g_new], True
            break
        t_prev, t = t, _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                      bounds=(t + 0.01 * (t - t_prev), t * 10))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter >= max_ls:
        bracket, fs, gs = [0, t], [f, f_new], [g, g_new]

    # zoom
    insufficient_progress = False
    low, high = (0, 1) if fs[0] <= fs[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(bracket[0], fs[0], gtds[0], bracket[1], fs[1], gtds[1])
        # NOTE: a trial too close to an end makes little progress: after two such trials in a
        # row (or one outside the bracket) move it to 10% of the bracket's length inside.
        lo_t, hi_t = min(bracket), max(bracket)
        eps = 0.1 * (hi_t - lo_t)
        if min(hi_t - t, t - lo_t) < eps:
            if insufficient_progress or t >= hi_t or t <= lo_t:
                t = hi_t - eps if abs(t - hi_t) < abs(t - lo_t) else lo_t + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= fs[low]:
            bracket[high], fs[high], gs[high], gtds[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if fs[0] <= fs[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], fs[high], gs[high], gtds[high] = \
                    bracket[low], fs[low], gs[low], gtds[low]
            bracket[low], fs[low], gs[low], gtds[low] = t, f_new, g_new, gtd_new
    return fs[low], gs[low], bracket[low], evals


def _snapshot(value):
    """A copy of one state value: NumPy arrays, Python numbers, lists of them."""
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        array = backend.to_numpy(value)
        return array.item() if array.ndim == 0 else np.array(array, copy=True)
    return value


def _restore(value, xp, dtype):
    """One saved state value back as the parameters' arrays (0-d values as Python numbers)."""
    if isinstance(value, (list, tuple)):
        return [_restore(v, xp, dtype) for v in value]
    if hasattr(value, "shape"):
        array = np.asarray(backend.to_numpy(value) if backend.is_gpu_array(value) else value)
        if array.ndim == 0:
            return array.item()
        return xp.array(array, dtype=dtype)
    return value

"""How much of PyTorch's API chainrule covers, name by name.

For each PyTorch namespace below, every public name (for ``torch`` and ``torch.Tensor``, a
curated list of the everyday names of tutorials and examples) is looked up in chainrule and
classified:

- present: chainrule has the name and no known difference;
- differs: chainrule has the name, but a documented difference (the table ``NOTES``) applies or
  the signature lacks parameters that PyTorch's has;
- missing: chainrule has no such name.

Usage::

    python tools/pytorch_coverage.py            # print the summary
    python tools/pytorch_coverage.py --write    # regenerate the section of the docs page
    python tools/pytorch_coverage.py --check    # exit 1 if that section is out of date

The section lies between ``<!-- coverage:start -->`` and ``<!-- coverage:end -->`` in
docs/coming_from_pytorch.md; the rest of the page is left as it is. PyTorch must be installed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import types
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "coming_from_pytorch.md"
HEADING = "## Coverage of PyTorch's API"
START, END = "<!-- coverage:start -->", "<!-- coverage:end -->"

# Everyday names, by estimated use in public tutorials and examples: tier 1 appears in nearly
# every training script, tier 2 often, tier 3 now and then. Missing names are listed by tier.
TORCH_NAMES = {
    1: """tensor Tensor zeros ones randn rand arange manual_seed no_grad device cuda float32
        float long int64 cat stack save load from_numpy matmul exp log sum mean max min argmax
        softmax sigmoid tanh relu where linspace eye full zeros_like ones_like randint
        randperm as_tensor float64 double bool int32 int reshape flatten squeeze unsqueeze
        transpose permute sqrt abs pow clamp allclose einsum""",
    2: """empty empty_like full_like rand_like randn_like randint_like normal bernoulli
        multinomial enable_grad set_grad_enabled is_grad_enabled inference_mode dtype uint8
        int8 int16 float16 half bfloat16 is_tensor numel split chunk gather scatter
        index_select masked_select narrow flip roll repeat_interleave tile meshgrid
        broadcast_to concat concatenate hstack vstack t unbind argmin amax amin prod cumsum
        std var norm logsumexp topk sort argsort unique all any eq ne gt lt ge le equal
        isnan isinf isfinite isclose maximum minimum add sub mul div neg reciprocal rsqrt
        square sign floor ceil round log1p expm1 log2 log10 sin cos mm bmm outer dot diag
        tril triu log_softmax dropout clip cdist cosine_similarity nonzero count_nonzero
        clone detach set_default_dtype get_default_dtype set_printoptions get_rng_state
        set_rng_state seed initial_seed Generator is_floating_point""",
    3: """complex64 cumprod std_mean var_mean median mode quantile nanmean nansum kthvalue
        diff cummax trunc frac remainder fmod tan atan atan2 asin acos sinh cosh erf erfinv
        lerp cross diagonal trace det inverse kron tensordot logical_and logical_or
        logical_not logical_xor bincount histc searchsorted bucketize take_along_dim movedim
        swapaxes tensor_split atleast_2d block_diag cartesian_prod combinations triu_indices
        tril_indices cov corrcoef nan_to_num addmm baddbmm heaviside lgamma digamma
        result_type promote_types set_num_threads get_num_threads
        use_deterministic_algorithms compile Size finfo iinfo""",
}
TIERS = {1: "everyday", 2: "common", 3: "occasional"}
TENSOR_NAMES = {
    1: """shape size dtype device to cpu cuda numpy item tolist backward grad requires_grad
        requires_grad_ detach view reshape flatten squeeze unsqueeze permute transpose T sum
        mean max min argmax float long int double bool numel dim ndim clone zero_ add_ mul_
        exp log sqrt abs pow matmul t data grad_fn is_leaf contiguous expand repeat softmax
        sigmoid tanh relu eq type copy_ fill_""",
    2: """add sub mul div neg mm bmm argmin std var prod cumsum norm all any clamp clamp_ clip
        masked_fill masked_fill_ gather scatter scatter_ scatter_add_ index_select index_add_
        topk sort argsort chunk split unbind view_as reshape_as expand_as type_as new_zeros
        new_ones new_full new_tensor new_empty uniform_ normal_ sub_ div_ round floor ceil
        sign log_softmax logsumexp maximum minimum lt le gt ge ne isnan isinf isfinite nonzero
        unique flip roll narrow diag tril triu retain_grad register_hook is_cuda half
        is_contiguous stride unfold amax amin allclose equal sin cos square rsqrt reciprocal
        log1p expm1 dot outer where masked_select repeat_interleave detach_ mT byte""",
    3: """tan log2 exp_ sqrt_ abs_ neg_ relu_ sigmoid_ tanh_ pow_ squeeze_ unsqueeze_ t_
        transpose_ bernoulli_ random_ exponential_ fill_diagonal_ index_put_ put_ take
        bincount count_nonzero is_floating_point get_device nelement element_size data_ptr
        retains_grad sum_to_size tile movedim swapaxes logical_not logical_and lerp lerp_
        cumprod diff median mode kthvalue addmm short char bfloat16 apply_ map_ new
        is_shared share_memory_ storage_offset untyped_storage H""",
}

# The PyTorch namespaces and the chainrule module that answers for each.
NAMESPACES = [
    ("torch", "chainrule"), ("torch.Tensor", "chainrule.Tensor"), ("torch.nn", "chainrule.nn"),
    ("torch.nn.functional", "chainrule.nn.functional"), ("torch.optim", "chainrule.optim"),
    ("torch.optim.lr_scheduler", "chainrule.optim.lr_scheduler"),
    ("torch.utils.data", "chainrule.utils.data"), ("torch.autograd", "chainrule.autograd"),
]

# Parameters not counted as lacking: output buffers and memory layout (chainrule allocates
# plain NumPy arrays) and the arguments PyTorch itself deprecated in favour of ``reduction``.
IGNORED_PARAMS = {"out", "memory_format", "layout", "pin_memory", "non_blocking",
                  "size_average", "reduce"}

_SHAPES = "raises ValueError when input and target shapes differ (PyTorch broadcasts)"
_EMPTY_MEAN = "a 'mean' over targets that are all ignored raises ValueError (PyTorch: NaN)"
_TIES = "tied elements share the gradient"
_CLOSED = "a closed form of the epoch: rates set by hand are overwritten; no composing"
_LENGTHS = "no packed sequences: pass padded input and `lengths=` to the layer"
# Documented differences (docs/coming_from_pytorch.md, "What differs"), by namespace and name.
NOTES = {
    "torch": {
        "tensor": "Python floats and float64 arrays become float32 unless `dtype` says otherwise",
        "manual_seed": "seeds chainrule's NumPy generator: not the same numbers as PyTorch",
        "save": "writes safetensors (nested dicts, lists, numbers); nothing is pickled",
        "load": "reads safetensors; nothing is unpickled",
        "max": _TIES, "min": _TIES, "maximum": _TIES, "minimum": _TIES,
    },
    "torch.Tensor": {
        "numpy": "works without `.detach()` on a tensor that requires grad",
        "data": "the NumPy (or CuPy) array itself, not a Tensor",
        "max": _TIES, "min": _TIES, "maximum": _TIES, "minimum": _TIES,
    },
    "torch.nn": {
        **dict.fromkeys(["MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss"],
                        _SHAPES),
        "NLLLoss": _EMPTY_MEAN, "CrossEntropyLoss": _EMPTY_MEAN,
        "RNN": _LENGTHS, "LSTM": _LENGTHS, "GRU": _LENGTHS,
    },
    "torch.nn.functional": {
        **dict.fromkeys(["mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy",
                         "binary_cross_entropy_with_logits"], _SHAPES),
        "nll_loss": _EMPTY_MEAN, "cross_entropy": _EMPTY_MEAN,
    },
    "torch.utils.data": {
        "DataLoader": "shuffles with `seed` or a NumPy `generator`; no worker processes",
        "random_split": "draws with `seed` or a NumPy `generator`",
    },
    "torch.autograd": {
        "Function": "`forward` receives NumPy (or CuPy) arrays; `backward` receives Tensors",
    },
}
# Rules that apply to many names of a namespace at once.
INPLACE = "`inplace=True` is accepted and ignored: the input is never overwritten"


def curated(tiers: dict[int, str]) -> dict[str, int]:
    """{name: tier}, the first tier a name appears in."""
    ranks: dict[str, int] = {}
    for tier, names in sorted(tiers.items()):
        for name in names.split():
            ranks.setdefault(name, tier)
    return ranks


HELPERS = {"torch._jit_internal", "torch.overrides", "torch._C"}   # TorchScript, dispatch


def public_names(torch_ns, module) -> list[str]:
    """The public API of a PyTorch module: ``__all__`` or its public names, less re-exports.

    Sub-modules, constants and names that come from outside torch (typing, collections) are
    dropped, as are TorchScript and dispatch helpers. ``torch.nn`` keeps only classes (its
    layers and containers) and ``torch.nn.functional`` only functions.
    """
    names = getattr(module, "__all__", None) or dir(module)
    keep = []
    for name in names:
        obj = getattr(module, name, None)
        if name.startswith("_") or obj is None or isinstance(obj, types.ModuleType):
            continue
        origin = getattr(obj, "__module__", None) or "torch"
        if not callable(obj) or not origin.startswith("torch") or origin in HELPERS:
            continue
        wants_class = {"torch.nn": True, "torch.nn.functional": False}.get(torch_ns)
        if wants_class in (None, inspect.isclass(obj)):
            keep.append(name)
    return sorted(set(keep))


def chainrule_module(name: str):
    """The chainrule module for a dotted name; ``chainrule.data`` stands in for utils.data."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if name == "chainrule.utils.data":
            return importlib.import_module("chainrule.data")
        raise


class Params:
    """A signature reduced to what matters here: names, positional order, catch-alls."""

    def __init__(self, overloads, var_pos=False, var_kw=False):
        self.overloads = overloads     # per overload: [(name, positional, required)]
        self.var_pos, self.var_kw = var_pos, var_kw
        self.names = {name for overload in overloads for name, _, _ in overload}

    def positional(self, overload=None) -> list[tuple[str, bool]]:
        """[(name, required)] of the positional parameters of one overload (the first)."""
        return [(n, req) for n, pos, req in overload or self.overloads[0] if pos]


def from_inspect(obj) -> Params | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    kind = inspect.Parameter
    plain = [p for p in sig.parameters.values() if p.kind not in (kind.VAR_POSITIONAL,
                                                                   kind.VAR_KEYWORD)]
    params = [(p.name, p.kind in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD),
               p.default is kind.empty) for p in plain]
    kinds = {p.kind for p in sig.parameters.values()}
    return Params([params], kind.VAR_POSITIONAL in kinds, kind.VAR_KEYWORD in kinds)


def from_docstring(name: str, doc: str | None) -> Params | None:
    """The signatures a PyTorch docstring states, ``name(a, b=1, *, c=None)``, overloads too."""
    overloads, var_pos, text = [], False, doc or ""
    for match in re.finditer(rf"(?m)^\s*(?:\.\. function::\s*)?{re.escape(name)}\(", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[i], 0)
            i += 1
        args = re.sub(r"\\\*", "*", text[match.end():i - 1])
        params, positional, piece, depth = [], True, "", 0
        for char in args + ",":
            depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
            if char != "," or depth:
                piece += char
                continue
            piece, param = piece.strip(), re.split(r"[=:]", piece)[0].strip()
            if piece.startswith("*"):
                var_pos = var_pos or piece[1:2] not in ("*", "")
                positional = False
            elif param.isidentifier():
                params.append((param, positional, "=" not in piece))
            piece = ""
        overloads.append(params)
    return Params(overloads, var_pos) if overloads else None


def torch_params(obj, name: str) -> Params | None:
    params = from_inspect(obj)
    if params is None or (not params.names and (params.var_pos or params.var_kw)):
        params = from_docstring(name, getattr(obj, "__doc__", None))
    return params if params and params.names else None


def compare(theirs: Params, ours: Params) -> list[str]:
    """How chainrule's signature falls short of PyTorch's: lacking and renamed parameters.

    A required positional parameter that chainrule has under another name (``input`` as
    ``x``) is a rename: positional calls work, keyword calls do not. ``self`` in a PyTorch
    docstring stands for the input tensor and only holds its place.
    """
    if ours.var_kw:
        return []                              # anything may be passed by keyword
    lacks, renames = {}, {}
    our_positional = ours.positional()
    for overload in theirs.overloads:
        positional = theirs.positional(overload)
        for param, _, required in overload:
            if param in ours.names or param in IGNORED_PARAMS or param.startswith("_") \
                    or param == "self" or param in lacks or param in renames:
                continue
            at = [n for n, _ in positional].index(param) if (param, required) in positional \
                else None
            if at is not None and at < len(our_positional) and required and \
                    our_positional[at][1] and our_positional[at][0] not in theirs.names:
                renames[param] = f"`{param}` to `{our_positional[at][0]}`"
            elif not (at is not None and at >= len(our_positional) and ours.var_pos):
                lacks[param] = f"`{param}`"     # (else taken by chainrule's *args)
    notes = ["lacks " + ", ".join(sorted(lacks.values()))] if lacks else []
    return notes + (["renames " + ", ".join(sorted(renames.values()))] if renames else [])


MISSING = object()


def attribute(owner, name: str):
    """``owner.name``, MISSING if absent; a property that fails on the sample is still there."""
    try:
        return getattr(owner, name)
    except AttributeError:
        return MISSING
    except Exception:                           # e.g. ``.H`` of a tensor of the wrong rank
        return inspect.getattr_static(owner, name, MISSING)


def classify(torch_ns: str, names: list[str], theirs, ours) -> dict[str, tuple[str, str]]:
    """{name: (status, how it differs)} for one namespace."""
    result = {}
    for name in names:
        if attribute(ours, name) is MISSING:
            result[name] = ("missing", "")
            continue
        notes = [NOTES.get(torch_ns, {}).get(name, "")]
        if torch_ns == "torch.optim.lr_scheduler" and name not in {"ReduceLROnPlateau",
                                                                   "LRScheduler"}:
            notes.append(_CLOSED)
        theirs_obj, ours_obj = attribute(theirs, name), attribute(ours, name)
        their_params = torch_params(theirs_obj, name) if callable(theirs_obj) else None
        our_params = from_inspect(ours_obj) if callable(ours_obj) else None
        if their_params and our_params:
            if {"inplace"} <= their_params.names & our_params.names and \
                    torch_ns in {"torch.nn", "torch.nn.functional"}:
                notes.append(INPLACE)
            notes += compare(their_params, our_params)
        notes = [note for note in notes if note]
        result[name] = ("differs", "; ".join(notes)) if notes else ("present", "")
    return result


def survey():
    """[(torch namespace, chainrule name, {name: (status, how)}, ranks or None)]."""
    import torch

    rows = []
    for torch_ns, cr_name in NAMESPACES:
        if torch_ns == "torch.Tensor":          # instances: bound methods, no ``self``
            theirs, ours = torch.zeros(2, 2), importlib.import_module("chainrule").zeros(2, 2)
        else:
            theirs, ours = importlib.import_module(torch_ns), chainrule_module(cr_name)
        if isinstance(ours, types.ModuleType):
            cr_name = ours.__name__
        tiers = {"torch": TORCH_NAMES, "torch.Tensor": TENSOR_NAMES}.get(torch_ns)
        ranks = curated(tiers) if tiers else None
        names = sorted(ranks) if ranks else public_names(torch_ns, theirs)
        rows.append((torch_ns, cr_name, classify(torch_ns, names, theirs, ours), ranks))
    return rows


def counts(result) -> tuple[int, int, int, int]:
    statuses = [status for status, _ in result.values()]
    return (statuses.count("present"), statuses.count("differs"), statuses.count("missing"),
            len(statuses))


def ordered(names: list[str], ranks: dict[str, int] | None) -> list[str]:
    """Most used first where there is a ranking; alphabetical regardless of case within."""
    return sorted(names, key=lambda n: (ranks[n] if ranks else 0, n.lower()))


def render(rows, torch_version: str) -> str:
    """The generated Markdown between the markers."""
    out = [
        f"Generated by `python tools/pytorch_coverage.py --write` against PyTorch "
        f"{torch_version}. For `torch` and `torch.Tensor` the names are a curated list of the "
        "names of tutorials and examples, ranked by use (everyday, common, occasional); for "
        "the other namespaces, all public names. *Present*: chainrule has the name and no "
        "known difference. *Differs*: a documented difference (see above), or PyTorch's "
        "signature has parameters that chainrule's lacks or names differently (a renamed "
        "parameter works when passed by position, not by keyword); `out`, `memory_format`, "
        "`layout`, `pin_memory`, `non_blocking` and the deprecated `size_average` and "
        "`reduce` are not counted. *Missing*: chainrule has no such name.",
        "",
        "| PyTorch | chainrule | present | differs | missing | total |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for torch_ns, cr_name, result, _ in rows:
        present, differs, missing, total = counts(result)
        out.append(f"| `{torch_ns}` | `{cr_name}` | {present} | {differs} | {missing} "
                   f"| {total} |")
    for torch_ns, cr_name, result, ranks in rows:
        out += ["", f"### `{torch_ns}` and `{cr_name}`", ""]
        missing = ordered([n for n, (s, _) in result.items() if s == "missing"], ranks)
        differs = ordered([n for n, (s, _) in result.items() if s == "differs"], None)
        if ranks and missing:
            out += ["Missing, by use:", ""]
            for tier, label in TIERS.items():
                names = ", ".join(f"`{n}`" for n in missing if ranks[n] == tier)
                out += [f"- {label}: {names or 'none'}."]
        else:
            out.append("Missing: " + (", ".join(f"`{n}`" for n in missing) or "none") + ".")
        if differs:
            out += ["", "Differs:", ""]
            out += [f"- `{name}`: {result[name][1]}" for name in differs]
    return "\n".join(out) + "\n"


def replace_section(page_text: str, body: str) -> str:
    block = f"{START}\n{body}{END}"
    if START in page_text and END in page_text:
        head, rest = page_text.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    return page_text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"


def current_section(page_text: str) -> str | None:
    if START not in page_text or END not in page_text:
        return None
    return page_text.split(START, 1)[1].split(END, 1)[0].removeprefix("\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the docs section")
    action.add_argument("--check", action="store_true", help="fail if the section is stale")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("pytorch_coverage: PyTorch is not installed; it is needed to list its API "
              "(pip install torch)", file=sys.stderr)
        return 2
    version = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    rows = survey()
    for torch_ns, cr_name, result, _ in rows:
        present, differs, missing, total = counts(result)
        print(f"{torch_ns:26} -> {cr_name:29} present {present:3}  differs {differs:3}  "
              f"missing {missing:3}  total {total:3}")
    body = render(rows, version)
    text = PAGE.read_text()
    if args.write:
        PAGE.write_text(replace_section(text, body))
        print(f"wrote {PAGE}")
    elif args.check and current_section(text) != body:
        print(f"{PAGE} is out of date: run python tools/pytorch_coverage.py --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`chainrule.utils`: where PyTorch code finds its utilities (``cr.utils.data.DataLoader``).

Example:
    >>> import chainrule as torch
    >>> loader = torch.utils.data.DataLoader(dataset, batch_size=32, shuffle=True)
"""

from chainrule.utils import data  # noqa: F401

"""Datasets from image folders: one sub-folder per class, read with Pillow (optional extra).

Images are resized (bilinear) to one size and scaled to [0, 1]; the result is ``(x, y, info)``
as for the other file loaders of :mod:`chainrule.data.files`: x float32 (N, C, H, W), y int64
class indices (N,) and ``info`` with ``files``, ``image_size`` and ``channels``.
"""

from __future__ import annotations

import os

import numpy as np

from chainrule.creation import as_tensor
from chainrule.data.targets import dataset_info, encode_classes

__all__ = ["IMAGE_SUFFIXES", "load_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm", ".pbm")


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading images needs Pillow: pip install 'chainrule[images]' "
                          "(or pip install pillow)") from None
    return Image


def _image_size(size) -> tuple | None:
    """(H, W) from 32, "32", "32x24" or (32, 24)."""
    if size is None:
        return None
    parts = str(size).lower().split("x") if np.ndim(size) == 0 else [str(p) for p in size]
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"image_size must be N or HxW, positive integers, got {size!r}")
    return tuple(int(p) for p in parts * (3 - len(parts)))


def _is_image(folder: str, name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES) and \
        os.path.isfile(os.path.join(folder, name))


def _decode(image) -> np.ndarray:
    """(1, h, w) for grey images, (3, h, w) for colour ones (alpha dropped), in [0, 1]."""
    if image.mode.startswith("I"):  # 16-bit grey PNG ("I;16", or "I" in some Pillow versions)
        return np.clip(np.asarray(image, dtype=np.float32) / 65535.0, 0.0, 1.0)[None]
    if image.mode in ("1", "L", "LA", "La", "F"):
        return np.asarray(image.convert("L"), dtype=np.float32)[None] / 255.0
    return np.asarray(image.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0


def _resize(Image, a: np.ndarray, size: tuple) -> np.ndarray:
    if a.shape[1:] == size:
        return a
    resample = getattr(Image, "Resampling", Image).BILINEAR
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(c)).resize(size[::-1], resample))
                for c in a]
    return np.clip(np.stack(channels), 0.0, 1.0)


def _image_files(root: str, require_targets: bool):
    """Image files and their class folder names (None for loose images)."""
    entries = sorted(e for e in os.listdir(root) if not e.startswith("."))
    folders = [e for e in entries if os.path.isdir(os.path.join(root, e))]
    loose = [os.path.join(root, e) for e in entries if _is_image(root, e)]
    if not folders:
        if require_targets or not loose:
            found = f"; it holds {len(loose)} images directly" if loose else ""
            raise ValueError(f"{root}: no class folders{found}; put the images of each class "
                             "in a sub-folder named after the class (cat/1.png, dog/2.png)")
        return loose, None
    files, labels = [], []
    for folder in folders:
        path = os.path.join(root, folder)
        images = [os.path.join(path, e) for e in sorted(os.listdir(path)) if _is_image(path, e)]
        if not images:
            raise ValueError(f"{root}: class folder {folder!r} holds no images "
                             f"({', '.join(IMAGE_SUFFIXES)})")
        files += images
        labels += [folder] * len(images)
    return files, labels


def load_image_folder(root: str | os.PathLike, image_size=None, *, channels: int | None = None,
                      class_names=None, require_targets: bool = True):
    """Images in one sub-folder per class (``root/cat/1.png``, ``root/dog/7.jpg``), with Pillow.

    Hidden entries and files without an image suffix (``IMAGE_SUFFIXES``) are skipped. Images
    are resized (bilinear) to ``image_size`` and scaled to [0, 1]: pixel / 255 (/ 65535 for
    16-bit grey).

    Args:
        root: the folder.
        image_size: N, (H, W) or "HxW" (default: the first image's size).
        channels: 1 (grey) or 3 (RGB, alpha dropped) (default: 1 if every image is grey, else 3).
        class_names: the classes in index order (default: the sorted folder names).
        require_targets: when False, a folder of loose images gives ``y = None``.

    Returns:
        (x, y, info): x float32 (N, C, H, W); y int64 (N,) or None; ``info["files"]`` lists the
        images in sample order.

    Raises:
        ImportError: without Pillow, naming ``pip install 'chainrule[images]'``.
        ValueError: for no class folders, an empty class folder, an unreadable image (naming
            the file) or a folder not in ``class_names``.
    """
    root = os.fspath(root)
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"image folder {root!r} does not exist")
    Image = _pillow()
    size = _image_size(image_size)
    files, labels = _image_files(root, require_targets)
    pictures = []
    for file in files:
        # NOTE: Pillow's decoders fail with many kinds of errors (OSError, SyntaxError,
        # ValueError, DecompressionBombError, ...): all mean this file cannot be used.
        try:
            with Image.open(file) as image:
                a = _decode(image)
        except Exception as err:
            raise ValueError(f"{file}: cannot read this image ({err})") from None
        size = size or a.shape[1:]
        pictures.append(_resize(Image, a, size))
    channels = channels or max(a.shape[0] for a in pictures)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as Pillow
    pictures = [a if a.shape[0] == channels else
                np.repeat(a, 3, axis=0) if channels == 3 else
                np.tensordot(weights, a, axes=1)[None] for a in pictures]
    x = np.stack(pictures).astype(np.float32)
    y = names = None
    if labels is not None:
        y, names = encode_classes(np.array(labels), lambda i: f"file {files[i]!r}",
                                   class_names, root)
    info = dataset_info(root, "images", "classification" if y is not None else None, names,
                 files=files, image_size=[int(s) for s in size], channels=int(channels))
    return as_tensor(x), (None if y is None else as_tensor(y)), info

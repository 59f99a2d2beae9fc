"""CIFAR-10 from the official binary archive, downloaded with a pinned SHA-256 and parsed strictly.

The binary version (``cifar-10-binary.tar.gz``, Krizhevsky 2009) holds, under
``cifar-10-batches-bin/``, five training batches ``data_batch_1.bin`` .. ``data_batch_5.bin`` and
``test_batch.bin`` (10,000 images each). Every record is 3,073 bytes: one label byte (0..9), then
the 32x32 image as 1,024 red, 1,024 green and 1,024 blue bytes, each channel row-major. So a
record's pixels, reshaped to (3, 32, 32), are the image in channel-first order. The archive is read
in place (members are never extracted to disk) and holds no pickled objects.
"""

from __future__ import annotations

import logging
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from .download import fetch

log = logging.getLogger(__name__)

__all__ = [
    "CIFAR10_ARCHIVE",
    "CIFAR10_MEMBERS",
    "CIFAR10_SHA256",
    "CIFAR10_URL",
    "CIFARFormatError",
    "load_cifar10",
    "parse_cifar_batch",
]

#: The official address of the binary version (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"

#: Pinned SHA-256 of the archive, as recorded by TensorFlow Datasets
#: (tensorflow_datasets/url_checksums/cifar10.txt: the URL above, 170,052,171 bytes).
CIFAR10_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"

#: Archive members read, by split.
CIFAR10_MEMBERS: dict[str, tuple[str, ...]] = {
    "train": tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("cifar-10-batches-bin/test_batch.bin",),
}

_SIDE, _CHANNELS, _N_CLASSES = 32, 3, 10
_RECORD = 1 + _CHANNELS * _SIDE * _SIDE  # 3,073 bytes: label, then R, G, B planes


class CIFARFormatError(ValueError):
    """The CIFAR-10 archive or one of its batches is corrupted, truncated or not what was expected."""


def parse_cifar_batch(data: bytes, source: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse a binary CIFAR-10 batch into images uint8 (n, 3, 32, 32) and labels int64 (n,).

    Raises :class:`CIFARFormatError` when the length is not a positive multiple of 3,073 bytes or a
    label is outside 0..9. ``source`` names the batch in error messages.
    """
    if not data or len(data) % _RECORD:
        raise CIFARFormatError(
            f"{source} is not a CIFAR-10 binary batch: {len(data)} bytes is not a positive multiple of "
            f"the {_RECORD}-byte record (1 label byte + 3x32x32 pixel bytes)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    if int(labels.max()) >= _N_CLASSES:
        bad = int(np.flatnonzero(labels >= _N_CLASSES)[0])
        raise CIFARFormatError(f"{source}: record {bad} has label {int(labels[bad])}, outside 0..9")
    images = records[:, 1:].reshape(-1, _CHANNELS, _SIDE, _SIDE).copy()  # (n, 3, 32, 32), writable
    return images, labels


def _read_members(archive: Path) -> dict[str, bytes]:
    """The bytes of every expected batch, read from the archive without extracting anything."""
    wanted = {name for names in CIFAR10_MEMBERS.values() for name in names}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name not in wanted:
                    continue
                if not member.isfile():
                    raise CIFARFormatError(f"{archive}: member {member.name} is not a regular file")
                with tar.extractfile(member) as fh:  # a regular file: never None
                    found[member.name] = fh.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise CIFARFormatError(
            f"{archive} is a corrupted or truncated archive ({exc}); delete it and download it again"
        ) from exc
    missing = sorted(wanted - set(found))
    if missing:
        raise CIFARFormatError(f"{archive} lacks {', '.join(missing)}: not the CIFAR-10 binary archive")
    return found


def load_cifar10(
    data_dir: str | os.PathLike,
    download: bool = True,
    *,
    url: str | None = None,
    sha256: str | None = None,
    timeout: float = 60,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)`` of CIFAR-10.

    Images are uint8 of shape (n, 3, 32, 32), channel-first (50,000 training images from
    ``data_batch_1..5`` and 10,000 test images for the real data), labels int64 in 0..9. The
    archive ``cifar-10-binary.tar.gz`` is looked for in ``data_dir`` and, when missing or
    corrupted and ``download`` is true, fetched from ``url`` (default :data:`CIFAR10_URL`). It is
    verified against ``sha256`` (default :data:`CIFAR10_SHA256`) before it is read. With
    ``download=False`` a missing file raises ``FileNotFoundError`` saying where to get it.
    Raises :class:`~sgdspectra.download.DownloadError` (offline, HTTP error) or
    :class:`~sgdspectra.download.ChecksumError`, each with instructions to supply the file by hand.
    """
    url = CIFAR10_URL if url is None else url
    sha = CIFAR10_SHA256 if sha256 is None else sha256
    dest = Path(data_dir) / CIFAR10_ARCHIVE
    fetch(url, dest, sha, timeout=timeout, what="CIFAR-10 (binary version)", download=download)
    members = _read_members(dest)
    out = []
    for split in ("train", "test"):
        parts = [parse_cifar_batch(members[name], f"{dest}:{name}") for name in CIFAR10_MEMBERS[split]]
        out += [np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])]
    x_train, y_train, x_test, y_test = out
    log.info("CIFAR-10: %d training and %d test images from %s", len(y_train), len(y_test), dest)
    return x_train, y_train, x_test, y_test

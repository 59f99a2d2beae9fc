"""MNIST from the four original IDX files, downloaded with pinned SHA-256 and parsed strictly.

The IDX format (LeCun et al.): a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, ``ndim``
big-endian uint32 dimensions, then the values in C order, big-endian. MNIST images are
``0x00000803`` (uint8, 3 dims: n x 28 x 28), labels ``0x00000801`` (uint8, 1 dim: n).
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .download import DownloadError, fetch

log = logging.getLogger(__name__)

__all__ = [
    "IDXFormatError",
    "MNIST_BASE_URL",
    "MNIST_FILES",
    "MNIST_SHA256",
    "load_mnist",
    "parse_idx",
    "read_idx",
]

#: Default mirror (the first one torchvision uses); any folder holding the four files works.
MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

#: The four files, by role.
MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

#: Pinned SHA-256 of the gzip files, as recorded by TensorFlow Datasets
#: (tensorflow_datasets/url_checksums/mnist.txt; sizes 9,912,422 / 28,881 / 1,648,877 / 4,542 bytes).
MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
_IMAGE_SIDE = 28


class IDXFormatError(ValueError):
    """An IDX file is corrupted, truncated, or not the kind of IDX file expected."""


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array of native byte order.

    Raises :class:`IDXFormatError` on a bad magic number, a truncated header or body, or
    trailing bytes. ``source`` names the file in error messages.
    """

    def fail(why: str) -> IDXFormatError:
        return IDXFormatError(f"{source} is not a valid IDX file: {why}")

    if len(data) < 4:
        raise fail(f"only {len(data)} bytes, too short for the 4-byte magic number")
    if data[0] != 0 or data[1] != 0:
        raise fail(f"magic number starts with {data[:2].hex()}, not 0000")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise fail(f"unknown data type code 0x{type_code:02x}")
    if ndim == 0:
        raise fail("zero dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise fail(f"header truncated: {ndim} dimensions need {header} bytes, file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(data) - header
    if body < expected:
        raise fail(f"truncated: shape {shape} needs {expected} bytes of data, found {body}")
    if body > expected:
        raise fail(f"{body - expected} unexpected trailing bytes after shape {shape}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, writable copy


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not (detected from its first bytes)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise IDXFormatError(
                f"{path} is a corrupted or truncated gzip file ({exc}); delete it and download it again"
            ) from exc
    try:
        return parse_idx(raw, source=str(path))
    except IDXFormatError as exc:
        raise IDXFormatError(f"{exc}; delete it and download it again") from None


def _check_images(x: np.ndarray, path: Path) -> None:
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (_IMAGE_SIDE, _IMAGE_SIDE):
        raise IDXFormatError(
            f"{path}: expected uint8 images of shape (n, 28, 28), got {x.dtype} {x.shape}"
        )


def _check_labels(y: np.ndarray, n_images: int, path: Path) -> None:
    if y.dtype != np.uint8 or y.ndim != 1:
        raise IDXFormatError(f"{path}: expected a uint8 label vector, got {y.dtype} {y.shape}")
    if y.shape[0] != n_images:
        raise IDXFormatError(f"{path}: {y.shape[0]} labels for {n_images} images")
    if y.size and int(y.max()) > 9:
        raise IDXFormatError(f"{path}: label {int(y.max())} outside 0..9")


def load_mnist(
    data_dir: str | os.PathLike,
    download: bool = True,
    *,
    base_url: str = MNIST_BASE_URL,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)`` of MNIST.

    Images are uint8 of shape (n, 28, 28) (60,000 training and 10,000 test images for the real
    data), labels int64 of shape (n,) in 0..9. The four gzip files are looked for in ``data_dir``
    and, when missing or corrupted and ``download`` is true, fetched from ``base_url`` (a folder
    URL). Every file is verified against ``checksums`` (file name -> SHA-256, default
    :data:`MNIST_SHA256`). With ``download=False`` a missing file raises ``FileNotFoundError``
    saying where to get it.
    """
    data_dir = Path(data_dir)
    hashes = dict(MNIST_SHA256 if checksums is None else checksums)
    base = base_url if base_url.endswith("/") else base_url + "/"
    paths: dict[str, Path] = {}
    failures: list[DownloadError] = []
    for role, filename in MNIST_FILES.items():
        if filename not in hashes:
            raise ValueError(f"no SHA-256 given for {filename}")
        dest = data_dir / filename
        try:
            fetch(base + filename, dest, hashes[filename], timeout=timeout, what=f"MNIST {filename}",
                  download=download)
        except DownloadError as exc:
            if not download:  # a local file with the wrong hash
                raise
            failures.append(exc)  # keep going: the message lists every missing file at once
            continue
        paths[role] = dest
    if failures:
        if len(failures) == 1:
            raise failures[0]
        raise DownloadError(f"{len(failures)} MNIST files could not be obtained:\n" + "\n".join(map(str, failures)))

    x_train = read_idx(paths["train_images"])
    _check_images(x_train, paths["train_images"])
    y_train = read_idx(paths["train_labels"])
    _check_labels(y_train, x_train.shape[0], paths["train_labels"])
    x_test = read_idx(paths["test_images"])
    _check_images(x_test, paths["test_images"])
    y_test = read_idx(paths["test_labels"])
    _check_labels(y_test, x_test.shape[0], paths["test_labels"])
    log.info("MNIST: %d training and %d test images from %s", x_train.shape[0], x_test.shape[0], data_dir)
    return x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64)

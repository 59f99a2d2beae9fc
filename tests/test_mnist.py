"""MNIST loader: strict IDX parsing and checksummed download from a local HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import serve_directory

from sgdspectra.download import ChecksumError
from sgdspectra.mnist import MNIST_FILES, MNIST_SHA256, IDXFormatError, load_mnist, parse_idx, read_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Encode ``array`` as an IDX file (independently of the parser under test)."""
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    return header + big_endian.tobytes()


@pytest.fixture
def fake_mnist(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A served folder with tiny valid MNIST-style files (5 train, 3 test images)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "train_labels": np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "test_labels": np.array([7, 2, 1], dtype=np.uint8),
    }
    root = tmp_path / "served"
    root.mkdir()
    for role, filename in MNIST_FILES.items():
        (root / filename).write_bytes(gzip.compress(idx_bytes(arrays[role])))
    return root, arrays


@pytest.fixture
def server(fake_mnist: tuple[Path, dict[str, np.ndarray]]) -> Iterator[tuple[str, list[str]]]:
    root, _ = fake_mnist
    with serve_directory(root) as (url, requests):
        yield url + "/", requests


def _local_copy(root: Path, data_dir: Path) -> Path:
    """``data_dir`` holding a copy of the four served files (for the offline tests)."""
    data_dir.mkdir()
    for f in MNIST_FILES.values():
        (data_dir / f).write_bytes((root / f).read_bytes())
    return data_dir


def _checksums(root: Path) -> dict[str, str]:
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in MNIST_FILES.values()}


def test_pinned_hashes_cover_the_four_files() -> None:
    assert set(MNIST_SHA256) == set(MNIST_FILES.values())
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in MNIST_SHA256.values())


def test_load_mnist_downloads_verifies_and_parses_exactly(
    fake_mnist: tuple[Path, dict[str, np.ndarray]], server: tuple[str, list[str]], tmp_path: Path
) -> None:
    root, arrays = fake_mnist
    base_url, requests = server
    data_dir = tmp_path / "data"
    x_train, y_train, x_test, y_test = load_mnist(data_dir, base_url=base_url, checksums=_checksums(root))
    assert x_train.dtype == np.uint8 and x_train.shape == (5, 28, 28)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    np.testing.assert_array_equal(x_test, arrays["test_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])
    assert sorted(requests) == sorted(f"/{f}" for f in MNIST_FILES.values())

    # Second call: everything is local and verified, the server is not contacted.
    again = load_mnist(data_dir, base_url=base_url.rstrip("/"), checksums=_checksums(root))
    np.testing.assert_array_equal(again[0], arrays["train_images"])
    assert len(requests) == 4
    # And download=False works on the local copy.
    offline = load_mnist(data_dir, download=False, checksums=_checksums(root))
    np.testing.assert_array_equal(offline[3], arrays["test_labels"])


def test_load_mnist_wrong_checksum_leaves_nothing(
    fake_mnist: tuple[Path, dict[str, np.ndarray]], server: tuple[str, list[str]], tmp_path: Path
) -> None:
    root, _ = fake_mnist
    base_url, _ = server
    sums = _checksums(root)
    sums["t10k-images-idx3-ubyte.gz"] = "0" * 64
    data_dir = tmp_path / "data"
    with pytest.raises(ChecksumError, match="0" * 64):
        load_mnist(data_dir, base_url=base_url, checksums=sums)
    assert not (data_dir / "t10k-images-idx3-ubyte.gz").exists()


def test_load_mnist_offline_without_files(tmp_path: Path) -> None:
    expected = "put it at .*train-images-idx3-ubyte.gz; expected SHA-256 440fcabf"
    with pytest.raises(FileNotFoundError, match=expected):
        load_mnist(tmp_path, download=False)


def test_truncated_file_gives_a_clear_error(
    fake_mnist: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    root, arrays = fake_mnist
    data_dir = _local_copy(root, tmp_path / "data")
    # Cut the (uncompressed) image body short, then gzip it again: a valid gzip of a truncated IDX.
    raw = idx_bytes(arrays["train_images"])[:-100]
    (data_dir / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    expected = r"truncated: shape \(5, 28, 28\) needs 3920 bytes of data, found 3820"
    with pytest.raises(IDXFormatError, match=expected):
        load_mnist(data_dir, download=False, checksums=_checksums(data_dir))
    # A cut-short gzip stream.
    gz = gzip.compress(idx_bytes(arrays["test_images"]))
    (data_dir / "t10k-images-idx3-ubyte.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(IDXFormatError, match="corrupted or truncated gzip"):
        read_idx(data_dir / "t10k-images-idx3-ubyte.gz")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic number starts with 0100"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown data type code 0x07"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 5), "header truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"\x00\x01\x02", "1 unexpected trailing bytes"),
    ],
)
def test_parse_idx_rejects_malformed_input(data: bytes, message: str) -> None:
    with pytest.raises(IDXFormatError, match=message):
        parse_idx(data)


def test_parse_idx_other_dtypes_round_trip(tmp_path: Path) -> None:
    ints = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    out = parse_idx(idx_bytes(ints, 0x0C))
    assert out.dtype == np.dtype("int32") and out.dtype.isnative
    np.testing.assert_array_equal(out, ints)
    floats = np.linspace(-1, 1, 7)
    p = tmp_path / "f.idx"  # uncompressed file
    p.write_bytes(idx_bytes(floats, 0x0E))
    np.testing.assert_array_equal(read_idx(p), floats)


def test_wrong_kind_of_idx_file_is_rejected(
    fake_mnist: tuple[Path, dict[str, np.ndarray]], tmp_path: Path
) -> None:
    root, arrays = fake_mnist
    data_dir = _local_copy(root, tmp_path / "data")
    # Labels file swapped with one that has too few labels.
    short = gzip.compress(idx_bytes(arrays["train_labels"][:4]))
    (data_dir / "train-labels-idx1-ubyte.gz").write_bytes(short)
    with pytest.raises(IDXFormatError, match="4 labels for 5 images"):
        load_mnist(data_dir, download=False, checksums=_checksums(data_dir))

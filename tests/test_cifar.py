"""CIFAR-10 loader: strict parsing of the binary batches, checksummed download from a local HTTP
server, offline and corruption errors, per-channel standardisation, rule download_data."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import cifar_archive_bytes, serve_directory, write_fake_cifar10

from sgdspectra import cifar, pipeline
from sgdspectra.cifar import CIFAR10_ARCHIVE, CIFARFormatError, load_cifar10, parse_cifar_batch
from sgdspectra.config import DataConfig
from sgdspectra.data import channel_mean_std, load_dataset
from sgdspectra.download import ChecksumError, DownloadError, sha256sum


@pytest.fixture
def fake_cifar(tmp_path: Path) -> tuple[Path, str, dict[str, np.ndarray]]:
    """A served folder holding a small valid archive (5 x 16 training and 16 test images)."""
    root = tmp_path / "served"
    sha, arrays = write_fake_cifar10(root)
    return root, sha, arrays


@pytest.fixture
def server(fake_cifar: tuple[Path, str, dict[str, np.ndarray]]) -> Iterator[tuple[str, list[str]]]:
    with serve_directory(fake_cifar[0]) as (url, requests):
        yield f"{url}/{CIFAR10_ARCHIVE}", requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pinned_address_and_hash() -> None:
    assert cifar.CIFAR10_URL == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    assert len(cifar.CIFAR10_SHA256) == 64 and int(cifar.CIFAR10_SHA256, 16) >= 0
    assert cifar.CIFAR10_SHA256 == cifar.CIFAR10_SHA256.lower()


def test_parse_batch_layout_is_label_then_red_green_blue_planes() -> None:
    record = np.zeros(3073, dtype=np.uint8)
    record[0] = 7  # label
    record[1 + 0 * 1024 + 2 * 32 + 5] = 200  # red, row 2, column 5
    record[1 + 1 * 1024 + 31 * 32 + 0] = 100  # green, row 31, column 0
    record[1 + 2 * 1024 + 0 * 32 + 31] = 50  # blue, row 0, column 31
    second = np.full(3073, 9, dtype=np.uint8)
    x, y = parse_cifar_batch(record.tobytes() + second.tobytes())
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.uint8 and x.flags.writeable
    assert y.dtype == np.int64 and list(y) == [7, 9]
    assert (x[0, 0, 2, 5], x[0, 1, 31, 0], x[0, 2, 0, 31]) == (200, 100, 50)
    assert int(x[0].sum()) == 350 and bool((x[1] == 9).all())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "0 bytes is not a positive multiple of the 3073-byte record"),
        (bytes(3073 * 2 - 1), "6145 bytes is not a positive multiple"),
        (bytes(3073) + bytes([10]) + bytes(3072), "record 1 has label 10, outside 0..9"),
    ],
)
def test_parse_batch_rejects_malformed_input(data: bytes, message: str) -> None:
    with pytest.raises(CIFARFormatError, match=message):
        parse_cifar_batch(data)


def test_load_downloads_verifies_and_parses_exactly(
    fake_cifar: tuple[Path, str, dict[str, np.ndarray]], server: tuple[str, list[str]], tmp_path: Path
) -> None:
    _, sha, arrays = fake_cifar
    url, requests = server
    data_dir = tmp_path / "data"
    x_train, y_train, x_test, y_test = load_cifar10(data_dir, url=url, sha256=sha)
    assert x_train.shape == (80, 3, 32, 32) and x_test.shape == (16, 3, 32, 32)
    np.testing.assert_array_equal(x_train, arrays["x_train"])  # batches 1..5 in order
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert requests == [f"/{CIFAR10_ARCHIVE}"]
    # Second call: the verified local archive is used, the server is not contacted.
    again = load_cifar10(data_dir, url=url, sha256=sha)
    np.testing.assert_array_equal(again[1], arrays["y_train"])
    assert len(requests) == 1
    offline = load_cifar10(data_dir, download=False, sha256=sha)
    np.testing.assert_array_equal(offline[2], arrays["x_test"])


def test_checksum_mismatch_leaves_nothing(server: tuple[str, list[str]], tmp_path: Path) -> None:
    url, _ = server
    data_dir = tmp_path / "data"
    with pytest.raises(ChecksumError, match="corrupted or has changed: its SHA-256 is [0-9a-f]{64} but 0{64}"):
        load_cifar10(data_dir, url=url, sha256="0" * 64)
    assert not (data_dir / CIFAR10_ARCHIVE).exists()
    assert not list(data_dir.glob("*.part"))


def test_offline_connection_refused_says_what_to_do(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/{CIFAR10_ARCHIVE}"
    data_dir = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        load_cifar10(data_dir, url=url, timeout=5)
    message = str(err.value)
    assert not isinstance(err.value, ChecksumError)
    assert f"could not download CIFAR-10 (binary version) from {url}" in message
    assert "the server could not be reached" in message
    assert f"put it at {data_dir / CIFAR10_ARCHIVE}; expected SHA-256 {cifar.CIFAR10_SHA256}" in message
    assert not (data_dir / CIFAR10_ARCHIVE).exists()


def test_missing_archive_without_download(tmp_path: Path) -> None:
    expected = f"put it at .*{CIFAR10_ARCHIVE}; expected SHA-256 {cifar.CIFAR10_SHA256}"
    with pytest.raises(FileNotFoundError, match=expected):
        load_cifar10(tmp_path, download=False)


def test_local_archive_with_wrong_hash_without_download(fake_cifar, tmp_path: Path) -> None:
    root, sha, _ = fake_cifar
    with pytest.raises(ChecksumError, match=f"has SHA-256 {sha}, expected {cifar.CIFAR10_SHA256}"):
        load_cifar10(root, download=False)


def _archive(tmp_path: Path, members: dict[str, bytes], symlink: str | None = None) -> tuple[Path, str]:
    import hashlib

    data = cifar_archive_bytes(members, symlink)
    folder = tmp_path / "bad"
    folder.mkdir(exist_ok=True)
    (folder / CIFAR10_ARCHIVE).write_bytes(data)
    return folder, hashlib.sha256(data).hexdigest()


def test_corrupted_or_incomplete_archives_are_refused(fake_cifar, tmp_path: Path) -> None:
    record = bytes(3073)
    batches = {f"data_batch_{i}.bin": record for i in range(1, 6)} | {"test_batch.bin": record}
    folder, sha = _archive(tmp_path, {k: v for k, v in batches.items() if k != "data_batch_3.bin"})
    with pytest.raises(CIFARFormatError, match="lacks cifar-10-batches-bin/data_batch_3.bin"):
        load_cifar10(folder, download=False, sha256=sha)
    folder, sha = _archive(tmp_path, {k: v for k, v in batches.items() if k != "test_batch.bin"}, symlink="test_batch.bin")
    with pytest.raises(CIFARFormatError, match="test_batch.bin is not a regular file"):
        load_cifar10(folder, download=False, sha256=sha)
    folder, sha = _archive(tmp_path, batches | {"data_batch_2.bin": record[:-1]})
    with pytest.raises(CIFARFormatError, match=r"data_batch_2.bin is not a CIFAR-10 binary batch: 3072 bytes"):
        load_cifar10(folder, download=False, sha256=sha)
    # A cut-short gzip stream (its hash pinned, so only the parser can object).
    root, _, _ = fake_cifar
    raw = (root / CIFAR10_ARCHIVE).read_bytes()
    (folder / CIFAR10_ARCHIVE).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CIFARFormatError, match="corrupted or truncated archive"):
        load_cifar10(folder, download=False, sha256=sha256sum(folder / CIFAR10_ARCHIVE))


def test_channel_mean_std_is_exact() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(7, 3, 5, 4), dtype=np.uint8)
    mean, std = channel_mean_std(x)
    per_channel = x.transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64)
    np.testing.assert_allclose(mean, per_channel.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(std, per_channel.std(axis=1), rtol=1e-12)


def test_dataset_uses_the_official_split_and_training_channel_statistics(fake_cifar, monkeypatch) -> None:
    root, sha, arrays = fake_cifar
    monkeypatch.setattr(cifar, "CIFAR10_SHA256", sha)
    data = load_dataset(DataConfig(name="cifar10", dir=str(root), val_fraction=0.5))  # val_fraction ignored
    assert data.name == "cifar10" and data.n_classes == 10
    assert data.x_train.shape == (80, 3072) and data.x_val.shape == (16, 3072)
    assert data.x_train.dtype == np.float32
    np.testing.assert_array_equal(data.y_train, arrays["y_train"])
    np.testing.assert_array_equal(data.y_val, arrays["y_test"])
    train = data.x_train.reshape(80, 3, 32, 32).astype(np.float64)
    np.testing.assert_allclose(train.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=(0, 2, 3)), 1.0, rtol=1e-5)
    # Validation images are standardised with the training statistics, channel by channel.
    mean, std = channel_mean_std(arrays["x_train"])
    expected = (arrays["x_test"][3, 2, 10, 7] - mean[2]) / std[2]
    assert data.x_val.reshape(16, 3, 32, 32)[3, 2, 10, 7] == pytest.approx(expected, rel=1e-5)


def test_rule_download_data_writes_the_marker_only_after_verification(fake_cifar, server, tmp_path, monkeypatch) -> None:
    _, sha, _ = fake_cifar
    url, _ = server
    monkeypatch.setattr(cifar, "CIFAR10_SHA256", sha)
    monkeypatch.setattr(cifar, "CIFAR10_URL", f"http://127.0.0.1:{_free_port()}/{CIFAR10_ARCHIVE}")
    marker = tmp_path / "data" / "cifar10.verified"
    with pytest.raises(DownloadError, match="could not be reached"):
        pipeline.download_data("cifar10", tmp_path / "data", marker)
    assert not marker.exists()
    monkeypatch.setattr(cifar, "CIFAR10_URL", url)
    pipeline.download_data("cifar10", tmp_path / "data", marker)
    assert marker.read_text().startswith("cifar10: all files present")
    assert sha256sum(tmp_path / "data" / CIFAR10_ARCHIVE) == sha

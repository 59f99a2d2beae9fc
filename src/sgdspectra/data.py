"""Image data sets. The default one ships with scikit-learn: 1,797 real 8x8 handwritten digits;
MNIST (:mod:`sgdspectra.mnist`) and CIFAR-10 (:mod:`sgdspectra.cifar`) are downloaded."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .config import IMAGE_DATASETS, DataConfig

log = logging.getLogger(__name__)

__all__ = ["ArrayDataset", "channel_mean_std", "load_dataset", "train_val_split"]


@dataclass(frozen=True)
class ArrayDataset:
    """A classification data set split into train and validation arrays (float32 inputs)."""

    name: str
    x_train: np.ndarray  # (n_train, d)
    y_train: np.ndarray  # (n_train,) int64
    x_val: np.ndarray  # (n_val, d)
    y_val: np.ndarray  # (n_val,) int64
    n_classes: int

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])


def train_val_split(
    n: int, y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of ``range(n)`` into sorted train and validation indices, fixed by ``seed``."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        n_val = int(round(val_fraction * idx.size))
        val.append(idx[:n_val])
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(n), val_idx)
    return train_idx, val_idx


def _load_digits() -> tuple[np.ndarray, np.ndarray, int]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel intensities are 0..16; scale to [0, 1] then standardise with global statistics.
    return _standardise(bunch.data.astype(np.float64) / 16.0), bunch.target.astype(np.int64), 10


def _standardise(x: np.ndarray) -> np.ndarray:
    return ((x - x.mean()) / x.std()).astype(np.float32)


def load_mnist_dataset(cfg: DataConfig) -> ArrayDataset:
    """MNIST from ``cfg.dir`` (downloaded and checksummed if missing): the official 60,000/10,000
    split, the test set serving as validation; pixels scaled to [0, 1], then standardised."""
    from .mnist import load_mnist

    x_tr, y_tr, x_te, y_te = load_mnist(cfg.dir)
    scale = lambda a: a.reshape(len(a), -1).astype(np.float64) / 255.0  # noqa: E731
    x_all = _standardise(np.concatenate([scale(x_tr), scale(x_te)]))
    return ArrayDataset("mnist", x_all[: len(y_tr)], y_tr, x_all[len(y_tr):], y_te, 10)  # labels int64 already


def channel_mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) standard deviation of uint8 images (n, channels, h, w),
    computed exactly from each channel's histogram of the 256 byte values (no float copy)."""
    values = np.arange(256, dtype=np.float64)
    mean, std = np.empty(x.shape[1]), np.empty(x.shape[1])
    for c in range(x.shape[1]):
        counts = np.bincount(x[:, c].ravel(), minlength=256).astype(np.float64)
        p = counts / counts.sum()
        mean[c] = p @ values
        std[c] = np.sqrt(p @ (values - mean[c]) ** 2)
    return mean, std


def load_cifar10_dataset(cfg: DataConfig) -> ArrayDataset:
    """CIFAR-10 from ``cfg.dir`` (downloaded and checksummed if missing): the official split, the
    50,000 images of data_batch_1..5 for training and the 10,000 of test_batch as validation.
    Each channel is standardised with the mean and std of the training images; inputs are flat
    (n, 3072) in channel-first order (reshaped to (n, 3, 32, 32) by the cnn and the vit)."""
    from .cifar import load_cifar10

    x_tr, y_tr, x_te, y_te = load_cifar10(cfg.dir)
    mean, std = channel_mean_std(x_tr)
    log.info("CIFAR-10 channel mean %s, std %s (pixel values 0..255)", np.round(mean, 2), np.round(std, 2))

    def scale(a: np.ndarray) -> np.ndarray:  # (n, 3, 32, 32) uint8 -> (n, 3072) float32
        out = a.astype(np.float32)
        out -= mean.astype(np.float32)[None, :, None, None]
        out /= std.astype(np.float32)[None, :, None, None]
        return out.reshape(len(a), -1)

    return ArrayDataset("cifar10", scale(x_tr), y_tr, scale(x_te), y_te, 10)


def load_dataset(cfg: DataConfig) -> ArrayDataset:
    """Load the image data set named in ``cfg`` and split it deterministically."""
    if cfg.name == "mnist":
        return load_mnist_dataset(cfg)
    if cfg.name == "cifar10":
        return load_cifar10_dataset(cfg)
    if cfg.name != "digits":
        raise ValueError(f"unknown image data set {cfg.name!r}; available: {', '.join(IMAGE_DATASETS)}")
    x, y, n_classes = _load_digits()
    tr, va = train_val_split(len(y), y, cfg.val_fraction, cfg.split_seed)
    log.info("data set %s: %d train, %d validation examples", cfg.name, tr.size, va.size)
    return ArrayDataset(cfg.name, x[tr], y[tr], x[va], y[va], n_classes)

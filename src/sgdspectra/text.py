"""Character-level text corpora, a character tokenizer, and random/evenly spaced token windows.

Three corpora:

- ``pydoc``: the English reference text that ships with every CPython (``pydoc_data.topics``:
  the language reference and library topics behind ``help()``), about 0.5 MB. Offline, real
  prose and code; identical for a given Python version.
- ``tiny_shakespeare``: Karpathy's 1.1 MB Tiny Shakespeare, downloaded once with a pinned SHA-256
  (see :data:`REMOTE_CORPORA`).
- ``text_file``: any UTF-8 plain-text file given by path.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np
import torch

from .config import TEXT_DATASETS
from .download import fetch

log = logging.getLogger(__name__)

__all__ = [
    "CORPORA",
    "REMOTE_CORPORA",
    "CharTokenizer",
    "RemoteFile",
    "TextDataset",
    "eval_windows",
    "load_corpus",
    "load_text_dataset",
    "sample_windows",
]

#: Names accepted by :func:`load_corpus`.
CORPORA: tuple[str, ...] = TEXT_DATASETS


class RemoteFile(NamedTuple):
    """A downloadable file: where it comes from, its pinned SHA-256 and its local file name."""

    url: str
    sha256: str
    filename: str


#: Downloadable corpora. The Tiny Shakespeare hash is the one TensorFlow Datasets records for this
#: URL (tensorflow_datasets/datasets/tiny_shakespeare/checksums.tsv: 1,115,394 bytes).
REMOTE_CORPORA: dict[str, RemoteFile] = {
    "tiny_shakespeare": RemoteFile(
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        filename="tiny_shakespeare.txt",
    ),
}

Tokens = TypeVar("Tokens", np.ndarray, torch.Tensor)


# --------------------------------------------------------------------------------------------
# corpora


def _pydoc_text() -> str:
    from pydoc_data.topics import topics

    # Sorted keys make the text independent of dict order; blank lines separate the topics.
    return "\n\n".join(topics[key] for key in sorted(topics))


def _read_text_file(path: str | os.PathLike) -> str:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"text corpus file not found: {path} (set the corpus path to an existing UTF-8 file)"
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"text corpus file {path} is not valid UTF-8 (byte {exc.start}: {exc.reason}); "
            "convert it to UTF-8 plain text first"
        ) from exc
    if not text.strip():
        raise ValueError(f"text corpus file {path} is empty")
    return text


def load_corpus(
    name: str,
    path: str | os.PathLike | None = None,
    data_dir: str | os.PathLike = "results/data",
) -> str:
    """Return the full text of corpus ``name`` (one of :data:`CORPORA`).

    ``path`` is required for ``text_file``; for ``tiny_shakespeare`` it overrides the download
    location (default ``data_dir/tiny_shakespeare.txt``), and the file there is checksummed too.
    A downloaded corpus is fetched only when missing or corrupted; offline, a
    :class:`~sgdspectra.download.DownloadError` says what to download and where to put it.
    """
    if name == "pydoc":
        if path is not None:
            raise ValueError("the pydoc corpus ships with Python; it takes no path")
        text = _pydoc_text()
    elif name == "text_file":
        if path is None:
            raise ValueError("corpus 'text_file' needs a path to a UTF-8 plain-text file")
        text = _read_text_file(path)
    elif name in REMOTE_CORPORA:
        remote = REMOTE_CORPORA[name]
        dest = Path(path) if path is not None else Path(data_dir) / remote.filename
        fetch(remote.url, dest, remote.sha256, what=f"corpus {name}")
        text = _read_text_file(dest)
    else:
        raise ValueError(f"unknown corpus {name!r}; available: {', '.join(CORPORA)}")
    log.info("corpus %s: %d characters, %d distinct", name, len(text), len(set(text)))
    return text


# --------------------------------------------------------------------------------------------
# tokenizer and data set


@dataclass(frozen=True)
class CharTokenizer:
    """Maps each distinct character to its rank in code-point order (``vocab`` is sorted)."""

    vocab: tuple[str, ...]
    _codes: np.ndarray = field(init=False, repr=False, compare=False)  # (vocab_size,) uint32

    def __post_init__(self) -> None:
        if not self.vocab:
            raise ValueError("empty vocabulary")
        if any(len(c) != 1 for c in self.vocab):
            raise ValueError("every vocabulary entry must be a single character")
        codes = np.array([ord(c) for c in self.vocab], dtype=np.uint32)
        if np.any(np.diff(codes.astype(np.int64)) <= 0):
            raise ValueError("vocabulary must be sorted and free of duplicates")
        object.__setattr__(self, "_codes", codes)

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose vocabulary is the sorted set of characters of ``text``."""
        return cls(tuple(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` as an int64 array of shape (len(text),)."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")  # (n,)
        ids = np.searchsorted(self._codes, codes)
        ids_clipped = np.minimum(ids, self.vocab_size - 1)
        unknown = self._codes[ids_clipped] != codes
        if np.any(unknown):
            missing = sorted({chr(c) for c in codes[unknown][:1000]})
            raise ValueError(f"characters not in the vocabulary: {missing[:20]!r}")
        return ids.astype(np.int64)

    def decode(self, ids: np.ndarray | torch.Tensor | list[int]) -> str:
        """The text of the token ids ``ids`` (any 1-D integer sequence)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.detach().cpu().numpy()
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size}), got [{arr.min()}, {arr.max()}]")
        return self._codes[arr].astype("<u4").tobytes().decode("utf-32-le")


@dataclass(frozen=True)
class TextDataset:
    """A tokenized corpus split into a leading training part and a trailing validation part."""

    name: str
    tokenizer: CharTokenizer
    train_tokens: np.ndarray  # (n_train,) int64
    val_tokens: np.ndarray  # (n_val,) int64

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size


def load_text_dataset(
    name: str,
    path: str | os.PathLike | None = None,
    data_dir: str | os.PathLike = "results/data",
    val_fraction: float = 0.1,
) -> TextDataset:
    """Load corpus ``name``, tokenize it by character and split it deterministically.

    The vocabulary is built from the whole corpus. The first ``1 - val_fraction`` of the tokens
    (rounded) are for training, the rest for validation: no shuffling, so no text leaks across.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    text = load_corpus(name, path=path, data_dir=data_dir)
    tokenizer = CharTokenizer.from_text(text)
    tokens = tokenizer.encode(text)
    n_val = int(round(val_fraction * tokens.size))
    n_train = tokens.size - n_val
    if n_val < 2 or n_train < 2:
        raise ValueError(
            f"corpus {name!r} has {tokens.size} characters: too short for a {val_fraction} validation split"
        )
    log.info(
        "text data set %s: %d training and %d validation tokens, vocabulary %d",
        name, n_train, n_val, tokenizer.vocab_size,
    )  # fmt: skip
    return TextDataset(name, tokenizer, tokens[:n_train].copy(), tokens[n_train:].copy())


# --------------------------------------------------------------------------------------------
# windows


def _n_starts(tokens: np.ndarray | torch.Tensor, block_size: int) -> int:
    """Number of valid window starts: a window needs block_size + 1 tokens (inputs and targets)."""
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    n = int(tokens.shape[0])
    if tokens.ndim != 1 or n < block_size + 1:
        raise ValueError(
            f"need a 1-D token sequence of at least {block_size + 1} tokens, got shape {tuple(tokens.shape)}"
        )
    return n - block_size


def _windows(tokens: Tokens, starts: np.ndarray | torch.Tensor, block_size: int) -> tuple[Tokens, Tokens]:
    if isinstance(tokens, torch.Tensor):
        starts_t = torch.as_tensor(starts, dtype=torch.int64).to(tokens.device)
        idx = starts_t[:, None] + torch.arange(block_size + 1, device=tokens.device)[None, :]
    else:
        starts_np = starts.cpu().numpy() if isinstance(starts, torch.Tensor) else np.asarray(starts)
        idx = starts_np.astype(np.int64)[:, None] + np.arange(block_size + 1)[None, :]
    chunk = tokens[idx]  # (n_windows, block_size + 1)
    return chunk[:, :-1], chunk[:, 1:]


def sample_windows(
    tokens: Tokens,
    block_size: int,
    batch_size: int,
    generator: np.random.Generator | torch.Generator,
) -> tuple[Tokens, Tokens]:
    """Draw ``batch_size`` random contiguous windows: inputs ``x`` and next-token targets ``y``.

    ``x[b] = tokens[s_b : s_b + block_size]`` and ``y[b] = tokens[s_b + 1 : s_b + block_size + 1]``
    with starts ``s_b`` drawn uniformly (with replacement) from ``generator``. Both have shape
    (batch_size, block_size) and the type (numpy array or torch tensor, device) of ``tokens``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    n_starts = _n_starts(tokens, block_size)
    starts: np.ndarray | torch.Tensor
    if isinstance(generator, np.random.Generator):
        starts = generator.integers(0, n_starts, size=batch_size)
    elif isinstance(generator, torch.Generator):
        starts = torch.randint(n_starts, (batch_size,), generator=generator, device=generator.device)
    else:
        raise TypeError(
            f"generator must be a numpy Generator or a torch Generator, got {type(generator).__name__}"
        )
    return _windows(tokens, starts, block_size)


def eval_windows(tokens: Tokens, block_size: int, n_windows: int) -> tuple[Tokens, Tokens]:
    """``n_windows`` evenly spaced windows (first at the start, last at the end) for validation.

    Deterministic, so successive validation-loss estimates see the same text. If fewer than
    ``n_windows`` distinct starts exist, every start is used once. Shapes and types as in
    :func:`sample_windows`.
    """
    if n_windows < 1:
        raise ValueError(f"n_windows must be positive, got {n_windows}")
    n_starts = _n_starts(tokens, block_size)
    if n_windows >= n_starts:
        starts = np.arange(n_starts)
    else:
        starts = np.round(np.linspace(0, n_starts - 1, n_windows)).astype(np.int64)
    return _windows(tokens, starts, block_size)

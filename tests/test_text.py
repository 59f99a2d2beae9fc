"""Character corpora, tokenizer, deterministic split and token windows."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from sgdspectra import text as text_mod
from sgdspectra.download import DownloadError
from sgdspectra.text import (
    REMOTE_CORPORA,
    CharTokenizer,
    RemoteFile,
    eval_windows,
    load_corpus,
    load_text_dataset,
    sample_windows,
)


def test_pydoc_corpus_is_large_real_text_and_deterministic() -> None:
    a = load_corpus("pydoc")
    b = load_corpus("pydoc")
    assert a == b
    assert len(a.encode("utf-8")) > 100_000
    assert "the" in a and "def " in a
    assert 50 < len(set(a)) < 500


def test_pydoc_takes_no_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no path"):
        load_corpus("pydoc", path=tmp_path / "x.txt")


def test_unknown_corpus() -> None:
    with pytest.raises(ValueError, match="unknown corpus 'klingon'"):
        load_corpus("klingon")


def test_text_file_corpus(tmp_path: Path) -> None:
    p = tmp_path / "poem.txt"
    p.write_text("Ça va? naïve — ünïcödé\nline two\n", encoding="utf-8")
    assert load_corpus("text_file", path=p) == "Ça va? naïve — ünïcödé\nline two\n"


def test_text_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a path"):
        load_corpus("text_file")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_corpus("text_file", path=tmp_path / "absent.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        load_corpus("text_file", path=empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not valid UTF-8 \(byte 3"):
        load_corpus("text_file", path=latin1)


def test_tiny_shakespeare_pinned_hash_and_offline_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = REMOTE_CORPORA["tiny_shakespeare"]
    assert real.sha256 == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    # Offline: point the URL at a port with nothing listening (never the real host).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/input.txt"
    monkeypatch.setitem(REMOTE_CORPORA, "tiny_shakespeare", real._replace(url=url))
    with pytest.raises(DownloadError) as info:
        load_corpus("tiny_shakespeare", data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "tiny_shakespeare.txt") in message and real.sha256 in message and url in message


def test_remote_corpus_uses_a_verified_local_copy_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    sha = hashlib.sha256(content.encode()).hexdigest()
    # Unreachable URL: success proves the file supplied by hand was used without any download.
    entry = RemoteFile(url="http://127.0.0.1:9/input.txt", sha256=sha, filename="tiny.txt")
    monkeypatch.setitem(text_mod.REMOTE_CORPORA, "tiny_shakespeare", entry)
    (tmp_path / "tiny.txt").write_text(content, encoding="utf-8")
    assert load_corpus("tiny_shakespeare", data_dir=tmp_path) == content
    elsewhere = tmp_path / "sub" / "mine.txt"
    elsewhere.parent.mkdir()
    elsewhere.write_text(content, encoding="utf-8")
    assert load_corpus("tiny_shakespeare", path=elsewhere) == content


def test_tokenizer_round_trip_and_vocab() -> None:
    corpus = "hello, wörld!\n\tαβγ 😀"
    tok = CharTokenizer.from_text(corpus)
    assert tok.vocab == tuple(sorted(set(corpus)))
    assert tok.vocab_size == len(set(corpus))
    ids = tok.encode(corpus)
    assert ids.dtype == np.int64 and ids.shape == (len(corpus),)
    assert ids.min() == 0 and ids.max() == tok.vocab_size - 1
    assert [tok.vocab[i] for i in ids] == list(corpus)
    assert tok.decode(ids) == corpus
    assert tok.decode(torch.as_tensor(ids)) == corpus
    assert tok.decode(list(ids[:5])) == corpus[:5]
    assert tok.encode("").shape == (0,) and tok.decode([]) == ""


def test_tokenizer_rejects_unknown_input() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="'z'"):
        tok.encode("abz")
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="sorted"):
        CharTokenizer(("b", "a"))


def test_text_dataset_split_is_deterministic_and_contiguous(tmp_path: Path) -> None:
    corpus = "".join(chr(ord("a") + (i * 7) % 26) for i in range(1000))
    p = tmp_path / "c.txt"
    p.write_text(corpus, encoding="utf-8")
    ds = load_text_dataset("text_file", path=p, val_fraction=0.1)
    assert ds.name == "text_file"
    assert ds.train_tokens.dtype == np.int64 and ds.val_tokens.dtype == np.int64
    assert ds.train_tokens.size == 900 and ds.val_tokens.size == 100
    assert ds.tokenizer.decode(ds.train_tokens) == corpus[:900]
    assert ds.tokenizer.decode(ds.val_tokens) == corpus[900:]
    assert ds.vocab_size == 26


def test_vocabulary_comes_from_the_whole_corpus(tmp_path: Path) -> None:
    p = tmp_path / "c.txt"
    p.write_text("a" * 90 + "Z" * 10, encoding="utf-8")  # 'Z' only in the validation part
    ds = load_text_dataset("text_file", path=p, val_fraction=0.1)
    assert ds.tokenizer.vocab == ("Z", "a")
    assert set(ds.val_tokens.tolist()) == {0} and set(ds.train_tokens.tolist()) == {1}


def test_pydoc_dataset_sizes() -> None:
    ds = load_text_dataset("pydoc", val_fraction=0.25)
    n = len(load_corpus("pydoc"))
    assert ds.train_tokens.size + ds.val_tokens.size == n
    assert ds.val_tokens.size == round(0.25 * n)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_bad_val_fraction(bad: float) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        load_text_dataset("pydoc", val_fraction=bad)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("gen_kind", ["numpy", "torch"])
def test_sample_windows_shapes_and_shift(kind: str, gen_kind: str) -> None:
    base = np.arange(50, dtype=np.int64) * 3  # value determines position
    tokens = torch.as_tensor(base) if kind == "torch" else base
    gen = np.random.default_rng(0) if gen_kind == "numpy" else torch.Generator().manual_seed(0)
    x, y = sample_windows(tokens, block_size=8, batch_size=64, generator=gen)
    assert type(x) is type(tokens) and type(y) is type(tokens)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape == (64, 8)
    starts = x[:, 0] // 3
    assert starts.min() >= 0 and starts.max() <= 50 - 9
    np.testing.assert_array_equal(x, base[starts[:, None] + np.arange(8)])
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(y[:, -1], base[starts + 8])


def test_sample_windows_reach_both_ends_and_are_reproducible() -> None:
    tokens = np.arange(12, dtype=np.int64)
    x, _ = sample_windows(tokens, 4, 2000, np.random.default_rng(1))
    assert set(x[:, 0].tolist()) == set(range(8))  # every start 0..n-block_size-1, none beyond
    x1, _ = sample_windows(tokens, 4, 16, torch.Generator().manual_seed(3))
    x2, _ = sample_windows(tokens, 4, 16, torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(x1, x2)


def test_sample_windows_errors() -> None:
    tokens = np.arange(8)
    with pytest.raises(ValueError, match="at least 9"):
        sample_windows(tokens, 8, 2, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        sample_windows(tokens, 2, 2, 0)  # type: ignore[arg-type]


def test_eval_windows_evenly_spaced_and_deterministic() -> None:
    tokens = np.arange(101, dtype=np.int64)
    x, y = eval_windows(tokens, block_size=10, n_windows=10)
    assert x.shape == y.shape == (10, 10)
    np.testing.assert_array_equal(x[:, 0], np.arange(0, 91, 10))  # first at 0, last at n-block-1
    np.testing.assert_array_equal(y, x + 1)
    x2, _ = eval_windows(tokens, block_size=10, n_windows=10)
    np.testing.assert_array_equal(x, x2)
    # More windows than distinct starts: each start once.
    x3, _ = eval_windows(tokens[:15], block_size=10, n_windows=100)
    np.testing.assert_array_equal(x3[:, 0], np.arange(5))
    xt, yt = eval_windows(torch.as_tensor(tokens), 10, 3)
    assert isinstance(xt, torch.Tensor) and xt.dtype == torch.int64
    assert xt[:, 0].tolist() == [0, 45, 90]

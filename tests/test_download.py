"""fetch() against a local HTTP server on 127.0.0.1: verified download, cache hit, corruption, offline."""

from __future__ import annotations

import hashlib
import http.server
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import serve_directory

from sgdspectra.download import ChecksumError, DownloadError, fetch, sha256sum


@dataclass
class LocalServer:
    """A static file server on 127.0.0.1 serving ``root``, recording every request path."""

    root: Path
    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    root = tmp_path / "served"
    root.mkdir()
    with serve_directory(root) as (url, requests):
        yield LocalServer(root, url, requests)


def _free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PAYLOAD = b"To be, or not to be, that is the question.\n" * 200


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_sha256sum_matches_hashlib(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(PAYLOAD)
    assert sha256sum(p) == _sha(PAYLOAD)
    assert sha256sum(p, chunk_size=7) == _sha(PAYLOAD)


def test_fetch_downloads_verifies_and_caches(server: LocalServer, tmp_path: Path) -> None:
    (server.root / "corpus.txt").write_bytes(PAYLOAD)
    dest = tmp_path / "data" / "corpus.txt"
    out = fetch(f"{server.url}/corpus.txt", dest, _sha(PAYLOAD), what="test corpus")
    assert out == dest
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == ["/corpus.txt"]
    assert not [p for p in dest.parent.iterdir() if p != dest]  # no temporary files left behind

    # The second call finds the verified file and does not contact the server.
    (server.root / "corpus.txt").write_bytes(b"changed on the server")
    assert fetch(f"{server.url}/corpus.txt", dest, _sha(PAYLOAD).upper()) == dest
    assert server.requests == ["/corpus.txt"]
    assert dest.read_bytes() == PAYLOAD


def test_fetch_without_download_only_checks_the_local_file(server: LocalServer, tmp_path: Path) -> None:
    (server.root / "corpus.txt").write_bytes(PAYLOAD)
    url, dest = f"{server.url}/corpus.txt", tmp_path / "corpus.txt"
    with pytest.raises(FileNotFoundError, match=f"put it at {dest}; expected SHA-256 {_sha(PAYLOAD)}"):
        fetch(url, dest, _sha(PAYLOAD), download=False)
    dest.write_bytes(b"stale")
    with pytest.raises(ChecksumError, match=f"has SHA-256 {_sha(b'stale')}, expected {_sha(PAYLOAD)}"):
        fetch(url, dest, _sha(PAYLOAD), download=False)
    assert dest.read_bytes() == b"stale"
    dest.write_bytes(PAYLOAD)
    assert fetch(url, dest, _sha(PAYLOAD), download=False) == dest
    assert server.requests == []


def test_fetch_logs_progress(server: LocalServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    big = bytes(range(256)) * (5 * 4096)  # 5 MiB: one progress line after 4 MiB
    (server.root / "big.bin").write_bytes(big)
    with caplog.at_level(logging.INFO, logger="sgdspectra.download"):
        fetch(f"{server.url}/big.bin", tmp_path / "big.bin", _sha(big), what="big file")
    progress = [r.getMessage() for r in caplog.records if "MB of" in r.getMessage()]
    assert progress == ["big file: 4.2 MB of 5.2 MB downloaded"]


def test_fetch_replaces_a_corrupted_local_copy(server: LocalServer, tmp_path: Path) -> None:
    (server.root / "corpus.txt").write_bytes(PAYLOAD)
    dest = tmp_path / "corpus.txt"
    dest.write_bytes(PAYLOAD[:-10])  # e.g. an interrupted manual copy
    fetch(f"{server.url}/corpus.txt", dest, _sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == ["/corpus.txt"]


def test_fetch_checksum_mismatch_leaves_no_file(server: LocalServer, tmp_path: Path) -> None:
    (server.root / "corpus.txt").write_bytes(PAYLOAD + b"tampered")
    dest = tmp_path / "data" / "corpus.txt"
    expected = _sha(PAYLOAD)
    with pytest.raises(ChecksumError) as info:
        fetch(f"{server.url}/corpus.txt", dest, expected)
    message = str(info.value)
    assert expected in message
    assert _sha(PAYLOAD + b"tampered") in message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # the temporary file is gone too


def test_fetch_http_404_gives_manual_instructions(server: LocalServer, tmp_path: Path) -> None:
    dest = tmp_path / "corpus.txt"
    url = f"{server.url}/missing.txt"
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, _sha(PAYLOAD), what="test corpus")
    message = str(info.value)
    assert not isinstance(info.value, ChecksumError)
    assert "test corpus" in message and url in message and "404" in message
    assert f"put it at {dest}" in message and _sha(PAYLOAD) in message
    assert not dest.exists()


def test_fetch_server_down_gives_manual_instructions(tmp_path: Path) -> None:
    dest = tmp_path / "corpus.txt"
    url = f"http://127.0.0.1:{_free_port()}/corpus.txt"
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, _sha(PAYLOAD), timeout=2)
    message = str(info.value)
    assert "could not be reached" in message
    assert url in message and str(dest) in message and _sha(PAYLOAD) in message
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_fetch_timeout_is_a_download_error(tmp_path: Path) -> None:
    # A socket that accepts connections (backlog) but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/corpus.txt"
        with pytest.raises(DownloadError, match="timed out"):
            fetch(url, tmp_path / "corpus.txt", _sha(PAYLOAD), timeout=0.2)
    assert not (tmp_path / "corpus.txt").exists()


def test_fetch_cut_short_transfer_is_a_download_error(tmp_path: Path) -> None:
    class Liar(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:100])
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Liar)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        with pytest.raises(DownloadError, match="cut short"):
            fetch(f"http://127.0.0.1:{httpd.server_address[1]}/x", tmp_path / "x", _sha(PAYLOAD), timeout=2)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_fetch_rejects_a_malformed_hash(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        fetch("http://127.0.0.1:1/x", tmp_path / "x", "abc")

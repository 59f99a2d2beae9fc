"""Checksummed downloads with a clear offline story (the standard library's answer to ``pooch``).

:func:`fetch` returns a local file whose SHA-256 is known in advance. A file already at the
destination with the right hash is used as is, without touching the network, so a workflow that
was given its data by hand runs offline. Otherwise the file is streamed over HTTP(S) with
:mod:`urllib`, hashed on the fly, and renamed onto the destination only when complete and
verified: a killed job, a network failure or a checksum mismatch never leaves a file at the
destination. Every failure says what could not be fetched, from where, why, and how to supply the
file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from .io import atomic_path

log = logging.getLogger(__name__)

__all__ = ["ChecksumError", "DownloadError", "fetch", "manual_download_hint", "sha256sum"]

_CHUNK = 1 << 20  # bytes read from the network and hashed at a time
_PROGRESS_EVERY = 4 << 20  # log progress every 4 MiB
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(RuntimeError):
    """A file could not be downloaded; the message says how to put it in place by hand."""


class ChecksumError(DownloadError):
    """A downloaded (or supplied) file does not have the expected SHA-256."""


def sha256sum(path: str | os.PathLike, chunk_size: int = _CHUNK) -> str:
    """Return the lower-case hexadecimal SHA-256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def manual_download_hint(url: str, dest: str | os.PathLike, sha256: str) -> str:
    """The instruction for supplying ``dest`` by hand (used in every error message)."""
    return (
        f"To proceed offline, download {url} yourself (e.g. `curl -L -o {dest} {url}` on a "
        f"machine with internet access) and put it at {dest}; expected SHA-256 {sha256} "
        f"(check with `sha256sum {dest}`)."
    )


def _normalise_sha256(sha256: str) -> str:
    value = sha256.strip().lower()
    if not _SHA256_RE.match(value):
        raise ValueError(f"not a SHA-256 hex digest (64 hex characters): {sha256!r}")
    return value


def _stream(url: str, out: Path, timeout: float, what: str) -> tuple[str, int]:
    """Stream ``url`` into ``out``; return (sha256, number of bytes). Network errors propagate."""
    digest = hashlib.sha256()
    n_bytes = 0
    next_report = _PROGRESS_EVERY
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http/https/file only)
        length_header = response.headers.get("Content-Length")
        expected_length = int(length_header) if length_header and length_header.isdigit() else None
        total = f" of {expected_length / 1e6:.1f} MB" if expected_length is not None else ""
        with open(out, "wb") as fh:
            while chunk := response.read(_CHUNK):
                fh.write(chunk)
                digest.update(chunk)
                n_bytes += len(chunk)
                if n_bytes >= next_report:
                    log.info("%s: %.1f MB%s downloaded", what, n_bytes / 1e6, total)
                    next_report += _PROGRESS_EVERY
    if expected_length is not None and n_bytes != expected_length:
        raise http.client.IncompleteRead(b"", expected_length - n_bytes)
    return digest.hexdigest(), n_bytes


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP error {exc.code} ({exc.reason})"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return "the connection timed out"
        return f"the server could not be reached ({reason})"
    if isinstance(exc, TimeoutError):
        return "the connection timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the transfer was cut short ({exc.expected} more bytes were announced)"
    return f"{type(exc).__name__}: {exc}"


def fetch(
    url: str,
    dest: str | os.PathLike,
    sha256: str,
    *,
    timeout: float = 60,
    what: str = "file",
    download: bool = True,
) -> Path:
    """Return ``dest``, downloading it from ``url`` first unless it is already there and intact.

    Parameters
    ----------
    url
        Where the file is downloaded from (``http``, ``https`` or ``file`` URL).
    dest
        Local path of the file. Its folder is created if needed.
    sha256
        Expected SHA-256 (hex) of the file. A file already at ``dest`` with this hash is returned
        without any network access.
    timeout
        Seconds to wait for the server to connect or to send more data.
    what
        A short human name of the file for log and error messages (e.g. ``"Tiny Shakespeare"``).
    download
        When false, only check the file already at ``dest``: never touch the network.

    Raises
    ------
    FileNotFoundError
        ``download`` is false and there is no file at ``dest``.
    DownloadError
        The file could not be downloaded (no network, unknown host, time-out, HTTP error, cut-short
        transfer). The message says how to put the file at ``dest`` by hand.
    ChecksumError
        The downloaded bytes do not have the expected SHA-256; nothing is written to ``dest``. Or
        ``download`` is false and the file at ``dest`` does not have it.
    """
    dest = Path(dest)
    sha256 = _normalise_sha256(sha256)
    hint = manual_download_hint(url, dest, sha256)
    stale: str | None = None
    if dest.exists():
        actual = sha256sum(dest)
        if actual == sha256:
            log.info("%s: using verified %s", what, dest)
            return dest
        stale = actual
        if not download:
            raise ChecksumError(f"{what}: {dest} has SHA-256 {actual}, expected {sha256}. {hint}")
        log.warning(
            "%s: %s exists but its SHA-256 is %s, not the expected %s; downloading it again",
            what, dest, actual, sha256,
        )  # fmt: skip
    elif not download:
        raise FileNotFoundError(f"{what}: {dest} is missing and download=False. {hint}")

    log.info("%s: downloading %s to %s", what, url, dest)
    with atomic_path(dest, suffix=".part") as tmp:
        try:
            actual, n_bytes = _stream(url, tmp, timeout, what)
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            TimeoutError,
            ConnectionError,
            ssl.SSLError,
            ValueError,  # malformed URL
        ) as exc:
            note = (
                f" (The file now at {dest} has SHA-256 {stale}, which does not match.)"
                if stale
                else ""
            )
            raise DownloadError(
                f"could not download {what} from {url}: {_reason(exc)}.{note} {hint}"
            ) from exc
        if actual != sha256:
            raise ChecksumError(
                f"{what} downloaded from {url} is corrupted or has changed: its SHA-256 is "
                f"{actual} but {sha256} was expected ({n_bytes} bytes received); nothing was "
                f"written to {dest}. Retry later, or: {hint}"
            )
    log.info("%s: downloaded and verified %s (%.1f MB)", what, dest, n_bytes / 1e6)
    return dest

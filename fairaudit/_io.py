"""File I/O: atomic writes (a temporary file in the destination folder, then ``os.replace``)
and JSON reads with errors that name the file. A temporary file left by a killed writer
(its process gone) is removed at the next write to the same path.

Every result, table, checkpoint and report fairaudit writes goes through here, so a
crash or an interrupt never leaves a half-written file where a complete one was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fairaudit._version import __version__
from fairaudit.exceptions import DataValidationError

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "check_saved_format",
    "json_value",
    "read_json_file",
    "remove_stale_temporaries",
    "sha256_file",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        The destination. Its folder is created if needed.
    fsync : bool, default=True
        Flush the temporary file to disk before the move, so the new file is
        durable once ``path`` names it.

    Notes
    -----
    The move is atomic on one file system: a reader sees the old file or the new
    one, never a mix. An error inside the block removes the temporary file and
    leaves any previous ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}{_PID_END}", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates the file private (0600); give it the permissions a plain
        # open() would, so results stay readable by whoever could read them before.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if fsync:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


#: Ends the writer's process id in a temporary file's name.
_PID_END = "-"
#: A temporary file of an older naming (no process id) this old is left from a killed run.
_UNTAGGED_STALE_S = 3600.0


def _alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files of :func:`atomic_path` left beside ``path`` by killed writers.

    A temporary file is named ``.{name}.{pid}-{random}.tmp``: it is stale when no process
    of that id runs any more (a writer still running, in this process or another, keeps
    its file). Files of the older naming without a process id are stale after an hour.

    Returns
    -------
    list of Path
        The files removed.
    """
    path = Path(path)
    removed = []
    prefix = f".{path.name}."
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix) : -len(".tmp")]
        pid_text, sep, _ = middle.partition(_PID_END)
        try:
            if sep and pid_text.isdigit():
                stale = not _alive(int(pid_text))
            else:
                stale = time.time() - entry.stat().st_mtime > _UNTAGGED_STALE_S
            if stale:
                entry.unlink()
                removed.append(entry)
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_value(value: Any) -> Any:
    """``value`` as a JSON file holds it: numpy scalars as Python ones, NaN (and None) as None.

    Python floats keep every digit (``json`` writes their shortest round-trip form).

    Examples
    --------
    >>> json_value(np.float32(0.5)), json_value(np.int64(3)), json_value(float("nan"))
    (0.5, 3, None)
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def read_json_file(path: str | os.PathLike[str], *, what: str) -> Any:
    """Parse a JSON file written by fairaudit.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What it should hold, for error messages (``"audit"``, ``"paired counts"``).

    Raises
    ------
    DataValidationError
        The file is missing, or is not JSON (the message names the file).
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as exc:
        raise DataValidationError(f"{what} file not found: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"{path}: not a JSON {what} file ({exc})") from exc


def check_saved_format(
    obj: object, *, expected: str, version: int, label: str, what: str, source: str
) -> None:
    """Refuse a saved object of another format or format version.

    Parameters
    ----------
    obj : object
        The parsed JSON.
    expected, version : str, int
        The ``format`` and ``format_version`` fields this library reads.
    label : str
        What the object should be, in "not {label}" (``"a fairaudit audit"``).
    what : str
        Its name before "format_version" (``"audit"``).
    source : str
        Where it came from, for the message.

    Raises
    ------
    DataValidationError
    """
    found = obj.get("format") if isinstance(obj, Mapping) else None
    if found != expected:
        raise DataValidationError(
            f"{source}: not {label} (format field {found!r}, expected {expected!r})"
        )
    found_version = obj.get("format_version")
    if found_version != version:
        raise DataValidationError(
            f"{source}: {what} format_version {found_version!r} is not supported by fairaudit "
            f"{__version__}, which reads version {version}"
        )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def open_chunk_folder(
    parts: Path, fingerprint: Mapping[str, Any] | list[Any], *, resume: bool, what: str
) -> None:
    """Create the folder of a resumable run's chunks, or check an interrupted one's.

    A new run writes ``manifest.json`` (the run's ``fingerprint``: what it works on)
    beside its chunks. An existing folder is refused unless ``resume``, and then only
    when its manifest equals ``fingerprint``, so that chunks of another run are never
    mixed in; ``what`` says what may differ (e.g. "image list or chunk size").
    """
    manifest = parts / "manifest.json"
    if not parts.exists():
        parts.mkdir(parents=True)
        atomic_write_text(manifest, json.dumps(fingerprint) + "\n")
        return
    if not resume:
        raise DataValidationError(
            f"{parts} holds the finished chunks of an interrupted run of this output; "
            "continue it with --resume (resume=True), or remove that folder to start over"
        )
    try:
        earlier = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        earlier = None
    if earlier != fingerprint:
        raise DataValidationError(
            f"{parts}: the interrupted run had another {what} ({earlier} vs {fingerprint}); "
            "remove that folder to start over"
        )

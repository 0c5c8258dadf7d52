"""Every file neurolearn writes goes through here.

- :func:`write_atomic`: the bytes go to a temporary file in the target's folder,
  are flushed and fsynced, and replace the target with ``os.replace`` (atomic on
  POSIX): a failed or interrupted write leaves the previous file as it was, and a
  reader never sees half a file.
- :func:`check_output` / :func:`prepare_dir`: the command line checks (or creates)
  every output location *before* any work starts, so a report is never lost after
  an hour of training; it refuses to write over an input (spec, profile).
- :func:`new_run_dir`: a fresh folder per run under a shared ``--out``, created
  with ``os.mkdir`` (which fails if the name exists), so two runs never replace
  each other's plots.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .errors import NeurolearnError


class OutputError(NeurolearnError):
    """An output that cannot be written; names the option and the path."""

    def __init__(self, path, reason: str, option: str = ""):
        self.path = str(path)
        where = f"{option} {path}" if option else str(path)
        super().__init__(f"{where}: {reason}")


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def _same(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_inputs(path, inputs=(), option: str = "") -> None:
    """A clear error when ``path`` is one of ``inputs`` (resolved paths compared)."""
    p = Path(path)
    for inp in inputs:
        if inp is not None and _same(p, Path(inp)):
            raise OutputError(path, f"is an input of this command ({inp}); refusing to "
                                    f"write over it", option)


def _probe(folder: Path, path, option: str) -> None:
    """Create and remove a temporary file in ``folder``: the one honest test of
    whether a write will succeed there (permissions, read-only mounts)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".neurolearn-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise OutputError(path, f"cannot write in {folder}: {_reason(err)}", option) from None


def check_output(path, *, option: str = "", inputs=()) -> Path:
    """Check, before any work, that ``path`` can be written as a file: not an input,
    not a folder, its folder created if missing and writable."""
    path = Path(path)
    refuse_inputs(path, inputs, option)
    if path.is_dir():
        raise OutputError(path, "is a folder; give a file name", option)
    if _special(path):
        if not os.access(path, os.W_OK):
            raise OutputError(path, "is not writable", option)
        return path
    folder = Path(os.path.realpath(path)).parent if path.is_symlink() else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(path, f"cannot create folder {folder}: {_reason(err)}",
                          option) from None
    _probe(folder, path, option)
    return path


def prepare_dir(path, *, option: str = "", inputs=()) -> Path:
    """Create folder ``path`` (and its parents) or fail clearly, before any work."""
    path = Path(path)
    refuse_inputs(path, inputs, option)
    if path.exists() and not path.is_dir():
        raise OutputError(path, "exists and is not a folder", option)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(path, f"cannot create folder: {_reason(err)}", option) from None
    _probe(path, path, option)
    return path


def new_run_dir(parent, name: str, option: str = "") -> Path:
    """``parent/<name>-<n>`` with the first free n >= 1, created atomically."""
    parent = prepare_dir(parent, option=option)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60].strip("._") or "run"
    for n in range(1, 100_000):
        run = parent / f"{stem}-{n}"
        try:
            run.mkdir()
            return run
        except FileExistsError:
            continue
        except OSError as err:
            raise OutputError(run, f"cannot create folder: {_reason(err)}", option) from None
    raise OutputError(parent, f"holds 100,000 runs named {stem}-N; clean it up", option)


def _special(path: Path) -> bool:
    """An existing target that is not a regular file (/dev/stdout, a FIFO): written
    in place, since renaming over it would replace the device or pipe itself."""
    return path.exists() and not path.is_file() and not path.is_dir()


def _write_in_place(path: Path, data: bytes, option: str) -> Path:
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as err:
        raise OutputError(path, f"cannot write: {_reason(err)}", option) from None
    return path


def write_atomic(path, data, *, option: str = "", inputs=()) -> Path:
    """Write ``data`` (str: UTF-8, or bytes) to ``path`` atomically (module docstring).
    A symbolic link is followed (its target is replaced, the link kept)."""
    path = Path(path)
    refuse_inputs(path, inputs, option)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if path.is_dir():
        raise OutputError(path, "is a folder; give a file name", option)
    if _special(path):
        return _write_in_place(path, data, option)
    shown = path
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp",
                                   dir=folder)
    except OSError as err:
        raise OutputError(shown, f"cannot write in {folder}: {_reason(err)}",
                          option) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give a normal file's mode
        os.replace(tmp, path)
    except OSError as err:
        _remove(tmp)
        raise OutputError(shown, f"cannot write: {_reason(err)} (the previous file, if "
                                 f"any, is unchanged)", option) from None
    except BaseException:
        _remove(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass

"""Ending a Lava child's process group completely: processes, shared memory, folder.

Lava's runtime runs each Process in a forked OS process and passes messages through
shared-memory segments (``/dev/shm/psm_*``) owned by a SharedMemoryManager server
and multiprocessing's resource tracker, all in the child's process group. Killing
that group with SIGKILL (the only signal a hung runtime obeys) kills the two
processes that would unlink the segments, so each kill leaked them (4 per Ctrl-C).
:func:`kill_group` therefore first freezes the group (SIGSTOP, so nothing forks or
creates a segment meanwhile), reads which ``/dev/shm`` files its processes map or
hold open, kills it, waits until no process is left, and unlinks those files.

Used by the parent (runner.run_job, whatever way a run ends) and by the child
itself when its parent dies (child.py: a parent-death signal and a watchdog).
Linux only (/proc); nothing here imports lava.
"""

from __future__ import annotations

import glob
import os
import signal
import time

SHM_DIR = "/dev/shm"


def group_members(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in process group ``pgid``."""
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(stat.split("/")[2]))
    return out


def shm_files(pids) -> set[str]:
    """Files under /dev/shm that processes ``pids`` map or hold open (ours only)."""
    found = set()
    uid = os.getuid()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as fh:
                for line in fh:
                    i = line.find(SHM_DIR + "/")
                    if i >= 0 and not line.rstrip().endswith("(deleted)"):
                        found.add(line[i:].rstrip("\n"))
        except OSError:
            pass
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            fds = []
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(SHM_DIR + "/") and not target.endswith("(deleted)"):
                found.add(target)
    mine = set()
    for path in found:
        try:
            if os.stat(path).st_uid == uid:
                mine.add(path)
        except OSError:
            pass
    return mine


def _signal_all(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def freeze(pgid: int, spare: int | None = None, rounds: int = 5) -> list[int]:
    """SIGSTOP every member of ``pgid`` but ``spare`` until no new one appears."""
    stopped: set[int] = set()
    for _ in range(rounds):
        members = [p for p in group_members(pgid) if p != spare]
        new = [p for p in members if p not in stopped]
        if not new:
            break
        _signal_all(new, signal.SIGSTOP)
        stopped.update(new)
    return sorted(stopped)


def unlink_all(paths) -> list[str]:
    removed = []
    for path in sorted(paths):
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


def kill_group(pgid: int, wait: float = 10.0, spare: int | None = None) -> list[str]:
    """Kill process group ``pgid`` (all but ``spare``, the caller when it is a member),
    wait up to ``wait`` s until none of them is left, and unlink the shared-memory
    files they used; returns the files removed."""
    members = freeze(pgid, spare)
    segments = shm_files(members)
    if spare is None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for _ in range(3):  # by pid: a member forked before the freeze finished
        _signal_all([p for p in group_members(pgid) if p != spare], signal.SIGKILL)
        if not [p for p in group_members(pgid) if p != spare]:
            break
    deadline = time.monotonic() + wait
    while [p for p in group_members(pgid) if p != spare] and time.monotonic() < deadline:
        time.sleep(0.02)
    return unlink_all(segments)

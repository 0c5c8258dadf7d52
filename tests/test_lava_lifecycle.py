"""Lifecycle: an exception inside a ProcessModel and a time-out end the runtime and
every process it started, and the user sees the real cause."""

import os
import time

import pytest

from neurolearn.backends import lava as backend
from neurolearn.backends.lava.runner import LavaRunError, group_members
from neurolearn.rules.io import loads

SPEC = loads('''
name = "lifecycle"
[network]
layers = [{name="in", size=64}, {name="h", size=20, neuron={model="lif"}},
          {name="out", size=10, neuron={model="lif"}}]
[rule]
builtin = "delta"
''')


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d))
    return out


def assert_nothing_left(pgid):
    assert group_members(pgid) == []
    assert children_of(os.getpid()) == []


@pytest.mark.parametrize("lowering,who", [("stock", "population1"), ("stock", "dense2"),
                                          ("fused", "fused")])
def test_exception_in_process_model_surfaces_real_traceback(lowering, who):
    with pytest.raises(LavaRunError) as err:
        backend.simulate(SPEC, steps=50, lowering=lowering, timeout=60,
                         fault=("exception", 7, who))
    msg = str(err.value)
    assert f"RuntimeError: injected fault in {who} at step 7" in msg
    assert "Traceback (most recent call last)" in msg and "run_spk" in msg
    assert f"traceback from {who}" in msg
    assert_nothing_left(err.value.pgid)


def test_timeout_ends_runtime_and_all_processes():
    t0 = time.monotonic()
    with pytest.raises(LavaRunError, match="timed out after 8 s") as err:
        backend.simulate(SPEC, steps=50, lowering="stock", timeout=8,
                         fault=("hang", 5, "population2"))
    assert time.monotonic() - t0 < 30
    assert_nothing_left(err.value.pgid)


def test_successful_run_leaves_no_process():
    tr = backend.simulate(SPEC, steps=20, lowering="stock", timeout=60)
    assert tr.extra["processes"] == 6
    assert_nothing_left(tr.extra["pgid"])


def test_ctrl_c_ends_runtime_and_all_processes(monkeypatch):
    import signal
    import threading

    from neurolearn.backends.lava import runner
    seen = {}
    real_kill_group = runner.kill_group

    def spy(pgid, wait=10.0):
        seen["pgid"] = pgid
        real_kill_group(pgid, wait)

    monkeypatch.setattr(runner, "kill_group", spy)
    timer = threading.Timer(4.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            backend.simulate(SPEC, steps=50, lowering="stock", timeout=60,
                             fault=("hang", 5, "population1"))
    finally:
        timer.cancel()
    assert_nothing_left(seen["pgid"])

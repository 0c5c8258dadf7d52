"""A Dask worker plugin for the local cluster: its workers ignore SIGINT.

A Ctrl-C at the terminal reaches the whole foreground process group, worker processes
included, which would each print a KeyboardInterrupt traceback. The client alone
handles it (closing the cluster ends the workers). Imported only where Dask is.
"""

from __future__ import annotations

import signal
import threading

from distributed.diagnostics.plugin import WorkerPlugin


class IgnoreInterrupt(WorkerPlugin):
    name = "neurolearn-ignore-sigint"
    idempotent = True

    def setup(self, worker):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)

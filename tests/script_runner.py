"""Run a Python script in a process group of its own (what a user's interpreter does
with the Lava process graph), ending the group however the script ends."""

import subprocess
import sys

from neurolearn.backends.lava.runner import kill_group


def run_script(script, *args, timeout: float = 240) -> tuple[int, str]:
    """(exit status, stdout and stderr) of ``python script args...``."""
    proc = subprocess.Popen([sys.executable, str(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
    try:
        text, _ = proc.communicate(timeout=timeout)
    finally:
        kill_group(proc.pid)
    return proc.returncode, text

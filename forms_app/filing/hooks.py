"""TEST ONLY: pause points inside filing, so fault tests can kill a worker mid-filing.

Inert unless settings.FILING_TEST_HOOK_DIR is set (settings refuse it in production).
With it set, `pause("name")` waits while the file `<dir>/block-<name>` exists, after
writing `<dir>/reached-<name>-<pid>` so the test knows which process to kill.
"""

import os
import time
from pathlib import Path

from django.conf import settings

MAX_PAUSE_SECONDS = 120


def pause(name: str) -> None:
    directory = settings.FILING_TEST_HOOK_DIR
    if not directory:
        return
    block = Path(directory) / f"block-{name}"
    if not block.exists():
        return
    (Path(directory) / f"reached-{name}-{os.getpid()}").touch()
    deadline = time.monotonic() + MAX_PAUSE_SECONDS
    while block.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

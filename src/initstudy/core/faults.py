"""Named kill points, for testing that a SIGKILL at any point loses nothing.

``point(name)`` does nothing unless the environment variable ``INITSTUDY_KILL_AT``
equals ``name``; then the process sends itself SIGKILL, a real and uncatchable
kill at a reproducible place (a timer-based kill from outside could not hit
"between writing the temporary file and renaming it" reliably). Names used:
``epoch<e>-step<k>`` (mid-epoch), ``epoch<e>-saved`` (between epochs, after the
checkpoint), ``atomic:<file name>`` (temporary file written, not yet renamed).
"""

from __future__ import annotations

import os
import signal

ENV = "INITSTUDY_KILL_AT"


def point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)

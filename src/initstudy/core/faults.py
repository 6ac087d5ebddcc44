"""Named kill points, for testing that a SIGKILL at any point loses nothing.

``point(name)`` does nothing unless the environment variable ``INITSTUDY_KILL_AT``
matches ``name`` (a shell-style pattern: ``atomic:record-*.json``); then the process sends itself SIGKILL, a real and uncatchable
kill at a reproducible place (a timer-based kill from outside could not hit
"between writing the temporary file and renaming it" reliably). Names used:

- ``epoch<e>-step<k>``: before the call that runs step k of epoch e (with the compiled
  loop, the first step of each call: k = 0, or each chunk's first step);
- ``epoch<e>-trained``: mid-epoch, after all of epoch e's steps ran (the compiled loop
  returned, the weights updated in memory), before validation and the checkpoint: the
  kill that loses an epoch's work and must not lose anything else;
- ``epoch<e>-saved``: between epochs, after the checkpoint;
- ``atomic:<file name>``: temporary file written, not yet renamed.
"""

from __future__ import annotations

import fnmatch
import os
import signal

ENV = "INITSTUDY_KILL_AT"


def point(name: str) -> None:
    pattern = os.environ.get(ENV)
    if pattern is not None and fnmatch.fnmatchcase(name, pattern):
        os.kill(os.getpid(), signal.SIGKILL)

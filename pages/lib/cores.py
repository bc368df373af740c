"""The server's threads on one core.

Streamlit runs every session's script in a thread of one process, and Python's interpreter lock lets one thread
run Python at a time. Left free to run on every core, 40 busy sessions' threads sit on both cores of a 2-core
machine and pass the lock back and forth between them: each hand-over wakes a thread on the other core, and the
lock's cache line moves with it. Measured idle on 2 cores with 40 sessions that each decode sentences of their
own (`benchmarks/browser.py --only "" --load 40`, the server pinned with taskset or not, runs alternating): the
same work took 78-79 ms of server CPU per script run spread over both cores, and 34-35 ms on one; interaction
p50 / p95 2.05-2.08 / 2.41-3.01 s against 0.91-0.97 / 1.21 s. (A request's torch kernels run in its own thread
anyway: app.py sets torch to one thread.)

So the server keeps to one of the cores it may use; Chromium, tests or a second server get the others.
``ATTENTION_EXPLORER_SERVER_CORES=all`` leaves the process on every core.
"""

from __future__ import annotations

import os
import sys

SETTING = "ATTENTION_EXPLORER_SERVER_CORES"
CHOICES = ("one", "all")


def confine_to_one_core() -> int | None:
    """Pin every thread of this process to one core; threads it starts later inherit it (Linux). The core, or
    None when left as it was: ``ATTENTION_EXPLORER_SERVER_CORES=all``, a single usable core, or no
    ``os.sched_setaffinity`` (not Linux)."""
    choice = os.environ.get(SETTING, "one").strip().lower() or "one"
    if choice not in CHOICES:
        print(f"{SETTING}={os.environ[SETTING]!r} is not one of {', '.join(CHOICES)}: using 'one'", file=sys.stderr)
        choice = "one"
    if choice == "all" or not hasattr(os, "sched_setaffinity"):
        return None
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None
    core = usable[os.getpid() % len(usable)]  # two servers on one machine most likely take different cores
    for thread_id in os.listdir("/proc/self/task"):  # the threads that exist now; later ones inherit
        try:
            os.sched_setaffinity(int(thread_id), {core})
        except OSError:  # a thread that has just ended
            pass
    return core

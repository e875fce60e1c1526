"""The allocator setting that keeps freed training buffers for the next step (chainrule.memory)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chainrule import memory

SCRIPT = """
import chainrule, chainrule.memory as m
print(m.is_applied())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_applied_at_import_and_switched_off_by_the_environment():
    def run(value):
        env = dict(os.environ, CHAINRULE_MALLOC_TUNING=value)
        out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()

    assert run("1") == "True"
    assert run("0") == "False"


def test_keep_freed_memory_reports_whether_it_applied():
    assert memory.keep_freed_memory() == sys.platform.startswith("linux")

# SPDX-License-Identifier: LGPL-2.1-or-later
"""An engine that links libberth (tests/integration/helpers/embed.c): berth_run,
berth_create and berth_exec work, and none of them leaves the engine's own
process changed for good (it must not stay a child subreaper)."""

import os
import subprocess

from conftest import BERTH, _env

EMBED = os.path.join(os.path.dirname(BERTH), "berth-test-embed")


def test_libberth_leaves_its_caller_as_it_was(env):
    env.process["args"] = ["sh", "-c", "sleep 1; exit 7"]  # alive while exec runs
    env.save()
    cid = env.new_id()
    with open(env.dir / "embed.out", "w+") as out:
        cp = subprocess.run([EMBED, str(env.root), str(env.bundle), cid], stdin=subprocess.DEVNULL,
                            stdout=out, stderr=subprocess.STDOUT, timeout=60, env=_env(env.mark))
        out.seek(0)
        text = out.read()
    assert cp.returncode == 0, text
    assert "run status=7 subreaper=0" in text, text
    assert "create subreaper=0" in text, text
    assert "exec status=0 subreaper=0" in text, text

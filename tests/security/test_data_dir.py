"""The data dir on a shared machine: other local users cannot read the orders or the token
signing secret, and a weak secret left in it is refused instead of signing tokens."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from liveroom.config import Settings, with_secret
from liveroom.engine import create_engine

from ..helpers import SECRET, free_port


def _liveroom(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    # umask 022: what most shells give, under which a plain mkdir is world-readable.
    return subprocess.run([sys.executable, "-m", "liveroom.server", *args], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=lambda: os.umask(0o022))


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_short_secret_file_planted_in_the_data_dir_is_refused_not_used(tmp_path):
    (tmp_path / "secret").write_text("hunter2\n")
    minted = _liveroom("token", "--room", "*", "--role", "admin", "--user", "op",
                       "--data-dir", str(tmp_path))
    assert minted.returncode == 2 and minted.stdout == ""
    assert str(tmp_path / "secret") in minted.stderr and "at least 32" in minted.stderr
    served = _liveroom("serve", "--data-dir", str(tmp_path), "--port", str(free_port()),
                       timeout=120)
    assert served.returncode == 2 and "at least 32" in served.stderr
    assert "Serving on" not in served.stdout
    assert (tmp_path / "secret").read_text() == "hunter2\n"  # the operator's file, untouched


def test_the_data_dir_and_its_secret_are_readable_by_this_user_only(tmp_path):
    data = tmp_path / "fresh" / "data"
    minted = _liveroom("token", "--room", "*", "--role", "admin", "--user", "op",
                       "--data-dir", str(data))
    assert minted.returncode == 0, minted.stderr
    assert _mode(data) == 0o700 and _mode(data / "secret") == 0o600
    assert len((data / "secret").read_text()) >= 32
    assert [p.name for p in data.iterdir()] == ["secret"]  # nothing half-written left over
    again = with_secret(Settings(data_dir=data))
    assert again.secret == (data / "secret").read_text()


async def test_the_embedded_engine_keeps_its_orders_in_a_private_dir(tmp_path):
    fresh, old = tmp_path / "fresh", tmp_path / "old"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)  # as an earlier version left it
    for data in (fresh, old):
        engine = create_engine(Settings(secret=SECRET, data_dir=data))
        await engine.start()
        await engine.close()
        assert _mode(data) == 0o700, data

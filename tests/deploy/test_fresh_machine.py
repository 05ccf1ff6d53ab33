"""A fresh machine: the README's test command installs what the suite needs (through
.ci/install-test-deps), CI runs exactly that command, and under CI=true nothing missing passes
unnoticed: the install script fails naming it, and a test that skips fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "install-test-deps"
NEEDED = {  # the system packages the suite uses, and what for
    "redis-server", "redis-sentinel", "redis-tools", "chromium", "nginx", "systemd",
    "gstreamer1.0-plugins-bad", "gstreamer1.0-plugins-good", "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-nice", "gstreamer1.0-tools", "gstreamer1.0-libav", "python3-gi",
    "python3-gst-1.0", "gir1.2-gstreamer-1.0", "gir1.2-gst-plugins-bad-1.0", "iproute2",
    "fonts-noto-core", "fonts-noto-cjk", "fonts-noto-color-emoji", "fonts-thai-tlwg",
}


def _quickstart_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^##\s+Quickstart\s*$(.*?)(?=^##\s|\Z)", text, re.M | re.S).group(1)
    return re.findall(r"```[a-z]*\n(.*?)```", section, re.S)


def test_the_readme_test_command_installs_what_the_tests_need_and_ci_runs_it():
    run, test = _quickstart_blocks()[:2]
    assert "liveroom serve" in run
    assert test.strip().count("\n") == 0  # one line a newcomer pastes
    # the whole suite (no path picked), in two workers whose plugin the test extra installs
    assert test.startswith(".ci/install-test-deps && ") and test.strip().endswith(
        "python -m pytest -n 2")
    assert '"pytest-xdist' in (ROOT / "pyproject.toml").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'export CI=true' in ci and "[1]" in ci and 'bash -c "$test_cmd"' in ci
    assert "apt-get" not in ci  # the same script installs, not a copy of it


def test_the_install_script_knows_every_package_and_finds_them_here():
    listed = set(re.search(r"PACKAGES=\((.*?)\)", SCRIPT.read_text(), re.S).group(1).split())
    assert listed == NEEDED
    result = subprocess.run([str(SCRIPT), "--check"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_missing_component_fails_loudly_by_name(tmp_path):
    """nginx gone from the PATH (a machine without it): the script fails and says so."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for tool in Path(directory).glob("*"):
            link = bin_dir / tool.name
            if tool.name != "nginx" and not link.exists():
                link.symlink_to(tool)
    env = {**os.environ, "PATH": str(bin_dir), "CI": "true"}
    script = SCRIPT.read_text().replace("|| test -x /usr/sbin/nginx", "")  # only the PATH
    copy = tmp_path / "install-test-deps"
    copy.write_text(script)
    result = subprocess.run(["bash", str(copy), "--check"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 1
    assert "  - nginx" in result.stderr.splitlines()


def test_a_test_that_skips_under_ci_fails(tmp_path):
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n\ndef test_needs_a_missing_tool():\n"
        "    pytest.skip('no such tool here')\n")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
               "tests.never_skip", str(tmp_path / "test_skips.py")]
    ci = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                        env={**os.environ, "CI": "true"})
    assert ci.returncode == 1 and "skipped under CI=true" in ci.stdout
    local = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k != "CI"})
    assert local.returncode == 0 and "1 skipped" in local.stdout

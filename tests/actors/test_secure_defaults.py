"""Secure defaults, each checked: endpoints on loopback, Redis with a password from the
environment and TLS, Ray's token authentication never turned off, settings commands behind
Manage Server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import discord
import pytest
import yaml

from actors.sources.discord.commands import command_tree
from actors.stores.base import StoreError, open_configured, open_store
from config import Config
from guildmind.config import parse_config
from metrics import DiscoveryServer, TargetDirectory, new_registry, start_metrics_server

ROOT = Path(__file__).resolve().parents[2]


# endpoints ---------------------------------------------------------------------------------------
def test_metrics_and_discovery_listen_on_loopback_unless_configured() -> None:
    cfg = Config()
    assert cfg.metrics.host == "127.0.0.1"
    assert parse_config((ROOT / "guildmind.example.toml").read_text(), env={}).metrics.host == (
        "127.0.0.1"
    )
    # what every process serves (hosts and gateway pass metrics.host; the default is the same)
    with start_metrics_server(new_registry(process_metrics=False)) as server:
        assert server.address[0] == "127.0.0.1"
    sd = DiscoveryServer(TargetDirectory(), new_registry(process_metrics=False), port=0)
    host, _ = sd.start()
    try:
        assert host == "127.0.0.1" and sd.url.startswith("http://127.0.0.1:")
        with socket.socket() as s:  # bound to loopback, not every interface
            assert s.connect_ex(("127.0.0.1", sd.port)) == 0
    finally:
        sd.close()


# Redis -------------------------------------------------------------------------------------------
def redis_config(url: str, **state: str) -> Config:
    keys = "".join(f'{k} = "{v}"\n' for k, v in state.items())
    return parse_config(f'[state]\nurl = "{url}"\n{keys}', env={})


def test_the_redis_password_comes_from_the_environment_never_the_file(make_redis_server) -> None:
    server = make_redis_server(password="s3cret-pw")
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    cfg = redis_config(url, password_env="GM_TEST_REDIS_PW")
    store = open_configured(cfg, env={"GM_TEST_REDIS_PW": "s3cret-pw"})
    try:
        store.save({1: b"x"})
        assert store.load([1]) == {1: b"x"} and "s3cret" not in repr(store)
    finally:
        store.close()
    with pytest.raises(StoreError, match=r"cannot reach the Redis store 'redis://127\.0\.0\.1"):
        open_configured(cfg, env={})  # no password in the environment: refused by the server
    with pytest.raises(ValueError, match="holds a password; secrets stay out of the file"):
        redis_config(f"redis://:s3cret-pw@127.0.0.1:{server.port}/0")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not installed (Debian's openssl package)", pytrace=False)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_rediss_speaks_tls_and_checks_the_servers_certificate(
    make_redis_server, certificate: tuple[Path, Path]
) -> None:
    server = make_redis_server(password="tls-pw", tls=certificate)
    server.start()
    cert = certificate[0]
    url = f"rediss://127.0.0.1:{server.tls_port}/0?ssl_ca_certs={cert}&prefix=tls:"
    store = open_configured(redis_config(url, password_env="PW"), env={"PW": "tls-pw"})
    try:
        store.save({7: b"over tls"})
        assert store.load([7]) == {7: b"over tls"}
    finally:
        store.close()
    # a server whose certificate nobody vouches for is refused …
    with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED"):
        open_store(f"rediss://127.0.0.1:{server.tls_port}/0", password="tls-pw")
    # … and the TLS port speaks nothing else
    with pytest.raises(StoreError):
        open_store(f"redis://127.0.0.1:{server.tls_port}/0", password="tls-pw")


# Ray ---------------------------------------------------------------------------------------------
DEPLOYED = [
    *ROOT.glob("deploy/**/*.y*ml"), *ROOT.glob("deploy/**/*.toml"), ROOT / "Dockerfile",
    ROOT / "Makefile", *ROOT.glob("scripts/*"), *ROOT.glob("docs/*.md"), ROOT / "README.md",
    *ROOT.glob("*.toml"),
    *(p for d in ("config", "engine", "actions", "actors", "metrics", "guildmind")
      for p in (ROOT / d).rglob("*.py")),
]  # fmt: skip
DEPLOYED = [p for p in DEPLOYED if p.is_file()]
# RAY_AUTH_MODE=disabled, "RAY_AUTH_MODE": "disabled", setenv("RAY_AUTH_MODE", "disabled"), …
OFF = re.compile(r"RAY_AUTH_MODE\W{0,6}disabled|_system_config", re.I)


def test_ray_token_authentication_is_never_turned_off_and_every_deployment_turns_it_on() -> None:
    assert OFF.search("RAY_AUTH_MODE=disabled") and OFF.search('("RAY_AUTH_MODE", "disabled")')
    found = [str(p.relative_to(ROOT)) for p in DEPLOYED if OFF.search(p.read_text())]
    assert found == []
    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    shared = compose["x-guildmind"]["environment"]
    for name in ("ray-head", "ray-worker"):
        service = compose["services"][name]
        env = service.get("environment") or shared
        assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN"].startswith("${"), name
        # a service's own environment replaces the shared one whole: it must repeat all of it
        # (the worker once set only DISCORD_TOKEN and lost Ray's token and Redis' password)
        assert shared.items() <= env.items(), (name, sorted(set(shared) - set(env)))
    launcher = yaml.safe_load((ROOT / "deploy/ray/cluster.yaml").read_text())
    options = launcher["docker"]["run_options"]
    assert "--env RAY_AUTH_MODE=token" in options and "--env RAY_AUTH_TOKEN" in options
    cluster = yaml.safe_load((ROOT / "deploy/kuberay/raycluster.yaml").read_text())
    assert cluster["spec"]["authOptions"] == {"mode": "token"}


def test_a_local_ray_guildmind_starts_has_token_authentication() -> None:
    # `guildmind run` without an address starts a light Ray of its own (init_ray): Ray turns
    # token authentication on for it, and guildmind passes nothing that turns it off
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    code = (
        "import os, ray\n"
        "from actors.remote.cluster import init_ray\n"
        "init_ray(quiet=True)\n"
        "print('mode', os.environ.get('RAY_AUTH_MODE'))\n"
        "ray.shutdown()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "mode token" in run.stdout


# slash commands ----------------------------------------------------------------------------------
class _Source:
    moods = ("neutral", "shy")
    call_host = forget = None


def test_settings_commands_are_for_manage_server_by_default_and_forget_me_for_everyone() -> None:
    client = discord.Client(intents=discord.Intents.none())
    tree = command_tree(client, _Source())  # type: ignore[arg-type]
    group = tree.get_command("guildmind")
    assert isinstance(group, discord.app_commands.Group)
    assert group.default_permissions == discord.Permissions(manage_guild=True)
    assert group.guild_only
    assert {c.name for c in group.commands} >= {
        "mood", "channels", "timezone", "quiet-hours", "pause", "resume", "prompt",
        "forget-member",
    }  # fmt: skip
    forget = tree.get_command("guildmind-forget-me")
    assert forget is not None and forget.default_permissions is None
    # (each handler checks Manage Server again: a server can override the default; run for
    # every command by tests/actors/discord/test_discord_privacy.py)

"""Exposition and service discovery, over real HTTP: per-process /metrics, the driver's /sd."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from metrics import (
    DiscoveryServer,
    GuildmindMetrics,
    TargetDirectory,
    new_registry,
    start_metrics_server,
)


def get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers["Content-Type"], e.read().decode()


def test_metrics_server_serves_a_registry_on_a_free_local_port() -> None:
    m = GuildmindMetrics(new_registry())
    m.events("message", 5)
    with start_metrics_server(m.registry) as server:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0 and server.target() == f"127.0.0.1:{port}"
        status, _, body = get(f"http://{server.target()}/metrics")
        assert status == 200
        assert 'guildmind_events_total{type="message"} 5.0' in body
        assert "process_resident_memory_bytes" in body
    assert server.closed
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/metrics")
    server.close()  # idempotent


def test_metrics_server_on_a_wildcard_needs_an_advertised_address() -> None:
    with start_metrics_server(CollectorRegistry(), host="0.0.0.0") as server:
        with pytest.raises(ValueError, match="advertise_host"):
            server.target()
        assert server.target("10.0.0.7") == f"10.0.0.7:{server.port}"


def test_metrics_server_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(OSError, match=rf"Cannot serve metrics on 127.0.0.1:{port}"):
            start_metrics_server(CollectorRegistry(), port=port)


def test_directory_follows_processes_as_they_come_go_and_restart() -> None:
    d = TargetDirectory()
    assert d.add("host-0", "127.0.0.1:4000", role="host") is False
    assert d.add("gateway-0", "127.0.0.1:4001", role="gateway", labels={"node": "a"}) is False
    assert d.add("host-0", "127.0.0.1:4000", role="host") is False  # a retry: no change
    v = d.version
    assert d.add("host-0", "127.0.0.1:4002", role="host") is True  # restarted: new port
    assert d.version == v + 1
    assert d.render() == [
        {"targets": ["127.0.0.1:4001"], "labels": {"node": "a", "role": "gateway",
                                                  "process": "gateway-0"}},
        {"targets": ["127.0.0.1:4002"], "labels": {"role": "host", "process": "host-0"}},
    ]  # fmt: skip
    assert d.remove("host-0", "127.0.0.1:4000") is False  # the old process's late goodbye
    assert "host-0" in d
    assert d.remove("host-0") is True and d.remove("host-0") is False
    assert len(d) == 1


@pytest.mark.parametrize(
    ("process", "target", "role", "labels", "match"),
    [
        ("", "127.0.0.1:1", "host", {}, "process name"),
        ("h", "127.0.0.1", "host", {}, "not 'host:port'"),
        ("h", "127.0.0.1:0", "host", {}, "no valid port"),
        ("h", "127.0.0.1:99999", "host", {}, "no valid port"),
        ("h", "127.0.0.1:1", "Host!", {}, "role"),
        ("h", "127.0.0.1:1", "host", {"__address__": "x"}, "cannot be a target label"),
        ("h", "127.0.0.1:1", "host", {"role": "x"}, "cannot be a target label"),
        ("h", "127.0.0.1:1", "host", {"node": 3}, "must be a string"),
    ],
)
def test_directory_rejects_bad_entries(process, target, role, labels, match) -> None:
    d = TargetDirectory()
    with pytest.raises(ValueError, match=match):
        d.add(process, target, role=role, labels=labels)
    assert len(d) == 0


def test_discovery_server_serves_sd_and_its_own_metrics() -> None:
    d = TargetDirectory()
    m = GuildmindMetrics(new_registry())
    m.host_restart("host-0")
    with DiscoveryServer(d, m.registry, port=0) as sd:
        base = f"http://127.0.0.1:{sd.port}"
        assert sd.url == f"{base}/sd"
        d.add("host-0", "127.0.0.1:4000", role="host")
        status, ctype, body = get(sd.url)
        assert (status, ctype) == (200, "application/json")
        driver = {"role": "driver", "process": "driver"}
        assert json.loads(body) == [
            {"targets": [f"127.0.0.1:{sd.port}"], "labels": driver},
            {"targets": ["127.0.0.1:4000"], "labels": {"role": "host", "process": "host-0"}},
        ]
        d.remove("host-0")
        assert [g["labels"]["process"] for g in json.loads(get(sd.url)[2])] == ["driver"]
        status, _, body = get(f"{base}/metrics")
        assert status == 200 and 'guildmind_host_restarts_total{host="host-0"} 1.0' in body
        _, ctype, body = get(f"{base}/metrics", accept="application/openmetrics-text")
        assert ctype.startswith("application/openmetrics-text") and body.endswith("# EOF\n")
        assert get(f"{base}/nope")[0] == 404
        assert get(f"{base}/")[0] == 200
        with pytest.raises(RuntimeError, match="already running"):
            sd.start()
    assert len(d) == 0  # the driver unlisted itself


def test_discovery_server_needs_an_advertised_address_on_a_wildcard() -> None:
    with pytest.raises(ValueError, match="advertise_host"):
        DiscoveryServer(TargetDirectory(), CollectorRegistry(), host="0.0.0.0", port=0).start()
    with DiscoveryServer(
        TargetDirectory(), CollectorRegistry(), host="0.0.0.0", port=0, advertise_host="10.1.2.3"
    ) as sd:
        assert sd.directory.targets()[0].target == f"10.1.2.3:{sd.port}"
        assert get(f"http://127.0.0.1:{sd.port}/sd")[0] == 200


def test_discovery_server_port_in_use_names_the_settings() -> None:
    with DiscoveryServer(TargetDirectory(), CollectorRegistry(), port=0) as first:
        second = DiscoveryServer(TargetDirectory(), CollectorRegistry(), port=first.port)
        with pytest.raises(OSError, match=r"metrics.host / metrics.port"):
            second.start()


async def test_discovery_server_answers_from_an_asyncio_driver() -> None:
    d = TargetDirectory()
    with DiscoveryServer(d, CollectorRegistry(), port=0) as sd:
        async with aiohttp.ClientSession() as session, session.get(sd.url) as resp:
            assert resp.status == 200
            assert (await resp.json())[0]["labels"]["role"] == "driver"

"""The fetcher's guard against feeds that point into the user's network.

Traffic goes to 127.0.0.1 only. Where a test needs a "public" host and a "private" one, the
injected policy treats 127.0.0.1 as public and 127.0.0.2 as private, and the injected resolver
maps names to them: the mechanism (check the address actually dialled, on every connection) is
tested on loopback, and the real policy is tested on addresses alone.
"""

from __future__ import annotations

import pytest

from podsift.errors import FetchError
from podsift.net import Fetcher, refusal
from podsift.settings import load_settings


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert refusal(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert refusal(address) is None


def stand_in(address: str) -> str | None:
    """127.0.0.1 stands for the internet, 127.0.0.2 for a host inside the user's network."""
    return "a private or local address" if address == "127.0.0.2" else None


@pytest.fixture
def guarded(home):
    return load_settings(home)  # allow_private_networks is off, as by default


@pytest.mark.parametrize(
    "spelling,why",
    [
        ("0x7f.1", "private or local address"),
        ("2130706433", "private or local address"),
        ("127.1", "private or local address"),
        ("[::ffff:127.0.0.1]", "private or local address"),
        ("0177.0.0.1", "not a valid URL"),  # httpx refuses octal outright
        ("localhost.", "private or local address|cannot resolve"),  # refused, or unknown to this resolver
    ],
)
def test_odd_spellings_of_loopback_never_connect(guarded, server, spelling, why):
    port = server.url.rsplit(":", 1)[1]
    with Fetcher(guarded) as fetcher, pytest.raises(FetchError, match=why):
        fetcher.get(f"http://{spelling}:{port}/feed.xml", 1000)
    assert server.requests == []


def test_redirect_into_the_private_network_is_refused(guarded, server):
    port = server.url.rsplit(":", 1)[1]
    server.status["/go"] = 302
    server.headers["/go"] = {"Location": f"http://intranet.test:{port}/secret"}
    names = {"feeds.test": ["127.0.0.1"], "intranet.test": ["127.0.0.2"]}
    with Fetcher(guarded, resolver=names.__getitem__, policy=stand_in) as fetcher:
        with pytest.raises(FetchError, match="intranet.test is a private or local address"):
            fetcher.get(f"http://feeds.test:{port}/go", 1000)
    assert [path for path, _ in server.requests] == ["/go"]


def test_dns_rebinding_is_caught_on_the_next_connection(guarded, server):
    (server.root / "feed.xml").write_text("<rss/>")
    port = server.url.rsplit(":", 1)[1]
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])  # the name first resolves outside, then inside

    with Fetcher(guarded, resolver=lambda host: next(answers), policy=stand_in) as fetcher:
        assert fetcher.get(f"http://rebind.test:{port}/feed.xml", 1000).content == b"<rss/>"
        with pytest.raises(FetchError, match="private or local address"):
            fetcher.get(f"http://rebind.test:{port}/feed.xml", 1000)
    assert len(server.requests) == 1


def test_opting_out_allows_the_private_network(guarded, server):
    import dataclasses

    (server.root / "feed.xml").write_text("<rss/>")
    allowed = dataclasses.replace(guarded, allow_private_networks=True)
    with Fetcher(allowed) as fetcher:
        assert fetcher.get(f"{server.url}/feed.xml", 1000).status == 200

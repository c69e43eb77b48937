"""Gateway URL list: owner-managed, replaced whole, at least one URL, every change logged."""

from __future__ import annotations

from typing import Any

import ape

from .resolver_helpers import MAX_URL_LENGTH, MAX_URLS, URLS


def test_urls__after_deploy__the_constructor_list(resolver: Any) -> None:
    assert list(resolver.urls()) == URLS


def test_set_urls__by_owner__replaces_and_logs(resolver: Any, owner: Any) -> None:
    new = ["https://a.example/{sender}/{data}.json"]

    tx = resolver.set_urls(new, sender=owner)

    logs = list(tx.decode_logs(resolver.UrlsChanged))
    assert len(logs) == 1 and list(logs[0].urls) == new
    assert list(resolver.urls()) == new


def test_set_urls__at_caps__stored(resolver: Any, owner: Any) -> None:
    new = [f"https://{i}.example/" + "p" * (MAX_URL_LENGTH - 18) for i in range(MAX_URLS)]
    assert all(len(url) == MAX_URL_LENGTH for url in new)

    resolver.set_urls(new, sender=owner)

    assert list(resolver.urls()) == new


def test_set_urls__shorter_list__drops_the_rest(resolver: Any, owner: Any) -> None:
    resolver.set_urls(["https://a.example/", "https://b.example/", "https://c.example/"], sender=owner)

    resolver.set_urls(["https://d.example/"], sender=owner)

    assert list(resolver.urls()) == ["https://d.example/"]


def test_set_urls__not_owner__reverts(resolver: Any, stranger: Any) -> None:
    with ape.reverts("ownable: caller is not the owner"):
        resolver.set_urls(["https://evil.example/"], sender=stranger)


def test_set_urls__empty_list__reverts(resolver: Any, owner: Any) -> None:
    with ape.reverts("resolver: no urls"):
        resolver.set_urls([], sender=owner)


def test_set_urls__empty_url__reverts(resolver: Any, owner: Any) -> None:
    with ape.reverts("resolver: empty url"):
        resolver.set_urls(["https://a.example/", ""], sender=owner)


def test_set_urls__too_many__reverts(resolver: Any, owner: Any) -> None:
    with ape.reverts():
        resolver.set_urls([f"https://{i}.example/" for i in range(MAX_URLS + 1)], sender=owner, gas=1_000_000)
    assert list(resolver.urls()) == URLS


def test_set_urls__url_too_long__reverts(resolver: Any, owner: Any) -> None:
    with ape.reverts():
        resolver.set_urls(["https://a.example/" + "p" * MAX_URL_LENGTH], sender=owner, gas=1_000_000)
    assert list(resolver.urls()) == URLS

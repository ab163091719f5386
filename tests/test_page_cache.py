from __future__ import annotations

from matchgraph.engine.search.page_cache import VersionedLRU


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: VersionedLRU[str] = VersionedLRU(2)
    v = object()
    assert cache.get(v, "a") is None
    cache.put(v, "a", "A")
    cache.put(v, "b", "B")
    assert cache.get(v, "a") == "A"  # now "b" is the oldest
    cache.put(v, "c", "C")
    assert (cache.get(v, "a"), cache.get(v, "b"), cache.get(v, "c")) == ("A", None, "C")
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 2)


def test_a_new_version_empties_it_and_a_late_answer_of_the_old_one_is_dropped() -> None:
    cache: VersionedLRU[str] = VersionedLRU(10)
    old, new = object(), object()
    cache.get(old, "q")
    cache.put(old, "q", "old ranking")
    assert cache.get(new, "q") is None  # the first lookup under the new version empties it
    assert len(cache) == 0
    cache.put(old, "q", "old ranking, finished late")  # a search that began before the switch
    assert cache.get(new, "q") is None


def test_size_zero_keeps_nothing() -> None:
    cache: VersionedLRU[str] = VersionedLRU(0)
    v = object()
    cache.get(v, "q")
    cache.put(v, "q", "x")
    assert cache.get(v, "q") is None

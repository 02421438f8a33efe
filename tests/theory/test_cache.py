"""Disk cache: round trip, versioned keys, corrupt or unwritable locations."""

import json

from injcheck.theory import cache


def test_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"x": [1.5, 2.5]}

    assert cache.cached("thing", {"a": 1}, compute) == {"x": [1.5, 2.5]}
    assert cache.cached("thing", {"a": 1}, compute) == {"x": [1.5, 2.5]}
    assert len(calls) == 1
    data = json.loads((tmp_path / "theory.json").read_text())
    assert any(cache.CODE_VERSION in k for k in data)
    cache.cached("thing", {"a": 2}, compute)  # other parameters: recomputed
    assert len(calls) == 2


def test_no_cache_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(tmp_path))
    n = []
    for _ in range(2):
        cache.cached("t", {}, lambda: n.append(1) or 1, use_cache=False)
    assert len(n) == 2 and not (tmp_path / "theory.json").exists()


def test_corrupt_file_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(tmp_path))
    (tmp_path / "theory.json").write_text("{not json")
    assert cache.cached("t", {}, lambda: 3) == 3
    assert cache.cached("t", {}, lambda: 4) == 3  # rewritten and readable again


def test_unwritable_location_is_harmless(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(blocker / "sub"))  # parent is a file
    assert cache.cached("t", {}, lambda: 5) == 5
    assert cache.cached("t", {}, lambda: 6) == 6  # nothing stored, nothing raised


def test_key_depends_on_version(monkeypatch):
    k1 = cache.cache_key("a", {"b": 1})
    monkeypatch.setattr(cache, "CODE_VERSION", "other")
    assert cache.cache_key("a", {"b": 1}) != k1


def test_damaged_entry_is_recomputed(tmp_path, monkeypatch):
    """An entry edited in place (the review's 'junk' value) is a miss, not served."""
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(tmp_path))
    assert cache.cached("t", {"a": 1}, lambda: [{"k": 1}]) == [{"k": 1}]
    path = tmp_path / "theory.json"
    data = json.loads(path.read_text())
    key = cache.cache_key("t", {"a": 1})
    for damaged in ("junk", {"value": "junk", "sha256": data[key]["sha256"]}, [{"k": 1}]):
        data[key] = damaged
        path.write_text(json.dumps(data))
        assert cache.lookup("t", {"a": 1}) is None
        assert cache.cached("t", {"a": 1}, lambda: [{"k": 2}]) == [{"k": 2}]
        data = json.loads(path.read_text())

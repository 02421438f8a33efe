import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty theory cache (never the user's)."""
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("INJCHECK_NO_CACHE", raising=False)

"""A small JSON disk cache for theory values, so that plots and the CLI do not recompute.

The file is ``$INJCHECK_CACHE_DIR/theory.json`` (default ``~/.cache/injcheck/theory.json``,
or ``$XDG_CACHE_HOME/injcheck/theory.json``). Keys combine the quantity, its parameters
and :data:`CODE_VERSION`; bump the version whenever a numerical method changes so stale
values are never served. Every failure to read or write is swallowed: an unwritable or
corrupt cache only costs recomputation, never an error. Each entry stores its value with a
SHA-256 of the value's canonical JSON, so an entry damaged in place (a value edited or
truncated by hand, a bad merge) is a miss and is recomputed rather than served.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CODE_VERSION", "cache_path", "cache_key", "cached", "lookup", "clear_cache"]

CODE_VERSION = "theory-2"


def cache_path() -> Path:
    """Location of the cache file (not created here)."""
    root = os.environ.get("INJCHECK_CACHE_DIR")
    if root:
        return Path(root) / "theory.json"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "injcheck" / "theory.json"


def cache_key(name: str, params: dict[str, Any]) -> str:
    """Canonical key: quantity, sorted JSON parameters, code version."""
    return f"{name}|{json.dumps(params, sort_keys=True, separators=(',', ':'))}|{CODE_VERSION}"


def lookup(name: str, params: dict[str, Any]) -> Any:
    """The cached value for ``(name, params)``, or None; never computes.

    Reads the file even under ``INJCHECK_NO_CACHE``: a reader that only wants a value
    if some earlier run left one (the theory tables) costs nothing either way.

    Parameters
    ----------
    name : str
        Quantity name, as given to :func:`cached`.
    params : dict
        Its parameters, as given to :func:`cached`.

    Returns
    -------
    Any
        The stored JSON value, or None when absent or the file is unreadable.
    """
    return _value(_load(cache_path()).get(cache_key(name, params)))


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry(value: Any) -> dict[str, Any]:
    return {"value": value, "sha256": _digest(value)}


def _value(entry: Any) -> Any:
    """The value of a stored entry, or None when the entry is absent or damaged."""
    if not isinstance(entry, dict) or set(entry) != {"value", "sha256"}:
        return None
    return entry["value"] if entry["sha256"] == _digest(entry["value"]) else None


def _load(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _store(path: Path, key: str, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _load(path)  # merge: another process may have added keys meanwhile
        data[key] = _entry(value)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".theory-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)  # atomic: readers never see a half-written file
    except OSError:
        pass


def cached(
    name: str, params: dict[str, Any], compute: Callable[[], Any], use_cache: bool = True
) -> Any:
    """Return the cached JSON value for ``(name, params)`` or compute and store it.

    ``compute`` must return a JSON-serialisable value. Set ``use_cache=False`` or the
    environment variable ``INJCHECK_NO_CACHE=1`` to bypass the file entirely.
    """
    if not use_cache or os.environ.get("INJCHECK_NO_CACHE"):
        return compute()
    path = cache_path()
    key = cache_key(name, params)
    value = _value(_load(path).get(key))
    if value is not None:
        return value
    value = compute()
    json.dumps(value)  # fail loudly on a non-serialisable value rather than caching junk
    _store(path, key, value)
    return value


def clear_cache() -> None:
    """Delete the cache file if present."""
    try:
        cache_path().unlink()
    except OSError:
        pass

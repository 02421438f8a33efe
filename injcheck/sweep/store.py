"""SQLite store of sweep results: one file, WAL journal, one row per trial, committed per trial.

Schema (``SCHEMA_VERSION`` 1)::

    meta(key PRIMARY KEY, value)                 -- schema_version, created_by
    specs(spec_hash PRIMARY KEY, spec_json, created, version)
    trials(spec_hash, point_key, trial, n, widths, depth, alpha, alpha_nominal, seed,
           status, p_star, p_star_lower, p_star_upper, heuristic_count, layer, method,
           solver_status, wall_time, trial_time, witness, message, stats, version, worker,
           finished_at, UNIQUE(spec_hash, point_key, trial))

Only the process that drives a sweep writes; workers return records. Each trial is one
committed transaction, so ``kill -9`` loses only trials in flight, and the UNIQUE key
means a re-run can never duplicate a row. Rows of different sweeps are kept apart by
``spec_hash``; every read selects one spec.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from ..exceptions import StoreError
from ..verdict import to_plain
from .spec import SweepSpec

SCHEMA_VERSION = 1

#: ``solver_status`` of a trial that raised or killed its worker: stored as ``unknown``
#: (nothing is lost) but holding no result, so a resumed sweep runs it again.
ERRORED = "error"

#: Columns that say which trial a row is: the runner fills them from the task and its point.
IDENTITY_COLUMNS = (
    "spec_hash",
    "point_key",
    "trial",
    "n",
    "widths",
    "depth",
    "alpha",
    "alpha_nominal",
    "seed",
)
#: Columns the runner adds to a trial's record (timing and bookkeeping).
RUNNER_COLUMNS = ("trial_time", "version", "worker", "finished_at")
#: Columns of the trials table, in order (also the CSV/Parquet export columns): the identity
#: and runner columns and what a trial function returns (``trials.RESULT_FIELDS``).
COLUMNS = IDENTITY_COLUMNS + (
    "status",
    "p_star",
    "p_star_lower",
    "p_star_upper",
    "heuristic_count",
    "layer",
    "method",
    "solver_status",
    "wall_time",
    "trial_time",
    "witness",
    "message",
    "stats",
    "version",
    "worker",
    "finished_at",
)
#: Columns added after schema version 1 was released; old stores gain them on opening for
#: writing and read them as NULL. ``heuristic_count``: the best count of the heuristic
#: search, an upper bound on P* kept apart from the exact ``p_star`` columns.
ADDED_COLUMNS = ("heuristic_count",)
#: Columns that depend on when and where a trial ran, not on what it is.
TIMING_COLUMNS = ("wall_time", "trial_time", "worker", "finished_at")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS specs (
    spec_hash TEXT PRIMARY KEY,
    spec_json TEXT NOT NULL,
    created TEXT NOT NULL,
    version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    spec_hash TEXT NOT NULL REFERENCES specs(spec_hash),
    point_key TEXT NOT NULL,
    trial INTEGER NOT NULL,
    n INTEGER NOT NULL,
    widths TEXT NOT NULL,
    depth INTEGER NOT NULL,
    alpha REAL NOT NULL,
    alpha_nominal REAL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('injective', 'non-injective', 'unknown')),
    p_star INTEGER,
    p_star_lower INTEGER,
    p_star_upper INTEGER,
    heuristic_count INTEGER,
    layer INTEGER,
    method TEXT,
    solver_status TEXT,
    wall_time REAL,
    trial_time REAL,
    witness TEXT,
    message TEXT,
    stats TEXT,
    version TEXT,
    worker TEXT,
    finished_at TEXT,
    UNIQUE (spec_hash, point_key, trial)
);
"""


class Store:
    """A sweep results store in one SQLite file.

    Parameters
    ----------
    path : str or PathLike
        The database file (created if missing). An existing file must be empty or an
        injcheck store: another program's SQLite file is refused before anything is
        written to it.
    readonly : bool
        Open for reading only (``mode=ro``; ``immutable`` in a directory that cannot be
        written, where SQLite cannot create the ``-shm`` file).

    Examples
    --------
    >>> import tempfile, os
    >>> with Store(os.path.join(tempfile.mkdtemp(), "s.sqlite")) as store:
    ...     store.spec_hashes()
    []
    """

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False) -> None:
        self.path = os.fspath(path)
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise StoreError(f"store: directory {parent} does not exist")
        if readonly:
            self._open_readonly()
            return
        self._db = None
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per trial.
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._open_for_writing()
        except (sqlite3.DatabaseError, StoreError) as exc:
            if self._db is not None:
                self._db.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"store: {self.path} is not a usable SQLite file: {exc}") from exc

    def _open_for_writing(self) -> None:
        """Set up the open file as a store: nothing is written until it is known to be an
        empty database (made a new store) or an injcheck store (gains any added columns);
        another program's database is refused unchanged."""
        new = self._stamp() is None
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed trial survives a process crash (kill -9);
        # only an OS crash or power loss can drop the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        if new:
            self._create()
        else:
            self._add_new_columns()

    def _stamp(self) -> str | None:
        """The injcheck schema version of the open file, None for an empty database.

        Only reads. Raises StoreError for a database that holds other tables (another
        program's file) or an injcheck store of another schema version.
        """
        objects = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if not objects:
            return None
        meta = {}
        if {"meta", "specs", "trials"} <= objects:
            try:
                meta = dict(self._db.execute("SELECT key, value FROM meta"))
            except sqlite3.OperationalError:  # a table called meta, not ours
                meta = {}
        if meta.get("created_by") != "injcheck" or "schema_version" not in meta:
            listing = ", ".join(sorted(objects)[:8])
            raise StoreError(
                f"store: {self.path} is an SQLite database but not an injcheck store "
                f"(it holds {listing}); it was left unchanged: use a new store file"
            )
        if str(meta["schema_version"]) != str(SCHEMA_VERSION):
            raise StoreError(
                f"store: {self.path} has schema version {meta['schema_version']}, this "
                f"injcheck writes {SCHEMA_VERSION}; use a new store file"
            )
        return str(meta["schema_version"])

    def _create(self) -> None:
        """Tables and the injcheck stamp of a new store, in one transaction."""
        self._db.executescript(
            "BEGIN IMMEDIATE;" + _SCHEMA + "INSERT OR IGNORE INTO meta VALUES "
            f"('schema_version', '{SCHEMA_VERSION}'), ('created_by', 'injcheck');"
            "COMMIT;"
        )

    def _open_readonly(self) -> None:
        """Open for reading only (reports): nothing in the file can change.

        ``mode=ro`` first; a WAL store in a directory this process cannot write (SQLite
        cannot create the ``-shm`` file there) is opened ``immutable`` when it has no
        ``-wal`` file holding trials not yet in the main file.
        """
        if not os.path.isfile(self.path):
            raise StoreError(f"store: file not found: {self.path}")
        try:
            try:
                self._connect_readonly("mode=ro")
            except sqlite3.OperationalError as exc:
                self._check_immutable_allowed(exc)
                self._connect_readonly("immutable=1")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store: {self.path} is not a usable SQLite file: {exc}") from exc

    def _check_immutable_allowed(self, exc: Exception) -> None:
        """Re-raise ``exc`` unless the store's directory is not writable and no ``-wal``
        file holds data an ``immutable`` connection would not see."""
        parent = os.path.dirname(os.path.abspath(self.path))
        if os.access(parent, os.W_OK):
            raise exc
        wal = self.path + "-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            raise StoreError(
                f"store: cannot read {self.path}: its directory {parent} is not writable and "
                f"{wal} holds trials SQLite reads only with a -shm file beside it; copy the "
                "store and its -wal file to a writable directory"
            ) from exc

    def _connect_readonly(self, flag: str) -> None:
        """Open a read-only connection with URI ``flag`` and check the injcheck stamp."""
        uri = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?{flag}"
        self._db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        try:
            if self._stamp() is None:
                raise StoreError(
                    f"store: {self.path} is not an injcheck store of schema version "
                    f"{SCHEMA_VERSION}"
                )
        except BaseException:
            self._db.close()
            raise

    def _present(self) -> set[str]:
        return {r[1] for r in self._db.execute("PRAGMA table_info(trials)")}

    def _add_new_columns(self) -> None:
        """Stores written before ``heuristic_count`` existed gain it (NULL in old rows)."""
        for col in ADDED_COLUMNS:
            if col not in self._present():
                self._db.execute(f"ALTER TABLE trials ADD COLUMN {col} INTEGER")

    # -- context manager ----------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- specs ----------------------------------------------------------------------------
    def register_spec(self, spec: SweepSpec, version: str) -> str:
        """Record ``spec`` (the latest grid is kept) and return its hash.

        Raises
        ------
        StoreError
            If the hash is already stored for settings that differ in a hashed field
            (a hash collision or a hand-edited file): rows would mix.
        """
        h = spec.spec_hash
        row = self._db.execute("SELECT spec_json FROM specs WHERE spec_hash=?", (h,)).fetchone()
        spec_json = json.dumps(spec.to_dict(), sort_keys=True)
        if row is not None:
            try:
                old = SweepSpec.from_dict(json.loads(row[0]))
            except Exception as exc:  # a damaged spec row must not be silently overwritten
                raise StoreError(f"store: spec {h} in {self.path} is unreadable: {exc}") from exc
            if old.spec_hash != h:
                raise StoreError(
                    f"store: {self.path} holds spec {h} with different settings; rows would mix. "
                    "Use another store file."
                )
        with self._transaction():
            self._db.execute(
                "INSERT INTO specs VALUES (?, ?, ?, ?) ON CONFLICT(spec_hash) DO UPDATE SET "
                "spec_json=excluded.spec_json",
                (h, spec_json, timestamp(), version),
            )
        return h

    def spec_hashes(self) -> list[str]:
        """Hashes of the sweeps in the store, oldest first."""
        return [
            r[0]
            for r in self._db.execute("SELECT spec_hash FROM specs ORDER BY created, spec_hash")
        ]

    def get_spec(self, spec_hash: str) -> SweepSpec:
        row = self._db.execute(
            "SELECT spec_json FROM specs WHERE spec_hash=?", (spec_hash,)
        ).fetchone()
        if row is None:
            raise StoreError(f"store: no sweep {spec_hash!r} in {self.path}")
        try:
            spec = SweepSpec.from_dict(json.loads(row[0]))
        except Exception as exc:  # any damage to the row is the store's, not the reader's
            raise StoreError(
                f"store: spec {spec_hash} in {self.path} is unreadable: {exc}"
            ) from exc
        if spec.spec_hash != spec_hash:
            raise StoreError(
                f"store: the settings stored for sweep {spec_hash} in {self.path} were edited "
                f"(they now hash to {spec.spec_hash}); its rows no longer match them"
            )
        return spec

    def resolve_spec(self, spec_hash: str | None = None) -> str:
        """The full hash for a prefix, or the only sweep when ``spec_hash`` is None.

        Raises
        ------
        StoreError
            If the store is empty, the prefix matches nothing or several sweeps, or no
            hash was given and the store holds several sweeps.
        """
        hashes = self.spec_hashes()
        if not hashes:
            raise StoreError(f"store: {self.path} holds no sweep; run 'injcheck sweep' first")
        if spec_hash is None:
            if len(hashes) > 1:
                listing = ", ".join(f"{h} ({self.count(h)} trials)" for h in hashes)
                raise StoreError(
                    f"spec_hash is needed: store {self.path} holds {len(hashes)} sweeps: {listing}",
                    argument="spec_hash",
                )
            return hashes[0]
        matches = [h for h in hashes if h.startswith(spec_hash)]
        if len(matches) != 1:
            raise StoreError(
                f"spec_hash {spec_hash!r} matches {len(matches)} sweeps in {self.path}; "
                f"known: {', '.join(hashes)}",
                argument="spec_hash",
            )
        return matches[0]

    # -- trials -----------------------------------------------------------------------------
    def finished(self, spec_hash: str) -> dict[tuple[str, int], str]:
        """``{(point_key, trial): status}`` of the rows stored for a sweep.

        A trial that raised (``solver_status`` :data:`ERRORED`) holds no result: its status
        here is :data:`ERRORED`, not ``unknown``, so that a resumed sweep runs it again.
        """
        cur = self._db.execute(
            "SELECT point_key, trial, CASE WHEN solver_status=? THEN ? ELSE status END "
            "FROM trials WHERE spec_hash=?",
            (ERRORED, ERRORED, spec_hash),
        )
        return {(p, t): s for p, t, s in cur}

    def add(self, row: dict[str, Any], replace: bool = False) -> bool:
        """Insert one trial row in its own committed transaction.

        Parameters
        ----------
        row : dict
            Values for :data:`COLUMNS` (dicts/lists are stored as JSON text).
        replace : bool
            Overwrite an existing row of the same trial (the ``rerun`` policies);
            otherwise an existing row is kept and the new one ignored.

        Returns
        -------
        bool
            Whether the row was written.
        """
        values = [_to_sql(row.get(c)) for c in COLUMNS]
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        sql = f"{verb} INTO trials ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        with self._transaction():
            cur = self._db.execute(sql, values)
        return cur.rowcount > 0

    def count(self, spec_hash: str) -> int:
        return self._db.execute(
            "SELECT COUNT(*) FROM trials WHERE spec_hash=?", (spec_hash,)
        ).fetchone()[0]

    def rows(self, spec_hash: str, decode: bool = True) -> list[dict[str, Any]]:
        """All rows of one sweep, ordered by point and trial.

        ``decode`` parses the JSON columns (``widths``, ``witness``, ``stats``).
        """
        return list(self.iter_rows(spec_hash, decode))

    def iter_rows(self, spec_hash: str, decode: bool = True) -> Iterator[dict[str, Any]]:
        present = self._present()  # a read-only old store lacks the added columns
        select = ", ".join(c if c in present else f"NULL AS {c}" for c in COLUMNS)
        cur = self._db.execute(
            f"SELECT {select} FROM trials WHERE spec_hash=? ORDER BY n, alpha, point_key, trial",
            (spec_hash,),
        )
        for values in cur:
            row = dict(zip(COLUMNS, values, strict=True))
            yield _decoded(row, self.path) if decode else row

    # -- export -------------------------------------------------------------------------------
    def export(self, path: str | os.PathLike, spec_hash: str) -> str:
        """Write one sweep's rows to ``.csv`` or ``.parquet`` (chosen by the extension).

        Raises
        ------
        StoreError
            For another extension, or Parquet without pyarrow installed.
        """
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        rows = self.iter_rows(spec_hash, decode=False)
        if ext == ".csv":
            write_csv(path, rows, COLUMNS)
        elif ext == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ModuleNotFoundError as exc:
                raise StoreError(
                    "Parquet export needs pyarrow: pip install 'injcheck[parquet]' (or export .csv)"
                ) from exc
            data = {c: [] for c in COLUMNS}
            for row in rows:
                for c in COLUMNS:
                    data[c].append(row[c])
            pq.write_table(pa.table(data), path)
        else:
            raise StoreError(f"export: unknown format {ext!r} for {path}; use .csv or .parquet")
        return path

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, retried while another process holds the write lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self):
        for attempt in range(50):
            try:
                self.db.execute("BEGIN IMMEDIATE")
                return self
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise StoreError(f"store: cannot write: {exc}") from exc
                time.sleep(0.1)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def write_csv(path: str, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """Write dict rows to a CSV file (None as an empty cell)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])


#: Expected types of the stored columns (None is allowed where the value is optional).
_REQUIRED_INT = ("trial", "n", "depth", "seed")
_OPTIONAL_INT = ("p_star", "p_star_lower", "p_star_upper", "heuristic_count", "layer")
_REQUIRED_NUMBER = ("alpha",)
_OPTIONAL_NUMBER = ("alpha_nominal",)  # None for sweeps given by explicit widths
STATUSES = ("injective", "non-injective", "unknown")


def _decoded(row: dict[str, Any], path: str) -> dict[str, Any]:
    """Parse the JSON columns of a stored row and check every column's type.

    Raises
    ------
    StoreError
        Naming the trial and the column, for a row that was damaged or edited by hand.
    """
    where = f"store: {path}: trial {row.get('point_key')!r} #{row.get('trial')!r}"
    for col in ("widths", "witness", "stats"):
        if row[col] is not None:
            try:
                row[col] = json.loads(row[col])
            except (TypeError, ValueError) as exc:
                raise StoreError(f"{where}: column {col} is not valid JSON ({exc})") from exc
    problem = _row_problem(row)
    if problem:
        raise StoreError(f"{where}: {problem}")
    return row


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _row_problem(row: dict[str, Any]) -> str | None:
    """What is wrong with a decoded row, or None."""
    if row["status"] not in STATUSES:
        return f"status {row['status']!r} is not one of {STATUSES}"
    for col in _REQUIRED_INT:
        if not _is_int(row[col]):
            return f"column {col} holds {row[col]!r}, not an integer"
    for col in _OPTIONAL_INT:
        if row[col] is not None and not _is_int(row[col]):
            return f"column {col} holds {row[col]!r}, not an integer"
    for col in _REQUIRED_NUMBER + _OPTIONAL_NUMBER:
        value = row[col]
        if value is None and col in _OPTIONAL_NUMBER:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return f"column {col} holds {value!r}, not a number"
    widths = row["widths"]
    if not isinstance(widths, list) or not widths or not all(_is_int(w) and w > 0 for w in widths):
        return f"column widths holds {widths!r}, not a list of positive integers"
    witness = row["witness"]
    if witness is not None and not (
        isinstance(witness, dict)
        and set(witness) == {"x", "y"}
        and all(isinstance(witness[k], list) for k in ("x", "y"))
    ):
        return f"column witness holds {witness!r}, not {{'x': [...], 'y': [...]}} or null"
    if row["stats"] is not None and not isinstance(row["stats"], dict):
        return f"column stats holds {row['stats']!r}, not an object"
    return None


def _to_sql(value):
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(to_plain(value), separators=(",", ":"))
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalar
    return value


def timestamp() -> str:
    """The current time as the store writes it: ISO 8601 in UTC, to the microsecond.

    The runner stamps each row's ``finished_at`` with it, the store each spec's creation.
    """
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")

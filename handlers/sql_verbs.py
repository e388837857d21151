"""How the declarative adapter records a marketing refusal: a row in a consent log, or a column set false."""

from __future__ import annotations

from collections.abc import Callable

from handlers.mapping import Mapping, MappingError
from handlers.reference.db import Conn


class MarketingWriter:
    """R30, R31: idempotent; a log gets one refusal row per channel unless its latest row already refuses
    for the same source, so a retried task adds nothing."""

    def __init__(self, mapping: Mapping, match: Callable[[str], str]) -> None:
        self._spec = mapping.marketing
        self._match = match
        columns = self._spec.consent_columns if self._spec else None
        if columns and columns.table not in mapping.tables:
            raise MappingError(
                f"mapping {mapping.source}: marketing.consent_columns.table: '{columns.table}' "
                "is not a mapped table (its rows must be found by identity)"
            )

    def suppress(self, conn: Conn, email: str, channels: tuple[str, ...], source: str, now: str) -> None:
        if self._spec.consent_columns:  # type: ignore[union-attr]
            spec = self._spec.consent_columns  # type: ignore[union-attr]
            sets = ", ".join(f"{spec.columns[c]} = ?" for c in channels if c in spec.columns)
            if sets:
                params = [False] * sets.count("?")
                conn.execute(f"UPDATE {spec.table} SET {sets} WHERE {self._match(spec.table)}", (*params, email))
            return
        for channel in channels:
            if not self._refused(conn, email, channel, source):
                self._log(conn, email, channel, source, now)

    def _refused(self, conn: Conn, email: str, channel: str, source: str) -> bool:
        log = self._spec.consent_log  # type: ignore[union-attr]
        source_column = f", {log.source} AS source" if log.source else ""
        latest = conn.execute(
            f"SELECT {log.granted} AS granted{source_column} FROM {log.table} WHERE "
            f"{log.identity} = ? AND {log.channel} = ? ORDER BY {log.key} DESC LIMIT 1",
            (email, channel),
        ).fetchone()
        return latest is not None and not latest["granted"] and (not log.source or latest["source"] == source)

    def _log(self, conn: Conn, email: str, channel: str, source: str, now: str) -> None:
        log = self._spec.consent_log  # type: ignore[union-attr]
        row = {log.identity: email, log.channel: channel, log.granted: False}
        if log.source:
            row[log.source] = source
        specials = {"$now": now, "$source": source, "$email": email}
        row |= {column: specials.get(value, value) for column, value in log.values.items()}
        conn.execute(
            f"INSERT INTO {log.table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
        )

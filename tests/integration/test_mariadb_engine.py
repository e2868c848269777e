"""The MariaDB engine: READ COMMITTED, and one TLS context shared by its connections."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import build_engine
from core.mariadb_tls import SharedTLSConnection

pytestmark = pytest.mark.mariadb


def test_connections_share_one_tls_context_and_read_committed(mariadb_url: str) -> None:
    engine = build_engine(mariadb_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            connections = [c.connection.dbapi_connection for c in (first, second)]
            assert all(isinstance(c, SharedTLSConnection) for c in connections)
            assert connections[0].ctx is connections[1].ctx is not None
            level = first.execute(sa.text("SELECT @@tx_isolation")).scalar_one()
            assert level == "READ-COMMITTED"
    finally:
        engine.dispose()

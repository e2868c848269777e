"""One TLS context for every MariaDB connection that sets no TLS options of its own.

Without TLS options PyMySQL connects in "preferred" mode (TLS when the server offers it) and
builds a fresh `ssl.create_default_context()` for each connection: ~30 ms of CPU on the
project machine loading the CA certificates, with the GIL held, so every connection the pool
opened in a burst of sends stalled the event loop. The context it builds for that mode is
always the same (no CA, no host check), so one shared context keeps the behaviour.
"""

from __future__ import annotations

import ssl

import pymysql.connections


class SharedTLSConnection(pymysql.connections.Connection):
    """PyMySQL's connection, reusing one preferred-mode TLS context."""

    _preferred: ssl.SSLContext | None = None

    def _create_ssl_ctx(self, sslp: dict) -> ssl.SSLContext:
        if sslp:  # the URL's own TLS options: built as PyMySQL does
            return super()._create_ssl_ctx(sslp)
        if SharedTLSConnection._preferred is None:
            SharedTLSConnection._preferred = super()._create_ssl_ctx(sslp)
        return SharedTLSConnection._preferred

"""PostgreSQL for the store tests.

The suite runs on SQLite by default.  To run it on PostgreSQL, point
``DATABASE_URL`` at a server (CI and ``make test`` do, with
``postgresql://postgres@127.0.0.1:5432/intake``): pytest-django then creates
its own database ``test_intake_<pid>`` there and drops it at the end.  A
URL whose server does not answer skips loudly (fails in CI).
"""

from __future__ import annotations

from typing import Any

import psycopg


def unreachable_reason(db: dict[str, Any]) -> str | None:
    """Why the PostgreSQL server in a Django DATABASES entry cannot be used, or None."""
    try:
        with psycopg.connect(
            dbname="postgres",
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} not usable: {type(exc).__name__}"

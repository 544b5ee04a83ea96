"""PostgreSQL access: the pool, migrations and lead queries (see `database.py`)."""

from activities.crm.db.database import MIGRATIONS_DIR, Database, DatabaseError, migration_files

__all__ = ["MIGRATIONS_DIR", "Database", "DatabaseError", "migration_files"]

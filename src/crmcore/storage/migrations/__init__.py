"""Alembic migrations of crmcore's SQL schema, shipped inside the package.

``SqlStore.upgrade_schema()`` runs them (see :mod:`crmcore.storage._migrate`);
no ``alembic.ini`` or ``env.py`` is needed.  One revision per schema version,
with the revision id ``v<N>`` (``crm_schema.version`` holds ``N``, and
``crm_alembic_version`` holds ``v<N>``).  Each revision's DDL is written out
in full and frozen: it must keep producing the schema of its release even
after the entity definitions change.  To add version ``N+1``: copy the
latest file in ``versions/``, set ``revision = "v<N+1>"`` and
``down_revision = "v<N>"``, write the DDL, bump ``SCHEMA_VERSION`` and keep
``crmcore.storage._sqlschema`` in step (a test compares the migrated schema
with the one ``create_schema()`` builds).
"""

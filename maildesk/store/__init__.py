"""The store: models, sessions, migrations, ticket numbering.

Importing ``maildesk.store.models`` loads every model module, so ``Base.metadata`` is always
the whole schema (for migrations and for the tests that compare them). The package itself
imports nothing, so that the parts that need no SQLAlchemy (``dberrors``, ``revision``) stay cheap.
"""

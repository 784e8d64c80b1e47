"""The store: models, sessions, migrations, ticket numbering.

Importing the package loads every model module, so ``Base.metadata`` is always
the whole schema (for migrations and for the tests that compare them).
"""

from maildesk.store import models, models_conversation, models_kb, models_people

__all__ = ["models", "models_conversation", "models_kb", "models_people"]

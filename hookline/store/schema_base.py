"""What every table module shares: one MetaData (with its naming rules) and the id width.

Kept apart from ``tables`` so the feature table modules (alerts, SurveyCake, the Open
API) can declare their tables on the same metadata without importing ``tables``."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 40

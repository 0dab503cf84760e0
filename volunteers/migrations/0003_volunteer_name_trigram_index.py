"""A trigram index for finding volunteers by a part of their name (the list's search
and the global search /search/); ``icontains`` is ``UPPER(name::text) LIKE ...``."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite has no pg_trgm: a plain scan
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS volunteer_name_trgm_idx ON volunteers_volunteer"
                          " USING gin ((UPPER(name::text)) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS volunteer_name_trgm_idx")


class Migration(migrations.Migration):

    dependencies = [
        ("volunteers", "0002_volunteer_newest_first"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]

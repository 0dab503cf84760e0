import time

from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Rebuild the dashboards' rollups (finding tallies and closure facts) from the findings and tasks, "
             "and the registered-volunteer tally from the volunteers.")

    def handle(self, *args, **options):
        from inspections.models import ChronicPoint, ClosureTally, FindingTally, RecurrenceTally
        from inspections.rollups import rebuild
        from volunteers import tally as volunteer_tally
        from volunteers.models import VolunteerTally

        t0 = time.monotonic()
        stats = rebuild()
        volunteer_rows = volunteer_tally.rebuild()
        if connection.vendor == "postgresql":
            # A rebuild rewrites every tally row: fresh statistics now, not when autovacuum passes (stale ones
            # made the district's recurrence rates a 1-second plan at bench-1M; docs/dashboards.md).
            with connection.cursor() as cursor:
                for model in (FindingTally, ClosureTally, RecurrenceTally, ChronicPoint, VolunteerTally):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        self.stdout.write(f"rollups rebuilt: {stats['finding_rows']} finding rows, {stats['closure_rows']} closure "
                          f"rows, {volunteer_rows} volunteer rows ({time.monotonic() - t0:.1f}s)")

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Rebuild the dashboards' rollups (finding tallies and closure facts) from the findings and tasks.")

    def handle(self, *args, **options):
        from inspections.rollups import rebuild

        t0 = time.monotonic()
        stats = rebuild()
        self.stdout.write(f"rollups rebuilt: {stats['finding_rows']} finding rows, {stats['closure_rows']} closure "
                          f"rows ({time.monotonic() - t0:.1f}s)")

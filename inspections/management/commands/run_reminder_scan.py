from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Run one reminder scan now: rectification tasks (due soon, overdue, 督办, 挂牌督办) and work items.")

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="store_true",
                            help="Fan out through Celery (as beat does) instead of sending in this process.")
        parser.add_argument("--volunteers", action="store_true",
                            help="Also send tomorrow's volunteer activity reminders.")

    def handle(self, *args, queue: bool = False, volunteers: bool = False, **options):
        from inspections import reminders
        from notifications import workitems

        tasks, items = reminders.scan(inline=not queue), workitems.scan(inline=not queue)
        for name, report in (("tasks", tasks), ("work items", items)):
            if queue:
                self.stdout.write(f"{name}: {len(report.queued)} reminder level(s) queued of {len(report.due)} due")
            else:
                self.stdout.write(f"{name}: {len(report.sent)} reminder level(s) sent, "
                                  f"{len(report.claimed)} already claimed")
        if volunteers:
            from volunteers.reminders import send_activity_reminders

            self.stdout.write(f"volunteer activity reminders: {send_activity_reminders()} sent")

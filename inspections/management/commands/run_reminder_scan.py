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

        due = reminders.run_scan(inline=not queue)
        if queue:
            from notifications.tasks import scan_workitem_reminders

            sent = scan_workitem_reminders()
        else:
            sent = sum(workitems.workitem_remind(workitem_id=item_id, level=level)
                       for item_id, level in workitems.due_reminders())
        done = "queued" if queue else "sent"
        self.stdout.write(f"tasks: {len(due)} reminder level(s) {done}; work items: {sent} {done}")
        if volunteers:
            from volunteers.reminders import send_activity_reminders

            self.stdout.write(f"volunteer activity reminders: {send_activity_reminders()} sent")

# The task list page's capped count reads the campaign and the scope paths from an index in primary-key
# order (issue 13): no visit of the table per entry.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0010_point_scope_paths'),
        ('inspections', '0025_finding_search_cover_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='rectificationtask',
            index=models.Index(fields=['id'], include=('campaign', 'unit_path', 'department_path'), name='task_scope_count_idx'),
        ),
    ]

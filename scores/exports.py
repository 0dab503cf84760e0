"""The annual report of a unit as an xlsx workbook (月度得分, 申诉, 问责记录)."""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook


def annual_report_xlsx(report: dict, *, user=None) -> FileResponse:
    book = Workbook(write_only=True)
    months = book.create_sheet(title=str(_("Monthly scores"))[:31])
    months.append([_("unit"), _("month"), _("total"), _("rank"), _("units ranked"), _("list"), _("grade"),
                   _("field score (F)"), _("rectification score (R)"), _("tasks due"), _("closed"),
                   _("closed on time"), _("rectification rate (%)")])
    for m in report["months"]:
        months.append([report["unit"], m["month"], m["total"], m["rank"], m["ranked_count"], m["list_flag"],
                       m["grade"], m["field_score"], m["rectification_score"], m["tasks"], m["tasks_closed"],
                       m["tasks_on_time"], m["rectification_rate"]])
    appeals = book.create_sheet(title=str(_("Appeals"))[:31])
    appeals.append([_("number"), _("month"), _("appealed"), _("status"), _("correction")])
    for a in report["appeals"]:
        appeals.append([a["id"], a["month"], a["target"], a["status"], a["resolution"]])
    records = book.create_sheet(title=str(_("Accountability records"))[:31])
    records.append([_("number"), _("accountability measure"), _("date"), _("decision maker"), _("document number")])
    for r in report["accountability_records"]:
        records.append([r["id"], r["kind"], r["date"], r["decision_maker"], r["document_number"]])
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"annual-{report['unit_code']}-{report['year']}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

"""The annual report of a unit as an xlsx workbook (月度得分, 申诉, 问责记录)."""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook

from civportal.xlsx import export_row


def annual_report_xlsx(report: dict, *, user=None) -> FileResponse:
    """Every cell through ``export_row``: the decision maker and document number are typed by people."""
    book = Workbook(write_only=True)

    def sheet(title, headers, rows):
        ws = book.create_sheet(title=str(title)[:31])
        ws.append(export_row(ws, [str(h) for h in headers]))
        for row in rows:
            ws.append(export_row(ws, row))

    sheet(_("Monthly scores"), [
        _("unit"), _("month"), _("total"), _("rank"), _("units ranked"), _("list"), _("grade"), _("field score (F)"),
        _("rectification score (R)"), _("tasks due"), _("closed"), _("closed on time"), _("rectification rate (%)")],
        ([report["unit"], m["month"], m["total"], m["rank"], m["ranked_count"], m["list_flag"], m["grade"],
          m["field_score"], m["rectification_score"], m["tasks"], m["tasks_closed"], m["tasks_on_time"],
          m["rectification_rate"]] for m in report["months"]))
    sheet(_("Appeals"), [_("number"), _("month"), _("appealed"), _("status"), _("correction")],
          ([a["id"], a["month"], a["target"], a["status"], a["resolution"]] for a in report["appeals"]))
    sheet(_("Accountability records"),
          [_("number"), _("accountability measure"), _("date"), _("decision maker"), _("document number")],
          ([r["id"], r["kind"], r["date"], r["decision_maker"], r["document_number"]]
           for r in report["accountability_records"]))
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"annual-{report['unit_code']}-{report['year']}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

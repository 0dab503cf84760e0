from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/new/", views.notice_create, name="notice_create"),
    path("notices/export.xlsx", views.notice_export, name="notice_export"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/reply/", views.notice_reply, name="notice_reply"),
    path("notices/<int:pk>/receipts/", views.notice_receipts, name="notice_receipts"),
    path("notices/<int:pk>/receipts.xlsx", views.notice_receipts_export, name="notice_receipts_export"),
    path("notices/<int:pk>/remind/", views.notice_remind, name="notice_remind"),
    path("notices/attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("notices/replies/<int:pk>/file/", views.reply_download, name="reply_download"),
]

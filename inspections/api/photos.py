"""Evidence photos are served only through this view: the caller must be
allowed to see the finding (or task) the photo belongs to, else 404."""

from __future__ import annotations

from django.http import FileResponse, Http404
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from .. import selectors


@extend_schema(exclude=True)
class PhotoView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request, kind: str, pk: int, variant: str):
        photo = selectors.visible_photo(request.user, kind, pk)
        if photo is None or variant not in ("full", "thumb"):
            raise Http404
        field = photo.image if variant == "full" else photo.thumbnail
        try:
            handle = field.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404 from None
        response = FileResponse(handle, content_type=photo.content_type or "image/jpeg")
        # Private: never stored by shared caches; the browser may keep it briefly.
        response["Cache-Control"] = "private, max-age=3600"
        response["Content-Disposition"] = f'inline; filename="{kind}-{pk}-{variant}.jpg"'
        return response

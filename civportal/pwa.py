"""The installable web app (docs/offline.md): the manifest, the service worker
served from the site root, the pages it falls back to offline, and the
plumbing that keeps a draft from the phone's outbox with the person who wrote it.

Field pages opt in to offline use with ``@offline_page``: the service worker
keeps a copy of each such page a signed-in user opens, and shows it again when
the network is gone. Apps name the pages to cache ahead in
``settings.OFFLINE_PRECACHE_PAGES`` (URL names), so the core imports no app."""

from __future__ import annotations

import functools
import hashlib
import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

OFFLINE_HEADER = "X-Offline-Page"
# Everything a field page needs to draw itself without the network.
SHELL_ASSETS = [
    "css/app.css", "img/favicon.svg", "img/bell.svg", "img/icon-192.png", "js/nav.js", "js/outbox.js",
    "js/offline.js", "js/finding-record.js",
]


def offline_page(view):
    """Mark a page's successful GET answers as worth keeping on the phone for offline use."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200:
            response[OFFLINE_HEADER] = "1"
        return response

    return wrapped


def _shell_assets() -> list[str]:
    return SHELL_ASSETS + list(getattr(settings, "OFFLINE_SHELL_ASSETS", []))


def _precache_pages() -> list[str]:
    urls = [reverse("outbox")]
    for name in getattr(settings, "OFFLINE_PRECACHE_PAGES", []):
        try:
            urls.append(reverse(name))
        except NoReverseMatch:
            continue
    return urls


def _version(assets: list[str], pages: list[str]) -> str:
    """Changes whenever a cached asset changes, so browsers install the new worker.
    With hashed static names (production) the URLs say it; in development the
    files' contents do."""
    digest = hashlib.sha256(json.dumps([assets, pages]).encode())
    for path in _shell_assets():
        found = finders.find(path)
        if found:
            with open(found, "rb") as fh:
                digest.update(fh.read())
    with open(settings.BASE_DIR / "templates" / "pwa" / "sw.js", "rb") as fh:
        digest.update(fh.read())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _cached_config() -> dict:
    return _config()


def _config() -> dict:
    # The offline page carries no user data: it is kept with the static files.
    assets = [static(path) for path in _shell_assets()] + [reverse("offline"), reverse("manifest")]
    pages = _precache_pages()
    return {
        "version": _version(assets, pages),
        "staticUrl": settings.STATIC_URL,
        "assets": assets,
        "pages": pages,
        "offlineUrl": reverse("offline"),
        "manifestUrl": reverse("manifest"),
        "header": OFFLINE_HEADER,
        # Signing in or out empties the kept pages: they carry the previous user's data.
        "purgeOn": [reverse("login"), reverse("logout")],
        "csrfCookie": settings.CSRF_COOKIE_NAME,
        "outboxJs": static("js/outbox.js"),
        "networkTimeoutMs": 8000,
    }


@require_GET
@never_cache
def service_worker(request):
    """The service worker, served from the root so that its scope is the whole site."""
    config = _config() if settings.DEBUG else _cached_config()
    body = render(request, "pwa/sw.js", {"config": json.dumps(config, ensure_ascii=True)}).content
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def manifest(request):
    """The web app manifest: name, icons and how the installed app opens."""
    data = {
        "name": str(settings.PORTAL_NAME),
        "short_name": pgettext("short name of the installed app", "Campaign"),
        "description": _("Field work of the civilized city campaign: inspections and findings, also offline."),
        "lang": request.LANGUAGE_CODE,
        "start_url": reverse("home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f6f8",
        "theme_color": "#b4232a",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static("img/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    response["Cache-Control"] = "max-age=3600"
    return response


def offline(request):
    """What the phone shows for a page it has not kept while there is no network."""
    return render(request, "pwa/offline.html")


@login_required
@offline_page
def outbox(request):
    """The drafts kept on this phone that are not sent yet (drawn by static/js/offline.js)."""
    return render(request, "pwa/outbox.html")


class OutboxUserMiddleware:
    """A draft kept on a shared phone is sent only in the session of the person
    who wrote it: the outbox names them in ``X-Outbox-User``, and a request made
    by someone else (or after signing out) is refused before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        owner = request.headers.get("X-Outbox-User")
        if owner is not None:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated or str(user.pk) != owner:
                return JsonResponse({"code": "outbox_user", "detail": _(
                    "Sign in as the person who wrote this draft to send it.")}, status=403)
        return self.get_response(request)

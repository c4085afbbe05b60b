"""The development mailbox: the emails the file backend wrote, readable in the app while DEBUG is on."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.http import require_GET


def _mail_dir() -> Path:
    if not settings.DEV_MAILBOX:
        raise Http404("The development mailbox is only available with DEBUG on.")
    return Path(settings.MAILERS["default"]["OPTIONS"]["file_path"])


def _messages(path: Path) -> list[email.message.EmailMessage]:
    # The file backend appends every message of one connection to one .log file,
    # separated by a line of 79 dashes.
    raw = path.read_bytes()
    parts = [p.strip(b"\n") for p in raw.split(b"-" * 79 + b"\n")]
    return [email.message_from_bytes(p, policy=email.policy.default) for p in parts if p.strip()]


@require_GET
def dev_mailbox(request: HttpRequest) -> HttpResponse:
    folder = _mail_dir()
    rows = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:200]:
        for index, msg in enumerate(_messages(path)):
            rows.append(
                {"file": path.name, "index": index, "subject": msg["subject"], "to": msg["to"], "date": msg["date"]}
            )
    return render(request, "core/dev_mailbox.html", {"rows": rows, "folder": folder})


@require_GET
def dev_mail_message(request: HttpRequest, name: str, index: int) -> HttpResponse:
    folder = _mail_dir()
    path = folder / name
    if path.parent != folder or not path.is_file():
        raise Http404("No such message.")
    msgs = _messages(path)
    if index >= len(msgs):
        raise Http404("No such message.")
    msg = msgs[index]
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return render(
        request,
        "core/dev_mail_message.html",
        {
            "msg": msg,
            "text": text.get_content() if text else "",
            "has_html": html is not None,
            "headers": [(k, v) for k, v in msg.items()],
        },
    )


# --- error pages: JSON under /api/, our own templates elsewhere.


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": str(exception) or "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Something went wrong on our side. It has been logged."}, status=500)
    return defaults.server_error(request)

"""Pages of the members app: a resident's settings and data, an organisation's staff."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from rest_framework.authtoken.models import Token

from groups.models import Area
from notifications.push import preferences_page_context

from . import selectors, services
from .decorators import force_admin_required, officer_required
from .forms import AccountDeleteForm, OfficerCreateForm, PreferencesForm, ProfileForm
from .links import preferences_link_member
from .models import ConsentRecord, ConsentText


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.user.is_officer:
        return render(request, "members/officer_home.html")
    return render(request, "members/home.html")


# --- a member's own settings


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    member = request.user
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=member)
    if request.method == "POST" and form.is_valid():
        # The ModelForm only validates; the service changes and audits.
        member.refresh_from_db()
        changed = services.profile_update(member=member, actor=member, data=form.cleaned_data)
        messages.success(request, "Your details are saved." if changed else "Nothing was changed.")
        return redirect("members:profile")
    home_areas = Area.objects.filter(
        memberships__member=member, level__in=[Area.Level.WARD, Area.Level.DISTRICT]
    ).order_by("-level")
    return render(
        request, "members/profile.html", {"form": form, "home_areas": home_areas}, status=400 if form.errors else 200
    )


def _preferences_page(request: HttpRequest, *, member, source: str, template: str, extra: dict):
    prefs = member.preferences
    form = PreferencesForm(request.POST if request.method == "POST" else None, instance=prefs, member=member)
    if request.method == "POST":
        if form.is_valid():
            prefs.refresh_from_db()
            try:
                changed = services.preferences_update(
                    member=member,
                    actor=member,
                    data=form.preference_data(),
                    interests=form.cleaned_data["interests"],
                    source=source,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if changed and source == ConsentRecord.Source.SIGNED_LINK:
                    messages.success(request, "Your settings are saved. We have emailed you to confirm the change.")
                else:
                    messages.success(request, "Your settings are saved." if changed else "Nothing was changed.")
                return redirect(request.path)
        if request.htmx:
            return render(request, template, {"form": form, **extra}, status=400)
    return render(request, template, {"form": form, **extra}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def preferences_edit(request: HttpRequest) -> HttpResponse:
    """Channels, interests, frequency, quiet hours and the SMS threshold."""
    return _preferences_page(
        request,
        member=request.user,
        source=ConsentRecord.Source.SETTINGS,
        template="members/preferences.html",
        extra=preferences_page_context(member=request.user),
    )


@csrf_exempt  # only for RFC 8058's one-click POST; every other POST is checked below
@require_http_methods(["GET", "POST"])
def preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    """The same settings, reached from the signed link in any message, without logging in.

    It is also the List-Unsubscribe target of our emails: a mail client's one-click
    unsubscribe (RFC 8058) POSTs `List-Unsubscribe=One-Click` here with no cookie and
    no CSRF token, and turns email off. The signed token is what authorises it.
    """
    member = preferences_link_member(token=token)
    if member is None:
        return render(request, "members/preferences_link_invalid.html", status=404)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        services.preferences_update(
            member=member, actor=member, data={"channel_email": False}, source=ConsentRecord.Source.ONE_CLICK
        )
        return HttpResponse("Unsubscribed from email.", content_type="text/plain")
    if request.method == "POST":
        refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if refused is not None:
            return refused
    if request.method == "POST" and request.POST.get("stop_all"):
        services.preferences_update(
            member=member,
            actor=member,
            data={"channel_inbox": True, "channel_email": False, "channel_sms": False, "channel_push": False},
            source=ConsentRecord.Source.SIGNED_LINK,
        )
        messages.success(
            request,
            "You will get no more emails, texts or push notifications. Messages still wait for you in the app's inbox.",
        )
        return redirect(request.path)
    return _preferences_page(
        request,
        member=member,
        source=ConsentRecord.Source.SIGNED_LINK,
        template="members/preferences_link.html",
        extra={"link_member": member, **preferences_page_context(member=member, devices=False)},
    )


@login_required
@require_http_methods(["GET"])
def privacy(request: HttpRequest) -> HttpResponse:
    """Who may reach me, what I agreed to, my data: download it or delete my account."""
    member = request.user
    return render(
        request,
        "members/privacy.html",
        {
            "organisations": selectors.organisations_with_opt_in(member=member),
            "consents": selectors.consent_history(member=member)[:100],
            "organisation_text": services.consent_text_current(purpose=ConsentText.Purpose.ORGANISATION),
        },
    )


@login_required
@require_POST
def organisation_opt_in(request: HttpRequest, slug: str) -> HttpResponse:
    """Opt in to, or withdraw from, one organisation (a toggle; HTMX swaps just its row)."""
    if request.user.is_officer:
        raise PermissionDenied("Organisation opt-ins are for residents; officers belong to their organisation.")
    organisation = get_object_or_404(selectors.organisations_active(), slug=slug)
    opted_in = request.POST.get("opted_in") == "1"
    services.organisation_opt_in_set(
        member=request.user,
        organisation=organisation,
        opted_in=opted_in,
        source=ConsentRecord.Source.SETTINGS,
    )
    text = services.consent_text_current(purpose=ConsentText.Purpose.ORGANISATION)
    if request.htmx:
        org = selectors.organisations_with_opt_in(member=request.user).get(pk=organisation.pk)
        return render(request, "members/_organisation_row.html", {"org": org, "organisation_text": text})
    if opted_in:
        messages.success(request, f"{organisation.name} can now see your details and send you messages.")
    else:
        messages.success(request, f"{organisation.name} can no longer see your details or message you.")
    return redirect("members:privacy")


@login_required
@require_http_methods(["GET"])
def export_download(request: HttpRequest) -> HttpResponse:
    """All data held about the member, as one JSON file (one click from the privacy page)."""
    document = services.member_export(member=request.user, actor=request.user)
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    filename = f"mcv-my-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    member = request.user
    if member.is_officer:
        raise PermissionDenied("Officers' accounts are closed by their force admin.")
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, member=member)
    if request.method == "POST" and form.is_valid():
        services.member_erase(member=member, actor=member)
        logout(request)
        return render(request, "members/account_deleted.html")
    return render(request, "members/account_delete.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    """Create (or replace) and revoke the member's API token. The key is shown once."""
    key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.api_token_revoke(member=request.user)
            messages.success(request, "Your API token no longer works.")
            return redirect("members:api_token")
        key = services.api_token_rotate(member=request.user).key
    has_token = Token.objects.filter(user=request.user).exists()
    return render(request, "members/api_token.html", {"key": key, "has_token": has_token})


# --- an organisation's staff and members


@officer_required
@require_http_methods(["GET"])
def organisation_members(request: HttpRequest) -> HttpResponse:
    """The residents who opted in to this officer's organisation, and only those."""
    page = Paginator(selectors.members_visible_to(viewer=request.user).order_by("last_name", "first_name", "id"), 50)
    return render(
        request,
        "members/organisation_members.html",
        {"page": page.get_page(request.GET.get("page")), "organisation": request.user.organisation},
    )


@force_admin_required
@require_http_methods(["GET"])
def officers_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.officers_visible_to(viewer=request.user), 50)
    return render(
        request,
        "members/officers.html",
        {"page": page.get_page(request.GET.get("page")), "organisation": request.user.organisation},
    )


@force_admin_required
@require_http_methods(["GET", "POST"])
def officer_create(request: HttpRequest) -> HttpResponse:
    form = OfficerCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            officer = services.officer_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{officer.get_full_name()} has been added and emailed a link to set a password.")
            return redirect("members:officers")
    return render(request, "members/officer_create.html", {"form": form}, status=400 if form.errors else 200)


@force_admin_required
@require_POST
def officer_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    officer = selectors.officers_visible_to(viewer=request.user).filter(pk=pk).first()
    if officer is None:
        raise Http404("No such officer in your organisation.")
    try:
        services.officer_set_active(actor=request.user, officer=officer, active=request.POST.get("active") == "1")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        state = "can log in again" if officer.is_active else "is suspended and can no longer log in"
        messages.success(request, f"{officer.get_full_name()} {state}.")
    return redirect("members:officers")

"""Pages of community groups: finding and joining them, and running them as a coordinator."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from members.models import Member

from . import memberships as services
from . import selectors
from .models import CommunityGroup, Membership
from .permissions import can_appoint_coordinator, can_manage_group, group_open_to


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address of the person to invite")


class AppointForm(forms.Form):
    email = forms.EmailField(label="Email address of the member to make coordinator")


def _visible_group(request: HttpRequest, slug: str) -> CommunityGroup:
    return get_object_or_404(selectors.groups_visible_to(viewer=request.user), slug=slug)


def _managed_group(request: HttpRequest, slug: str) -> CommunityGroup:
    group = _visible_group(request, slug)
    if not can_manage_group(member=request.user, group=group):
        raise PermissionDenied("Only this group's coordinators and its organisation's officers can manage it.")
    return group


@login_required
@require_http_methods(["GET"])
def group_list(request: HttpRequest) -> HttpResponse:
    """A resident's groups, the groups open to them, and those near where they live."""
    member = request.user
    if member.is_officer:
        return redirect("groups:manage_list")
    return render(
        request,
        "groups/list.html",
        {
            "mine": selectors.groups_of(member=member),
            "open_to_me": selectors.groups_open_to(member=member)[:100],
            "near": selectors.groups_near(member=member).exclude(
                Q(memberships__member=member) | Q(join_policy=CommunityGroup.JoinPolicy.INVITATION)
            )[:50],
            "managed": selectors.groups_managed_by(member=member),
        },
    )


@login_required
@require_http_methods(["GET"])
def group_detail(request: HttpRequest, slug: str) -> HttpResponse:
    group = _visible_group(request, slug)
    membership = Membership.objects.filter(group=group, member=request.user).first()
    return render(
        request,
        "groups/detail.html",
        {
            "group": group,
            "membership": membership,
            "can_join": membership is None and group_open_to(member=request.user, group=group),
            "can_manage": can_manage_group(member=request.user, group=group),
            "active_members": group.memberships.filter(status=Membership.Status.ACTIVE).count(),
        },
    )


@login_required
@require_POST
def group_join(request: HttpRequest, slug: str) -> HttpResponse:
    group = _visible_group(request, slug)
    try:
        membership = services.group_join(
            member=request.user, group=group, share_contact=request.POST.get("share_contact") == "on"
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("groups:detail", slug=slug)
    if membership.status == Membership.Status.ACTIVE:
        messages.success(request, f"You have joined {group.name}.")
    else:
        messages.success(request, f"You have asked to join {group.name}. A coordinator will decide.")
    return redirect("groups:detail", slug=slug)


@login_required
@require_POST
def group_leave(request: HttpRequest, slug: str) -> HttpResponse:
    group = _visible_group(request, slug)
    if services.group_leave(member=request.user, group=group):
        messages.success(request, f"You have left {group.name}.")
    return redirect("groups:list")


@login_required
@require_POST
def group_sharing(request: HttpRequest, slug: str) -> HttpResponse:
    group = _visible_group(request, slug)
    try:
        services.membership_share_contact_set(
            member=request.user, group=group, share=request.POST.get("share_contact") == "1"
        )
    except Membership.DoesNotExist as exc:
        raise Http404("You are not in this group.") from exc
    messages.success(request, "Your choice is saved.")
    return redirect("groups:detail", slug=slug)


@login_required
@require_http_methods(["GET"])
def manage_list(request: HttpRequest) -> HttpResponse:
    groups = selectors.groups_managed_by(member=request.user).order_by("name")
    if not request.user.is_officer and not groups.exists():
        raise PermissionDenied("You do not coordinate any group.")
    return render(request, "groups/manage_list.html", {"groups": groups})


@login_required
@require_http_methods(["GET"])
def manage(request: HttpRequest, slug: str) -> HttpResponse:
    """A coordinator's view of their group: who asked to join, who shares their details, inviting."""
    return _manage_page(request, _managed_group(request, slug))


def _manage_page(request: HttpRequest, group: CommunityGroup, *, invite_form=None, appoint_form=None) -> HttpResponse:
    """The manage page, with a form that failed (400) or fresh forms (200)."""
    failed = invite_form is not None or appoint_form is not None
    if appoint_form is None and can_appoint_coordinator(member=request.user, group=group):
        appoint_form = AppointForm()
    return render(
        request,
        "groups/manage.html",
        {
            "group": group,
            "roster": selectors.group_roster(group=group, viewer=request.user),
            "invite_form": invite_form or InviteForm(),
            "appoint_form": appoint_form,
        },
        status=400 if failed else 200,
    )


@login_required
@require_POST
def manage_decide(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    group = _managed_group(request, slug)
    pending = selectors.group_roster(group=group, viewer=request.user)["pending"]
    membership = get_object_or_404(pending.select_related("group"), pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        services.membership_decide(actor=request.user, membership=membership, approve=approve)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        name = membership.member.get_full_name()
        messages.success(request, f"{name} {'has joined' if approve else 'was declined'}.")
    return redirect("groups:manage", slug=slug)


@login_required
@require_POST
def manage_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    group = _managed_group(request, slug)
    roster = selectors.group_roster(group=group, viewer=request.user)
    membership = roster["shared"].filter(pk=pk).first()
    if membership is None:
        raise Http404("No such member in this group's list.")
    try:
        services.membership_remove(actor=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.member.get_full_name()} was removed from the group.")
    return redirect("groups:manage", slug=slug)


@login_required
@require_POST
def manage_invite(request: HttpRequest, slug: str) -> HttpResponse:
    group = _managed_group(request, slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        services.invitation_create(actor=request.user, group=group, email=form.cleaned_data["email"])
        messages.success(request, f"An invitation has been emailed to {form.cleaned_data['email']}.")
        return redirect("groups:manage", slug=slug)
    return _manage_page(request, group, invite_form=form)


@login_required
@require_POST
def appoint_coordinator(request: HttpRequest, slug: str) -> HttpResponse:
    group = _visible_group(request, slug)
    if not can_appoint_coordinator(member=request.user, group=group):
        raise PermissionDenied("Only the organisation's force admins appoint coordinators.")
    form = AppointForm(request.POST)
    member = None
    if form.is_valid():
        member = Member.objects.filter(email__iexact=form.cleaned_data["email"], erased_at__isnull=True).first()
        if member is None:
            form.add_error("email", "No member has this email address.")
    if member is not None:
        try:
            services.coordinator_appoint(actor=request.user, group=group, member=member)
        except ValidationError as exc:
            form.add_error("email", " ".join(exc.messages))
        else:
            messages.success(request, f"{member.get_full_name()} is now a coordinator of {group.name}.")
            return redirect("groups:manage", slug=slug)
    return _manage_page(request, group, appoint_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_from_token(token)
    if invitation is None:
        return render(request, "groups/invitation_invalid.html", status=404)
    if request.method == "POST":
        try:
            services.invitation_accept(member=request.user, invitation=invitation)
        except (PermissionDenied, ValidationError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            return render(request, "groups/invitation.html", {"invitation": invitation, "error": text}, status=403)
        messages.success(request, f"You have joined {invitation.group.name}.")
        return redirect("groups:detail", slug=invitation.group.slug)
    return render(request, "groups/invitation.html", {"invitation": invitation})

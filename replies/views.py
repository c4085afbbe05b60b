"""Pages of replies: a resident's conversations, rating and replying; the officers' reply inbox.

Residents rate and reply from the panel under each message in their inbox
(templates/replies/_panel.html); the forms post here and come back to the message.
Officers work their organisation's replies from one inbox: filter, open, answer,
assign, close. Force admins set the trigger words and the duty address.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from members.decorators import force_admin_required, officer_required
from members.selectors import members_visible_to
from notifications.models import Dispatch

from . import selectors, services
from .forms import AnswerForm, AssignForm, InboxFilterForm, RatingForm, ReplyForm, ReplySettingsForm
from .models import Thread
from .templatetags.replies import panel_context

PAGE_SIZE = 25


def _form_error(form, exc: ValidationError, field: str) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else field, errors)
    else:
        form.add_error(field, exc.messages)


# --- residents


def _resident_dispatch(request: HttpRequest, dispatch_pk: int) -> Dispatch:
    """A message the resident was sent and may answer; officers are refused, anything else is 404."""
    if request.user.is_officer:
        raise PermissionDenied("Officers answer residents from the reply inbox.")
    return get_object_or_404(selectors.dispatches_replyable_by(member=request.user), pk=dispatch_pk)


def _back_to(request: HttpRequest, dispatch: Dispatch) -> str:
    """Where a resident's form goes back to: the message in their inbox, else their conversation."""
    delivery = selectors.inbox_delivery_for(member=request.user, dispatch_id=dispatch.pk)
    if delivery is not None:
        return reverse("notifications:message", kwargs={"pk": delivery.pk})
    thread = selectors.thread_for_dispatch(member=request.user, dispatch=dispatch)
    if thread is not None:
        return reverse("replies:mine_thread", kwargs={"pk": thread.pk})
    return reverse("replies:mine")


def _panel_page(request: HttpRequest, dispatch: Dispatch, *, reply_form=None, rating_form=None) -> HttpResponse:
    """The resident's panel on a page of its own, showing what was wrong with what they sent (400)."""
    context = panel_context(member=request.user, dispatch=dispatch, reply_form=reply_form, rating_form=rating_form)
    return render(
        request,
        "replies/form_errors_page.html",
        {**context, "back": _back_to(request, dispatch), "form": reply_form or rating_form},
        status=400,
    )


@login_required
@require_POST
def reply(request: HttpRequest, dispatch_pk: int) -> HttpResponse:
    """A resident sends a private reply to a message they were sent."""
    dispatch = _resident_dispatch(request, dispatch_pk)
    form = ReplyForm(request.POST, organisation_name=dispatch.organisation.name)
    if form.is_valid():
        try:
            services.reply_create(resident=request.user, dispatch=dispatch, body=form.cleaned_data["body"])
        except ValidationError as exc:
            _form_error(form, exc, "body")
        else:
            messages.success(request, f"Your message was sent to {dispatch.organisation.name}.")
            return redirect(_back_to(request, dispatch))
    return _panel_page(request, dispatch, reply_form=form)


@login_required
@require_POST
def rate(request: HttpRequest, dispatch_pk: int) -> HttpResponse:
    """A resident rates how useful a message was (1 to 5), or changes their rating."""
    dispatch = _resident_dispatch(request, dispatch_pk)
    form = RatingForm(request.POST)
    if form.is_valid():
        rating = services.rating_set(resident=request.user, dispatch=dispatch, score=form.cleaned_data["score"])
        messages.success(request, f"Thank you. You rated this message {rating.score} out of 5.")
        return redirect(_back_to(request, dispatch))
    return _panel_page(request, dispatch, rating_form=form)


@login_required
@require_safe
def mine(request: HttpRequest) -> HttpResponse:
    """A resident's conversations with the organisations that messaged them."""
    if request.user.is_officer:
        return redirect("replies:inbox")
    page = Paginator(selectors.threads_of_resident(member=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "replies/mine.html", {"page": page})


@login_required
@require_safe
def mine_thread(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the resident's conversations, with the form to write more."""
    try:
        thread = selectors.thread_of_resident(member=request.user, thread_id=pk)
    except Thread.DoesNotExist as exc:
        raise Http404("No such conversation.") from exc
    delivery = selectors.inbox_delivery_for(member=request.user, dispatch_id=thread.dispatch_id)
    return render(
        request, "replies/mine_thread.html", {"thread": thread, "dispatch": thread.dispatch, "delivery": delivery}
    )


# --- officers


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """The organisation's reply inbox: urgent first, filtered by view, alert and area."""
    if not request.user.is_officer:
        return redirect("replies:mine")
    return _officer_inbox(request)


@officer_required
def _officer_inbox(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = InboxFilterForm(
        request.GET or None,
        dispatches=selectors.inbox_filter_dispatches(viewer=viewer),
        areas=selectors.inbox_filter_areas(viewer=viewer),
    )
    filters, status = selectors.InboxFilters(), 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            filters = selectors.InboxFilters(
                view=data["view"] or "open",
                dispatch_id=data["alert"].pk if data["alert"] else None,
                area_id=data["area"].pk if data["area"] else None,
            )
        else:
            status = 400
    threads = selectors.reply_inbox(viewer=viewer, filters=filters)
    counts = selectors.reply_inbox_counts(viewer=viewer)
    page = Paginator(threads, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "replies/inbox.html",
        {
            "form": form,
            "filters": filters,
            "tabs": [(key, label, counts[key]) for key, label in selectors.VIEWS.items()],
            "view_label": selectors.VIEWS[filters.view],
            "page": page,
        },
        status=status,
    )


def _org_thread(request: HttpRequest, pk: int) -> Thread:
    try:
        return selectors.thread_of_organisation(viewer=request.user, thread_id=pk)
    except Thread.DoesNotExist as exc:
        raise Http404("No such reply in your organisation's inbox.") from exc


def _thread_page(request: HttpRequest, thread: Thread, *, answer_form=None, assign_form=None) -> HttpResponse:
    officers = selectors.assignable_officers(organisation=thread.organisation_id)
    failed = answer_form is not None or assign_form is not None
    return render(
        request,
        "replies/thread.html",
        {
            "thread": thread,
            "messages_list": list(selectors.thread_messages(thread=thread)),
            "areas": list(selectors.resident_areas(member=thread.resident)),
            "shares_details": members_visible_to(viewer=request.user).filter(pk=thread.resident_id).exists(),
            "answer_form": answer_form or AnswerForm(),
            "assign_form": assign_form or AssignForm(officers=officers, initial={"assignee": thread.assignee_id}),
            "form": answer_form or assign_form,
        },
        status=400 if failed else 200,
    )


@officer_required
@require_safe
def thread(request: HttpRequest, pk: int) -> HttpResponse:
    """One resident's thread, as the organisation's officers see it; opening it marks it read."""
    thread = _org_thread(request, pk)
    services.thread_mark_read(officer=request.user, thread=thread)
    return _thread_page(request, thread)


@officer_required
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _org_thread(request, pk)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.thread_answer(officer=request.user, thread=thread, body=form.cleaned_data["body"])
        except ValidationError as exc:
            _form_error(form, exc, "body")
        else:
            messages.success(request, "Your answer was sent. The resident is being told.")
            return redirect("replies:thread", pk=thread.pk)
    return _thread_page(request, thread, answer_form=form)


@officer_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _org_thread(request, pk)
    officers = selectors.assignable_officers(organisation=thread.organisation_id)
    if request.POST.get("to") == "me":
        form = AssignForm({"assign-assignee": request.user.pk}, officers=officers)
    else:
        form = AssignForm(request.POST, officers=officers)
    if form.is_valid():
        assignee = form.cleaned_data["assignee"]
        services.thread_assign(actor=request.user, thread=thread, assignee=assignee)
        who = "you" if assignee == request.user else (assignee.get_full_name() if assignee else "nobody")
        messages.success(request, f"This reply is now assigned to {who}.")
        return redirect("replies:thread", pk=thread.pk)
    return _thread_page(request, thread, assign_form=form)


@officer_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    thread = services.thread_close(actor=request.user, thread=_org_thread(request, pk))
    messages.success(request, "The thread is closed. A new reply from the resident opens it again.")
    return redirect("replies:thread", pk=thread.pk)


@officer_required
@require_POST
def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    thread = services.thread_reopen(actor=request.user, thread=_org_thread(request, pk))
    messages.success(request, "The thread is open again.")
    return redirect("replies:thread", pk=thread.pk)


@force_admin_required
@require_http_methods(["GET", "POST"])
def reply_settings(request: HttpRequest) -> HttpResponse:
    """A force admin's settings for the reply inbox: trigger words and the duty address."""
    current = selectors.reply_settings_of(organisation=request.user.organisation_id)
    words = selectors.trigger_words_of(organisation=request.user.organisation_id)
    if request.method == "POST":
        form = ReplySettingsForm(request.POST)
        if form.is_valid():
            try:
                services.reply_settings_update(
                    actor=request.user,
                    trigger_words=form.cleaned_data["trigger_words"],
                    duty_email=form.cleaned_data["duty_email"],
                )
            except ValidationError as exc:
                _form_error(form, exc, "trigger_words")
            else:
                messages.success(request, "The reply settings are saved.")
                return redirect("replies:settings")
    else:
        form = ReplySettingsForm(initial={"trigger_words": "\n".join(words), "duty_email": current.duty_email})
    return render(
        request,
        "replies/settings.html",
        {"form": form, "using_default": current.trigger_words is None},
        status=400 if form.is_bound else 200,
    )

"""Surveys and quick polls: what matters most to a street, a ward, a district or a group.

A neighbourhood team builds a `Survey` (questions of six kinds), targets it at an
audience drawn like an alert's, and publishes it: the invitation goes through the
dispatch pipeline, and "invited" means exactly "has a delivery of that invitation".
Residents answer once (they may change their answers until it closes); officers read
the results, broken down by ward and district, and may send a "You said, we did"
summary back to the same people. A `Poll` is the one-question, one-tap version
attached to an alert's message.

Anonymous surveys keep the resident's identity apart from their answers: a `Response`
then has no member, and a separate `Participation` row (no time, no order, no link to
the response) is what stops a second response.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Survey(models.Model):
    """A questionnaire from an organisation to an audience of residents.

    Conducted at street, ward or district level, for a group, or for an area drawn in
    response to an incident. A draft can be changed freely; publishing freezes the
    questions (answers already given must keep meaning what they meant), snapshots the
    audience and writes the invitation dispatch in the same transaction. It takes
    answers between `opens_at` and `closes_at`, or until an officer closes it early.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CLOSED = "closed", "Closed early"

    class ResultsVisibility(models.TextChoices):
        HIDDEN = "hidden", "Only officers see the results"
        AFTER_ANSWERING = "after_answering", "Invited residents see a summary once they have answered"
        AFTER_CLOSING = "after_closing", "Invited residents see a summary once the survey closes"

    organisation = models.ForeignKey("members.Organisation", on_delete=models.PROTECT, related_name="surveys")
    title = models.CharField(max_length=200)
    introduction = models.TextField(blank=True, help_text="Plain text shown above the questions.")
    is_anonymous = models.BooleanField(
        default=False, help_text="Anonymous: no answer is ever linked to the resident who gave it."
    )
    results_visibility = models.CharField(
        max_length=20, choices=ResultsVisibility.choices, default=ResultsVisibility.AFTER_CLOSING
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    audience = models.JSONField(default=dict, blank=True, help_text="The audience spec as published (see audience.py).")
    audience_description = models.CharField(max_length=500, blank=True, help_text="Who it went to, in words.")
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    invitation_dispatch = models.OneToOneField(
        "notifications.Dispatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who was invited, per ward and district ({area id: members}); worked out once the
    # invitation has fanned out (it never changes after), so results pages read it.
    invited_by_area = models.JSONField(null=True, blank=True)
    summary_text = models.TextField(blank=True, help_text='"You said, we did": what the force took from the results.')
    summary_dispatch = models.OneToOneField(
        "notifications.Dispatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    summary_published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="surveys_survey_org_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__isnull=True)
                | models.Q(closes_at__isnull=True)
                | models.Q(closes_at__gt=models.F("opens_at")),
                name="%(app_label)s_%(class)s_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft")
                | models.Q(opens_at__isnull=False, closes_at__isnull=False, invitation_dispatch__isnull=False),
                name="%(app_label)s_%(class)s_published_has_window",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def is_open(self, now=None) -> bool:
        """Taking answers right now: published, its window has opened and not closed."""
        now = now or timezone.now()
        return (
            self.status == self.Status.PUBLISHED and self.opens_at is not None and self.opens_at <= now < self.closes_at
        )

    def has_closed(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.CLOSED or (
            self.status == self.Status.PUBLISHED and self.closes_at is not None and now >= self.closes_at
        )

    def phase(self, now=None) -> str:
        """draft, scheduled, open or closed: what an officer needs to know at a glance."""
        if self.is_draft:
            return "draft"
        if self.has_closed(now):
            return "closed"
        return "open" if self.is_open(now) else "scheduled"


class Question(models.Model):
    """One question of a survey, of one of six kinds.

    * single choice, multiple choice (`max_choices` at most, if set);
    * rating: one value from `scale_min` to `scale_max`, each point optionally labelled;
    * matrix: several statements (the options) each rated on that one scale, such as
      "how safe do you feel in the town centre after dark";
    * free text, at most `max_length` characters;
    * ranking: "rank your top `rank_count` of these local concerns".

    A question may be shown only when an earlier choice question was answered with
    one of `condition_options`; otherwise it is skipped, and not required.
    """

    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        RATING = "rating", "Rating scale"
        MATRIX = "matrix", "Matrix (statements rated on one scale)"
        TEXT = "text", "Free text"
        RANKING = "ranking", "Priority ranking"

    CHOICE_KINDS = (Kind.SINGLE, Kind.MULTIPLE)
    OPTION_KINDS = (Kind.SINGLE, Kind.MULTIPLE, Kind.MATRIX, Kind.RANKING)
    SCALE_KINDS = (Kind.RATING, Kind.MATRIX)

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=500)
    help_text = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=True)
    max_choices = models.PositiveSmallIntegerField(null=True, blank=True)
    scale_min = models.SmallIntegerField(null=True, blank=True)
    scale_max = models.SmallIntegerField(null=True, blank=True)
    scale_labels = models.JSONField(default=list, blank=True, help_text="A label per point of the scale, or none.")
    max_length = models.PositiveIntegerField(null=True, blank=True)
    rank_count = models.PositiveSmallIntegerField(null=True, blank=True)
    condition_question = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="dependants"
    )
    condition_options = models.JSONField(default=list, blank=True, help_text="Option ids: shown if any was chosen.")

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["survey", "position"], name="surveys_question_order_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scale_min__isnull=True)
                | models.Q(scale_max__isnull=True)
                | models.Q(scale_max__gt=models.F("scale_min")),
                name="%(app_label)s_%(class)s_scale_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def scale(self) -> list[tuple[int, str]]:
        """(value, label) for each point of a rating or matrix scale."""
        if self.scale_min is None or self.scale_max is None:
            return []
        labels = list(self.scale_labels or [])
        values = range(self.scale_min, self.scale_max + 1)
        return [(v, labels[i] if i < len(labels) else "") for i, v in enumerate(values)]


class Option(models.Model):
    """A choice of a choice or ranking question, or a statement of a matrix."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=300)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class Response(models.Model):
    """One resident's answers to one survey.

    In an identified survey `member` says whose they are, and the database allows one
    per member. In an anonymous survey `member` is always empty: the respondent's ward
    and district are kept (for the breakdown, shown only above a minimum count), and
    only the hash of a random edit key the resident holds lets them change it later.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    ward = models.ForeignKey(
        "groups.Area", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    district = models.ForeignKey(
        "groups.Area", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    edit_key_hash = models.CharField(max_length=64, blank=True, help_text="Anonymous only: SHA-256 of the edit key.")
    submitted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "member"],
                condition=models.Q(member__isnull=False),
                name="%(app_label)s_%(class)s_one_per_member",
            ),
            models.UniqueConstraint(
                fields=["survey", "edit_key_hash"],
                condition=~models.Q(edit_key_hash=""),
                name="%(app_label)s_%(class)s_unique_edit_key",
            ),
        ]
        indexes = [models.Index(fields=["survey", "ward", "district"], name="surveys_response_area_idx")]

    def __str__(self) -> str:
        return f"Response {self.pk} to survey {self.survey_id}"


class Participation(models.Model):
    """That a member has answered a survey: the one-response rule, for every survey.

    Deliberately holds nothing else. No time and a random key (no sequence), so that
    in an anonymous survey it cannot be lined up with the responses by when or in what
    order they came.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="participations")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "member"], name="%(app_label)s_%(class)s_one_per_member"),
        ]

    def __str__(self) -> str:
        return f"Member {self.member_id} answered survey {self.survey_id}"


class Answer(models.Model):
    """One piece of a response: a chosen option, a rating, a matrix cell, a rank or a text.

    A multiple-choice answer is a row per option chosen; a matrix answer a row per
    statement (`option`) with its rating (`value`); a ranking a row per ranked option
    with its rank (`value`, 1 = top). `first` marks one row per response and question,
    so one aggregate counts both answers and answerers.

    The survey and the respondent's ward and district are copied from the response so
    that the results page is ONE grouped scan of this table (bench/survey_results.py).
    """

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+", db_index=False)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers", db_index=False)
    option = models.ForeignKey(Option, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    first = models.BooleanField(default=True)
    # Plain ids, not foreign keys: copies of the response's, for the one-table scan.
    ward_id = models.BigIntegerField(null=True, blank=True)
    district_id = models.BigIntegerField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True, help_text="Free text hidden by a moderator.")
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            # The results aggregate: one survey's rows, grouped by what they say and where from.
            # PostgreSQL reads it alone (an index-only scan: `first` is in it too), several
            # times faster than visiting 1.2 million table rows (bench/survey_results.py).
            models.Index(
                fields=["survey", "question", "option", "value", "ward_id", "district_id", "first"],
                name="surveys_answer_results_idx",
            ),
            models.Index(fields=["response"], name="surveys_answer_response_idx"),
        ]

    def __str__(self) -> str:
        return f"Answer to question {self.question_id}"


class Poll(models.Model):
    """A quick poll: one single-choice question attached to a message (an alert).

    Residents answer with one tap from the message itself: buttons in the app, a
    signed link per option in the email. The results are live on the alert.
    """

    organisation = models.ForeignKey("members.Organisation", on_delete=models.PROTECT, related_name="polls")
    question = models.CharField(max_length=300)
    dispatch = models.OneToOneField(
        "notifications.Dispatch", null=True, blank=True, on_delete=models.CASCADE, related_name="poll"
    )
    closes_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.question

    def is_open(self, now=None) -> bool:
        return self.closes_at is None or (now or timezone.now()) < self.closes_at


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=120)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class PollVote(models.Model):
    """A resident's answer to a quick poll; one per resident (tapping again changes it)."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="poll_votes")
    voted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "member"], name="%(app_label)s_%(class)s_one_per_member"),
        ]
        indexes = [models.Index(fields=["poll", "option"], name="surveys_pollvote_count_idx")]

    def __str__(self) -> str:
        return f"Member {self.member_id} voted in poll {self.poll_id}"

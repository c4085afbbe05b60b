"""What the officer reads: counts and percentages, distributions and means, heat maps,
Borda scores, free text to moderate, response rates, every result by ward and district
(small numbers withheld), the CSV export and the charts."""

from __future__ import annotations

import csv
import io

import pytest

from notifications.models import Delivery
from surveys import services
from surveys.models import Answer
from surveys.results import survey_csv_text, survey_results
from tests.surveys.conftest import good_answers, option, questions_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(town, place, make_survey, publish):
    """Five residents of North Ward and two of South Ward answer; one more of each does not."""
    north = [place(0.01 * (i + 1), 51.05, email=f"n{i}@example.org") for i in range(6)]
    south = [place(0.01 * (i + 1), 50.95, email=f"s{i}@example.org") for i in range(3)]
    survey = publish(make_survey(), {"include": [{"area": town.district.pk}]})
    q = questions_of(survey)
    ratings = [5, 4, 4, 2, 1, 3, 3]
    for i, member in enumerate(north[:5] + south[:2]):
        single = "Yes" if i < 3 else "No"
        ranking = (
            [option(q["ranking"], "Noise"), option(q["ranking"], "Parking")]
            if i % 2
            else [option(q["ranking"], "Parking"), option(q["ranking"], "Graffiti")]
        )
        services.survey_response_submit(
            member=member,
            survey=survey,
            answers=good_answers(
                survey,
                single=option(q["single"], single),
                rating=ratings[i],
                ranking=ranking,
                text=f"Comment number {i}",
            ),
        )
    return survey


def by_label(bars):
    return {b.label: (b.count, b.percent) for b in bars}


def test_counts_percentages_means_and_borda_scores(answered):
    results = survey_results(survey=answered)
    r = {q.kind: q for q in results.questions}

    assert (results.responses, results.invited, results.rate) == (7, 9, 78)
    assert r["single"].answered == 7
    assert by_label(r["single"].bars) == {"Yes": (3, 43), "No": (4, 57), "Not sure": (0, 0)}
    # Multiple choice: shares of the people who answered (each chose two).
    assert by_label(r["multiple"].bars) == {
        "Burglary": (7, 100),
        "Speeding": (0, 0),
        "Drugs": (7, 100),
        "Litter": (0, 0),
    }
    assert by_label(r["rating"].bars)["4 – Safe"] == (2, 29)
    assert r["rating"].mean == round((5 + 4 + 4 + 2 + 1 + 3 + 3) / 7, 2)
    # The matrix: every resident rated the three places 4, 1 and 2.
    day, dark, park = r["matrix"].statements
    assert [(c.count, c.percent, c.heat) for c in day.cells] == [(0, 0, 0), (0, 0, 0), (0, 0, 0), (7, 100, 9)]
    assert (dark.mean, park.mean) == (1.0, 2.0)
    # Borda, top 2: first place 2 points, second 1. Four put Parking first, three second.
    scores = {b.label: (b.score, b.firsts) for b in r["ranking"].bars}
    assert scores == {"Parking": (4 * 2 + 3 * 1, 4), "Noise": (3 * 2, 3), "Graffiti": (4 * 1, 0), "Shoplifting": (0, 0)}
    assert [b.label for b in r["ranking"].bars][:2] == ["Parking", "Noise"]
    assert r["text"].answered == 7 and len(r["text"].recent_text) == 3


def test_every_result_by_ward_with_small_numbers_withheld(answered, town):
    results = survey_results(survey=answered, by="ward")
    rates = {rate.name: (rate.invited, rate.responses, rate.rate, rate.suppressed) for rate in results.rates}
    assert rates == {"North Ward": (6, 5, 83, False), "South Ward": (3, 2, 67, True)}

    single = next(q for q in results.questions if q.kind == "single")
    rows = {row.name: row for row in single.breakdown}
    assert single.breakdown_columns == ["Yes (%)", "No (%)", "Not sure (%)"]
    assert (rows["North Ward"].answered, rows["North Ward"].values) == (5, ["60%", "40%", "0%"])
    assert rows["South Ward"].suppressed and rows["South Ward"].values == []
    rating = next(q for q in results.questions if q.kind == "rating")
    assert {row.name: row.values for row in rating.breakdown}["North Ward"] == ["3.20"]

    by_district = survey_results(survey=answered, by="district")
    single = next(q for q in by_district.questions if q.kind == "single")
    assert [(row.name, row.answered, row.values) for row in single.breakdown] == [
        ("Maidstone", 7, ["43%", "57%", "0%"])
    ]

    # One ward on its own: enough answers in North, too few in South to show anything.
    north = survey_results(survey=answered, area_id=town.north.pk)
    assert (north.responses, north.invited, north.area_suppressed) == (5, 6, False)
    assert by_label(next(q for q in north.questions if q.kind == "single").bars)["Yes"] == (3, 60)
    south = survey_results(survey=answered, area_id=town.south.pk)
    assert south.area_suppressed and all(q.answered == 0 for q in south.questions)


def test_results_page_shows_charts_tables_and_breakdowns_in_few_queries(
    client, officer, answered, town, django_assert_max_num_queries
):
    client.force_login(officer)
    with django_assert_max_num_queries(25):
        page = client.get(f"/surveys/manage/{answered.pk}/results/?by=ward").content.decode()

    assert '<strong id="response-count">7</strong> responses from <strong>9</strong> invited' in page
    assert 'role="img"' in page and "Chart of answers to question 1" in page
    assert '<th scope="row">Yes</th><td>3</td><td>43%</td>' in page
    assert 'class="heat heat-9">100%' in page
    assert "Fewer than 5: not shown" in page
    assert "Comment number" in page and "Read and moderate all 7 answers" in page
    # The live refresh answers "nothing new" without redrawing anything.
    unchanged = client.get(f"/surveys/manage/{answered.pk}/results/?since=7", HTTP_HX_REQUEST="true")
    assert unchanged.status_code == 204
    changed = client.get(f"/surveys/manage/{answered.pk}/results/?since=6", HTTP_HX_REQUEST="true")
    assert changed.status_code == 200 and 'id="results-live"' in changed.content.decode()
    assert "<h1>" not in changed.content.decode()
    # Odd numbers in the address ("²".isdigit() is True, int("²") raises) are ignored, not a server error.
    for odd in ("area=²", "since=²", f"area={2**64}"):
        response = client.get(f"/surveys/manage/{answered.pk}/results/?{odd}", HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and 'id="response-count">7<' in response.content.decode()


def test_query_count_does_not_grow_with_the_answers(client, officer, answered, place, django_assert_num_queries):
    client.force_login(officer)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(f"/surveys/manage/{answered.pk}/results/?by=ward")  # works out the invited per ward, once
    with CaptureQueriesContext(connection) as before:
        client.get(f"/surveys/manage/{answered.pk}/results/?by=ward")
    survey = answered
    extra = place(0.08, 51.08, email="late@example.org")
    Delivery.objects.create(dispatch=survey.invitation_dispatch, member=extra, channel="inbox", status="sent")
    services.survey_response_submit(member=extra, survey=survey, answers=good_answers(survey))
    with django_assert_num_queries(len(before)):
        client.get(f"/surveys/manage/{answered.pk}/results/?by=ward")


def test_free_text_is_read_and_moderated(client, officer, answered):
    q = questions_of(answered)["text"]
    client.force_login(officer)
    page = client.get(f"/surveys/manage/{answered.pk}/questions/{q.pk}/answers/").content.decode()
    assert page.count('class="text-answer"') == 7
    assert "From " in page  # identified survey: who said it
    target = Answer.objects.get(text="Comment number 3")

    response = client.post(f"/surveys/manage/{answered.pk}/answers/{target.pk}/moderate/", {"action": "hide"})

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.hidden_at is not None and target.hidden_by == officer
    recent = next(r for r in survey_results(survey=answered, text_samples=10).questions if r.kind == "text").recent_text
    assert "Comment number 3" not in [a.text for a in recent] and len(recent) == 6
    assert "[hidden by a moderator]" in survey_csv_text(survey=answered)
    client.post(f"/surveys/manage/{answered.pk}/answers/{target.pk}/moderate/", {"action": "show"})
    target.refresh_from_db()
    assert target.hidden_at is None
    # A choice is not free text: nothing to moderate.
    choice = Answer.objects.filter(question=questions_of(answered)["single"]).first()
    assert (
        client.post(f"/surveys/manage/{answered.pk}/answers/{choice.pk}/moderate/", {"action": "hide"}).status_code
        == 400
    )


def test_csv_has_one_row_per_response_and_is_safe_to_open_in_a_spreadsheet(client, officer, answered, place):
    someone = Answer.objects.get(text="Comment number 0")
    Answer.objects.filter(pk=someone.pk).update(text='=HYPERLINK("http://evil.example")')
    client.force_login(officer)

    response = client.get(f"/surveys/manage/{answered.pk}/results.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert len(body) == 7
    assert header[:6] == ["response", "submitted", "ward", "district", "name", "email"]
    assert "Q4 How safe do you feel here? – The park" in header
    row = dict(zip(header, body[0], strict=True))
    assert row["ward"] == "North Ward" and row["district"] == "Maidstone"
    assert row["Q2 Which of these worry you?"] == "Burglary; Drugs"
    assert row["Q6 Rank your top 2 local concerns"] == "1. Parking; 2. Graffiti"
    assert row["Q5 Anything else?"] == '\'=HYPERLINK("http://evil.example")'


def test_a_big_export_is_streamed(client, officer, answered, monkeypatch):
    monkeypatch.setattr("surveys.views.CSV_STREAM_FROM", 5)
    client.force_login(officer)

    response = client.get(f"/surveys/manage/{answered.pk}/results.csv")

    assert response.streaming
    lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert len(lines) == 8 and lines[1].startswith(f"{answered.responses.order_by('pk').first().pk},")


def test_anonymous_export_withholds_small_wards(client, officer, town, place, make_survey, publish):
    north = [place(0.01 * (i + 1), 51.05, email=f"an{i}@example.org") for i in range(5)]
    south = place(0.05, 50.95, email="as@example.org")
    survey = publish(make_survey(anonymous=True), {"include": [{"area": town.district.pk}]})
    for member in [*north, south]:
        services.survey_response_submit(member=member, survey=survey, answers=good_answers(survey))

    rows = list(csv.DictReader(io.StringIO(survey_csv_text(survey=survey).lstrip("\ufeff"))))

    assert sorted(r["ward"] for r in rows) == ["(fewer than 5 in this area)"] + ["North Ward"] * 5
    assert all(len(r["submitted"]) == 10 for r in rows)  # the date only
    assert "name" not in rows[0] and "email" not in rows[0]


def test_charts_download_as_svg(client, officer, answered):
    q = questions_of(answered)
    client.force_login(officer)

    response = client.get(f"/surveys/manage/{answered.pk}/questions/{q['single'].pk}/chart.svg")

    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="survey-{answered.pk}-question-1.svg"'
    svg = response.content.decode()
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')
    assert ">Yes</text>" in svg and ">3 (43%)</text>" in svg
    heat = client.get(f"/surveys/manage/{answered.pk}/questions/{q['matrix'].pk}/chart.svg").content.decode()
    assert "Heat map of answers to question 4" in heat and ">100%</text>" in heat
    assert client.get(f"/surveys/manage/{answered.pk}/questions/{q['text'].pk}/chart.svg").status_code == 404


def test_residents_see_only_published_totals_when_the_officer_allows(client, officer, answered, town):
    north_resident = answered.responses.filter(ward=town.north).first().member
    client.force_login(north_resident)

    # After closing (the default): not yet.
    page = client.get(f"/surveys/{answered.pk}/results/").content.decode()
    assert "will be shown here once the survey closes" in page and "Chart of answers" not in page

    services.survey_close(actor=officer, survey=answered)
    page = client.get(f"/surveys/{answered.pk}/results/").content.decode()
    assert "7 people answered" in page and "Chart of answers to question 1" in page
    assert "Comment number" not in page  # never anyone's own words
    assert "Fewer than" not in page and "North Ward" not in page  # no breakdown for residents

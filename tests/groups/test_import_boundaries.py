"""`import_boundaries`: ONS GeoJSON in, areas out; all or nothing, and a re-run changes nothing."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from groups.models import Area, AreaMember
from groups.services import member_location_set
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args, **options):
    """call_command with captured output: returns (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("import_boundaries", *[str(a) for a in args], stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def snapshot():
    """Everything about every area, to show a failed import left the database exactly as it was."""
    return list(Area.objects.order_by("code").values())


def placed(email, lon, lat):
    member = MemberFactory(email=email)
    member_location_set(member=member, longitude=lon, latitude=lat)
    return member


def members_of(code):
    return set(AreaMember.objects.filter(area__code=code).values_list("member__email", flat=True))


@pytest.fixture
def districts(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run(FIXTURES / "districts.geojson", level="district")
    return {a.code: a for a in Area.objects.all()}


def test_districts_are_created_with_codes_names_and_bounding_boxes_from_ons_fields():
    assert not Area.objects.exists()

    out, err = run(FIXTURES / "districts.geojson", level="district")

    assert "2 created, 0 updated, 0 unchanged" in out
    assert "code from LAD23CD, name from LAD23NM" in out
    assert "feature" in err  # the progress bar, on stderr
    areas = {a.code: a for a in Area.objects.all()}
    assert set(areas) == {"E07000110", "E07000115"}
    maidstone, tonbridge = areas["E07000110"], areas["E07000115"]
    assert (maidstone.name, maidstone.level, maidstone.parent) == ("Maidstone", "district", None)
    assert tonbridge.name == "Tonbridge and Malling"
    # The bbox covers both parts of the MultiPolygon; the hole is kept in the shape.
    assert (maidstone.min_lon, maidstone.min_lat, maidstone.max_lon, maidstone.max_lat) == (0.40, 51.15, 0.85, 51.35)
    assert (tonbridge.min_lon, tonbridge.min_lat, tonbridge.max_lon, tonbridge.max_lat) == (0.20, 51.15, 0.40, 51.35)
    assert maidstone.geometry["type"] == "MultiPolygon"
    assert len(maidstone.geometry["coordinates"][0]) == 2  # exterior ring and its hole


def test_running_the_same_file_again_changes_nothing(districts, django_capture_on_commit_callbacks):
    before = {a.code: a.updated_at for a in Area.objects.all()}

    with django_capture_on_commit_callbacks() as callbacks:
        out, _ = run(FIXTURES / "districts.geojson", level="district")

    assert "0 created, 0 updated, 2 unchanged" in out
    assert {a.code: a.updated_at for a in Area.objects.all()} == before
    assert callbacks == []  # no recompute queued


def test_a_changed_boundary_is_updated_and_its_members_recomputed(
    districts, tmp_path, django_capture_on_commit_callbacks
):
    placed("west@example.org", 0.45, 51.20)
    placed("east@example.org", 0.65, 51.20)
    assert members_of("E07000110") == {"west@example.org", "east@example.org"}
    data = json.loads((FIXTURES / "districts.geojson").read_text())
    data["features"][0]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[0.40, 51.15], [0.60, 51.15], [0.60, 51.35], [0.40, 51.35], [0.40, 51.15]]],
    }
    changed = tmp_path / "districts.geojson"
    changed.write_text(json.dumps(data))

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(changed, level="district")

    assert "0 created, 1 updated, 1 unchanged" in out
    assert members_of("E07000110") == {"west@example.org"}
    assert Area.objects.get(code="E07000110").member_count == 1


def test_wards_get_their_district_as_parent_and_the_people_who_live_there(
    districts, django_capture_on_commit_callbacks
):
    placed("allington@example.org", 0.45, 51.30)
    placed("bridge@example.org", 0.55, 51.30)
    placed("on-the-shared-edge@example.org", 0.50, 51.30)
    placed("aylesford@example.org", 0.30, 51.30)
    placed("in-the-district-hole@example.org", 0.52, 51.21)
    placed("far-away@example.org", 1.50, 52.50)
    assert not AreaMember.objects.filter(area__level="ward").exists()

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(FIXTURES / "wards.geojson", level="ward", parent_code_field="LAD23CD")

    assert "3 created, 0 updated, 0 unchanged" in out
    assert "code from WD23CD, name from WD23NM" in out  # not the parent's LAD23CD
    wards = {a.code: a for a in Area.objects.filter(level="ward").select_related("parent")}
    assert {code: (w.name, w.parent.code) for code, w in wards.items()} == {
        "E05005001": ("Allington", "E07000110"),
        "E05005004": ("Bridge", "E07000110"),
        "E05009952": ("Aylesford North and North Downs", "E07000115"),
    }
    # Wards share the edge x = 0.50: whoever lives on it is in exactly one of them.
    assert members_of("E05005001") == {"allington@example.org", "on-the-shared-edge@example.org"}
    assert members_of("E05005004") == {"bridge@example.org"}
    assert members_of("E05009952") == {"aylesford@example.org"}
    assert "in-the-district-hole@example.org" not in members_of("E07000110")
    assert {w.code: w.member_count for w in Area.objects.filter(level="ward")} == {
        "E05005001": 2,
        "E05005004": 1,
        "E05009952": 1,
    }


def test_a_parent_must_come_earlier_in_the_same_file(tmp_path):
    square = [[[0.0, 51.0], [1.0, 51.0], [1.0, 52.0], [0.0, 52.0], [0.0, 51.0]]]
    inner = [[[0.2, 51.2], [0.4, 51.2], [0.4, 51.4], [0.2, 51.4], [0.2, 51.2]]]
    town = {
        "type": "Feature",
        "properties": {"AREACD": "town", "AREANM": "Town centre", "PARENTCD": ""},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    market = {
        "type": "Feature",
        "properties": {"AREACD": "market", "AREANM": "Market square", "PARENTCD": "town"},
        "geometry": {"type": "Polygon", "coordinates": inner},
    }
    later, earlier = tmp_path / "later.geojson", tmp_path / "earlier.geojson"
    later.write_text(json.dumps({"type": "FeatureCollection", "features": [market, town]}))
    earlier.write_text(json.dumps({"type": "FeatureCollection", "features": [town, market]}))

    with pytest.raises(CommandError, match=r"feature 1 \(market\): unknown parent code town in PARENTCD"):
        run(later, level="custom", parent_code_field="PARENTCD")
    assert not Area.objects.exists()

    out, _ = run(earlier, level="custom", parent_code_field="PARENTCD")

    assert "code from AREACD, name from AREANM: 2 created" in out  # PARENTCD is not taken for the code
    assert Area.objects.get(code="market").parent == Area.objects.get(code="town")
    assert Area.objects.get(code="town").parent is None  # a blank parent code: top level


def test_a_child_of_a_feature_that_failed_says_so(tmp_path):
    bow_tie = [[[0.0, 51.0], [1.0, 52.0], [1.0, 51.0], [0.0, 52.0], [0.0, 51.0]]]
    inner = [[[0.2, 51.2], [0.4, 51.2], [0.4, 51.4], [0.2, 51.4], [0.2, 51.2]]]
    features = [
        {
            "type": "Feature",
            "properties": {"AREACD": "town", "AREANM": "Town centre", "PARENTCD": ""},
            "geometry": {"type": "Polygon", "coordinates": bow_tie},
        },
        {
            "type": "Feature",
            "properties": {"AREACD": "market", "AREANM": "Market square", "PARENTCD": "town"},
            "geometry": {"type": "Polygon", "coordinates": inner},
        },
    ]
    path = tmp_path / "custom.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    with pytest.raises(CommandError) as excinfo:
        run(path, level="custom", parent_code_field="PARENTCD")

    assert "feature 1 (town): The shape is not a valid polygon" in str(excinfo.value)
    assert "feature 2 (market): its parent town (feature 1) could not be imported." in str(excinfo.value)
    assert not Area.objects.exists()


def test_an_invalid_geometry_is_reported_with_position_and_code_and_nothing_changes(districts):
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        run(FIXTURES / "districts_invalid_geometry.geojson", level="district")

    message = str(excinfo.value)
    assert "Nothing was imported" in message
    assert "feature 2 (E07000111): The shape is not a valid polygon: Self-intersection" in message
    assert "feature 1" not in message and "feature 3" not in message
    # Feature 1 (a rename of Maidstone) and feature 3 (a new district) were rolled back too.
    assert snapshot() == before
    assert Area.objects.count() == 2


def test_an_unknown_parent_code_is_reported_and_nothing_changes(districts):
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        run(FIXTURES / "wards_unknown_parent.geojson", level="ward", parent_code_field="LAD23CD")

    assert "feature 2 (E05099999): unknown parent code E07000999 in LAD23CD" in str(excinfo.value)
    assert snapshot() == before
    assert not Area.objects.filter(level="ward").exists()


def test_every_problem_is_listed_at_once(tmp_path):
    good = [[[0.0, 51.0], [1.0, 51.0], [1.0, 52.0], [0.0, 52.0], [0.0, 51.0]]]
    features = [
        {"type": "Feature", "properties": {"WD23CD": "E05000001", "WD23NM": ""}, "geometry": None},
        {
            "type": "Feature",
            "properties": {"WD23CD": "", "WD23NM": "No code"},
            "geometry": {"type": "Polygon", "coordinates": good},
        },
        {
            "type": "Feature",
            "properties": {"WD23CD": "E05000003", "WD23NM": "Point"},
            "geometry": {"type": "Point", "coordinates": [0, 51]},
        },
        {
            "type": "Feature",
            "properties": {"WD23CD": "E05000004", "WD23NM": "Good"},
            "geometry": {"type": "Polygon", "coordinates": good},
        },
        {
            "type": "Feature",
            "properties": {"WD23CD": "E05000004", "WD23NM": "Twice"},
            "geometry": {"type": "Polygon", "coordinates": good},
        },
    ]
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    with pytest.raises(CommandError) as excinfo:
        run(path, level="ward")

    message = str(excinfo.value)
    assert "4 problems" in message
    assert "feature 1 (E05000001): no area name in WD23NM; no geometry." in message
    assert "feature 2 (no code): no area code in WD23CD." in message
    assert "feature 3 (E05000003): The shape must be a Polygon or MultiPolygon, not Point." in message
    assert "feature 5 (E05000004): the code E05000004 is also feature 4's." in message
    assert not Area.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"malformed.geojson is not valid JSON: Expecting value at line 8"),
        (
            '{"type": "Feature", "properties": {}, "geometry": null}',
            r"not a GeoJSON FeatureCollection \(its type is 'Feature'\)",
        ),
        ("[1, 2]", r"not a GeoJSON FeatureCollection \(its type is 'list'\)"),
        (
            '{"type": "FeatureCollection", "features": [], '
            '"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}}',
            r"is in urn:ogc:def:crs:EPSG::27700, not WGS84",
        ),
    ],
)
def test_a_malformed_file_is_refused_and_nothing_changes(districts, tmp_path, content, message):
    before = snapshot()
    path = FIXTURES / "malformed.geojson"
    if content is not None:
        path = tmp_path / "bad.geojson"
        path.write_text(content)

    with pytest.raises(CommandError, match=message):
        run(path, level="district")

    assert snapshot() == before


def test_fields_that_cannot_be_told_apart_are_asked_for(tmp_path):
    good = [[[0.0, 51.0], [1.0, 51.0], [1.0, 52.0], [0.0, 52.0], [0.0, 51.0]]]
    path = tmp_path / "custom.geojson"
    properties = {"ACD": "a", "ANM": "A", "BCD": "b"}
    feature = {"type": "Feature", "properties": properties, "geometry": {"type": "Polygon", "coordinates": good}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))

    with pytest.raises(CommandError, match=r"properties ending in CD: ACD, BCD.*--code-field"):
        run(path, level="custom")

    out, _ = run(path, level="custom", code_field="ACD")
    assert "code from ACD, name from ANM: 1 created" in out


def test_help_says_how_code_and_name_fields_are_found(capsys):
    with pytest.raises(SystemExit):
        call_command("import_boundaries", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "the property ending in CD (e.g. LAD23CD, WD23CD)" in help_text
    assert "twin ending in NM" in help_text

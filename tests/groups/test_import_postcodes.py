"""`import_postcodes`: ONSPD CSV in, normalised postcodes out; residents waiting for theirs get placed."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from groups.models import Area, AreaMember, Postcode
from groups.services import member_location_set
from members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
ONSPD = FIXTURES / "onspd.csv"


def run(path, **options):
    out, err = StringIO(), StringIO()
    call_command("import_postcodes", str(path), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def postcodes():
    return {p.postcode: (p.latitude, p.longitude, p.is_synthetic) for p in Postcode.objects.all()}


def test_live_postcodes_with_coordinates_are_imported_normalised():
    assert not Postcode.objects.exists()

    out, err = run(ONSPD)

    # "me14   2ab " and "tn91aa" come out as the directory writes them; the terminated
    # ME15 6AA and ME99 9ZZ (no grid reference: lat 99.999999) are left out.
    assert postcodes() == {
        "ME14 1XX": (51.3, 0.55, False),
        "ME14 2AB": (51.3, 0.45, False),
        "TN9 1AA": (51.3, 0.3, False),
    }
    assert "3 postcodes imported" in out
    assert "2 rows skipped (1 no coordinates, 1 terminated)" in out
    assert "onspd.csv" in err and "B/s" in err  # the progress bar, over bytes read


def test_small_batches_and_a_second_run_give_the_same_result():
    Postcode.objects.create(postcode="ME14 1XX", latitude=50.0, longitude=0.0, is_synthetic=True)

    run(ONSPD, batch_size=2)
    first = postcodes()
    out, _ = run(ONSPD, batch_size=1)

    assert postcodes() == first
    assert first["ME14 1XX"] == (51.3, 0.55, False)  # the synthetic demo value is replaced by the real one
    assert "3 postcodes imported" in out


def test_a_header_without_the_columns_names_the_columns_it_has(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("postcode,latitude,longitude\nME14 1XX,51.3,0.55\n")

    with pytest.raises(CommandError) as excinfo:
        run(path)

    message = str(excinfo.value)
    assert "has no column pcds, lat, long" in message
    assert "Its header has: postcode, latitude, longitude" in message
    assert not Postcode.objects.exists()

    out, _ = run(path, postcode_column="postcode", latitude_column="latitude", longitude_column="longitude")
    assert "1 postcodes imported" in out
    assert set(postcodes()) == {"ME14 1XX"}


def test_rows_that_are_not_postcodes_or_have_no_coordinates_are_counted(tmp_path):
    path = tmp_path / "rough.csv"
    path.write_text(
        "\ufeffPCDS,LAT,LONG,DOTERM\n"  # a byte-order mark and capitals, as spreadsheets write them
        "ME14 1XX,51.3,0.55,\n"
        "not a postcode,51.3,0.55,\n"
        ",51.3,0.55,\n"
        "ME14 2AB,,,\n"
        "ME14 2AD,51.3\n"  # a short row
    )

    out, _ = run(path)

    assert set(postcodes()) == {"ME14 1XX"}
    assert "1 postcodes imported" in out
    assert "4 rows skipped (2 no coordinates, 2 not a postcode)" in out


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(CommandError, match="is empty"):
        run(path)


def test_a_resident_whose_postcode_was_unknown_is_placed_once_it_is_imported(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_boundaries", str(FIXTURES / "districts.geojson"), level="district", stdout=StringIO())
        call_command(
            "import_boundaries",
            str(FIXTURES / "wards.geojson"),
            level="ward",
            parent_code_field="LAD23CD",
            stdout=StringIO(),
        )
    waiting = MemberFactory(email="waiting@example.org", postcode="ME14 2AB")
    unknown = MemberFactory(email="unknown@example.org", postcode="ZZ1 1ZZ")
    pinned = MemberFactory(email="pinned@example.org", postcode="ME14 1XX")
    member_location_set(member=pinned, longitude=0.30, latitude=51.30)
    waiting.refresh_from_db()
    assert (waiting.location_source, waiting.latitude) == ("", None)
    assert not AreaMember.objects.filter(member=waiting).exists()

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(ONSPD)

    assert "1 residents placed on the map" in out
    waiting.refresh_from_db()
    assert (waiting.location_source, waiting.latitude, waiting.longitude) == ("postcode", 51.3, 0.45)
    assert set(AreaMember.objects.filter(member=waiting).values_list("area__code", flat=True)) == {
        "E07000110",  # Maidstone
        "E05005001",  # Allington
    }
    assert Area.objects.get(code="E05005001").member_count == 1
    # Someone who put a pin stays where they put it; an unknown postcode stays unplaced.
    pinned.refresh_from_db()
    assert (pinned.location_source, pinned.longitude) == ("pin", 0.30)
    assert Member.objects.get(pk=unknown.pk).location_source == ""

    out, _ = run(ONSPD)
    assert "0 residents placed on the map" in out

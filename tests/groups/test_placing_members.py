"""A resident's postcode places them in their ward and district; an unknown one asks for a pin."""

import pytest

from groups.models import AreaMember, Postcode
from groups.services import area_upsert
from members.models import Member

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase-42"


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def maidstone():
    district, _ = area_upsert(code="D1", name="Maidstone", level="district", geometry=square(0.4, 51.2, 0.7, 51.4))
    ward, _ = area_upsert(
        code="W1", name="Maidstone Central", level="ward", geometry=square(0.4, 51.2, 0.6, 51.3), parent=district
    )
    Postcode.objects.create(postcode="ME14 1XX", longitude=0.52, latitude=51.27)
    return district, ward


def sign_up(client, postcode):
    client.post(
        "/accounts/signup/",
        {
            "email": "newbie@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "first_name": "New",
            "last_name": "Bie",
            "address_line1": "1 Week Street",
            "town": "Maidstone",
            "postcode": postcode,
            "accept_terms": "on",
        },
    )
    return Member.objects.get(email="newbie@example.org")


def test_a_known_postcode_in_any_spacing_places_the_new_resident_in_ward_and_district(client, maidstone):
    member = sign_up(client, "me141xx")

    assert (member.postcode, member.location_source) == ("ME14 1XX", "postcode")
    assert set(AreaMember.objects.filter(member=member).values_list("area__name", flat=True)) == {
        "Maidstone",
        "Maidstone Central",
    }
    client.force_login(member)
    assert "Where do you live?" not in client.get("/").content.decode()
    assert "Where you live: Maidstone Central, Maidstone." in client.get("/me/profile/").content.decode()


def test_an_unknown_postcode_leaves_them_unplaced_and_the_home_page_asks_for_a_pin(client, maidstone):
    member = sign_up(client, "CT1 2AA")

    assert member.longitude is None and not AreaMember.objects.filter(member=member).exists()
    client.force_login(member)
    home = client.get("/").content.decode()
    assert "Where do you live?" in home and "/me/location/" in home


def test_changing_postcode_in_the_profile_moves_them(client, maidstone, resident):
    client.force_login(resident)
    Member.objects.filter(pk=resident.pk).update(postcode="CT1 2AA")
    client.post(
        "/me/profile/",
        {
            "first_name": "Alex",
            "last_name": "Resident",
            "address_line1": "1 Test Street",
            "town": "Maidstone",
            "postcode": "ME14  1xx",
        },
    )
    resident.refresh_from_db()
    assert resident.location_source == "postcode"
    assert AreaMember.objects.filter(member=resident, area__name="Maidstone Central").exists()

"""An organisation acts only inside its area of responsibility: areas, groups, shapes, circles."""

import pytest
from django.core.exceptions import ValidationError

from groups.jurisdiction import audience_check_jurisdiction, organisation_areas, point_in_jurisdiction
from groups.models import CommunityGroup
from groups.services import area_upsert
from notifications.audience import audience_spec_clean
from notifications.models import Dispatch

pytestmark = pytest.mark.django_db


def square(x0, y0, size):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size],
                                                [x0, y0 + size], [x0, y0]]]}


@pytest.fixture
def kent(organisation):
    force, _ = area_upsert(code="F1", name="Kent", level="force", geometry=square(0, 51, 1), recompute=False)
    ward, _ = area_upsert(code="W1", name="Kent Ward", level="ward", geometry=square(0.1, 51.1, 0.1),
                          parent=force, recompute=False)
    organisation.areas.add(force)
    return force, ward


@pytest.fixture
def essex_ward(db):
    return area_upsert(code="W2", name="Essex Ward", level="ward", geometry=square(2, 52, 0.1), recompute=False)[0]


def check(organisation, include, exclude=()):
    spec = audience_spec_clean(spec={"include": list(include), "exclude": list(exclude)})
    audience_check_jurisdiction(organisation=organisation, spec=spec)


def test_areas_inside_the_force_area_and_its_own_custom_areas_are_targetable(
    organisation, other_organisation, kent, essex_ward
):
    force, ward = kent
    mine, _ = area_upsert(code="C1", name="Hotspot", level="custom", geometry=square(0.2, 51.2, 0.01),
                          organisation=organisation, recompute=False)
    theirs, _ = area_upsert(code="C2", name="Their hotspot", level="custom", geometry=square(0.3, 51.3, 0.01),
                            organisation=other_organisation, recompute=False)

    assert set(organisation_areas(organisation=organisation)) == {force, ward, mine}
    check(organisation, [{"area": ward.pk}, {"area": mine.pk}])
    for outside in (essex_ward, theirs):
        with pytest.raises(ValidationError, match="areas your organisation covers"):
            check(organisation, [{"area": ward.pk}], exclude=[{"area": outside.pk}])


def test_a_shape_or_circle_must_lie_inside_the_territory(organisation, kent):
    check(organisation, [{"polygon": square(0.5, 51.5, 0.1)}, {"radius": {"lon": 0.5, "lat": 51.5, "metres": 500}}])
    with pytest.raises(ValidationError, match="outside your organisation's area"):
        check(organisation, [{"polygon": square(0.95, 51.5, 0.1)}])  # over the eastern boundary
    with pytest.raises(ValidationError, match="outside your organisation's area"):
        check(organisation, [{"radius": {"lon": 0.99, "lat": 51.5, "metres": 5000}}])
    assert point_in_jurisdiction(organisation=organisation, lon=0.5, lat=51.5)
    assert not point_in_jurisdiction(organisation=organisation, lon=1.5, lat=51.5)


def test_an_organisation_without_areas_can_draw_nowhere(other_organisation, kent):
    with pytest.raises(ValidationError, match="outside"):
        check(other_organisation, [{"radius": {"lon": 0.5, "lat": 51.5, "metres": 500}}])


def test_only_its_own_groups_and_messages(organisation, other_organisation, kent):
    theirs = CommunityGroup.objects.create(name="Essex Watch", slug="essex", kind="interest",
                                           organisation=other_organisation)
    mine = CommunityGroup.objects.create(name="Kent Watch", slug="kent", kind="interest", organisation=organisation)
    their_message = Dispatch.objects.create(organisation=other_organisation, source_type="t", source_id="1",
                                            subject="s", body_text="b")
    check(organisation, [{"group": mine.pk}])
    with pytest.raises(ValidationError, match="your organisation's groups"):
        check(organisation, [{"group": theirs.pk}])
    with pytest.raises(ValidationError, match="own messages"):
        check(organisation, [{"dispatch": their_message.pk}])


def test_a_force_admin_sets_the_areas_and_officers_can_act_there_at_once(organisation, force_admin, officer,
                                                                       essex_ward):
    from django.core.exceptions import PermissionDenied

    from core.models import AuditEvent
    from groups.services import organisation_areas_set

    assert not point_in_jurisdiction(organisation=organisation, lon=2.05, lat=52.05)  # and now cached
    with pytest.raises(PermissionDenied):
        organisation_areas_set(actor=officer, areas=[essex_ward])

    organisation_areas_set(actor=force_admin, areas=[essex_ward])

    assert point_in_jurisdiction(organisation=organisation, lon=2.05, lat=52.05)
    assert AuditEvent.objects.filter(action="groups.organisation.areas_set").count() == 1

def test_cast_builds(resident, other_resident, officer, officer_other_org, force_admin):
    assert resident.preferences.channel_email
    assert officer.organisation != officer_other_org.organisation
    assert force_admin.is_force_admin

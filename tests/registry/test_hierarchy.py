"""The official hierarchy, effective dates, lineage and scope through lineage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from lms.auth.models import Role
from lms.auth.permissions import Permission, can, scope_paths, scoped
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Person, UnitLevel, UnitLineage, subtree
from tests.conftest import login, make_household, make_user, make_village, unit_by_code


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(AdminUnit).where(*where))


def test_official_units_are_loaded(app_ctx):
    current = AdminUnit.valid_to.is_(None)
    assert _count(current, AdminUnit.level == UnitLevel.PROVINCE) == 34
    assert _count(current, AdminUnit.level == UnitLevel.COMMUNE) == 3321
    old = AdminUnit.valid_to == date(2025, 6, 30)
    assert _count(old, AdminUnit.level == UnitLevel.DISTRICT) == 10
    assert _count(old, AdminUnit.level == UnitLevel.COMMUNE) == 102
    kontum = services.find_unit("62", UnitLevel.PROVINCE, on=date(2024, 12, 31))
    assert kontum is not None
    assert kontum.name == "Kon Tum"
    assert services.find_unit("62", UnitLevel.PROVINCE) is None  # no current province 62


def test_loading_again_changes_nothing(app_ctx):
    before = (_count(), db.session.scalar(select(func.count()).select_from(UnitLineage)))
    ids = set(db.session.scalars(select(AdminUnit.id)))
    services.load_reference_units()
    db.session.flush()
    assert (_count(), db.session.scalar(select(func.count()).select_from(UnitLineage))) == before
    assert set(db.session.scalars(select(AdminUnit.id))) == ids


def test_reused_code_resolves_by_date(app_ctx):
    """23293 is both an old commune (Thắng Lợi) and the new Phường Kon Tum that absorbed it."""
    new = services.find_unit("23293", UnitLevel.COMMUNE)
    old = services.find_unit("23293", UnitLevel.COMMUNE, on=date(2024, 1, 1))
    assert new is not None
    assert old is not None
    assert new.id != old.id
    assert new.name == "Kon Tum"
    assert new.valid_from == date(2025, 7, 1)
    assert old.valid_to == date(2025, 6, 30)
    links = services.lineage_of(old)["successors"]
    assert [link.new_unit_id for link in links] == [new.id]


def test_the_former_kon_tum_area_maps_onto_forty_communes(app_ctx):
    old = AdminUnit.__table__.alias("old")
    new = AdminUnit.__table__.alias("new")
    stmt = (
        select(func.count(func.distinct(new.c.id)))
        .select_from(UnitLineage)
        .join(old, old.c.id == UnitLineage.old_unit_id)
        .join(new, new.c.id == UnitLineage.new_unit_id)
        .where(old.c.level == UnitLevel.COMMUNE)
    )
    assert db.session.scalar(stmt) == 40


def test_subtree_is_one_range_predicate(app_ctx):
    province = unit_by_code("51", UnitLevel.PROVINCE)
    communes = _count(subtree(AdminUnit.path, province.path), AdminUnit.level == UnitLevel.COMMUNE)
    assert communes == _count(AdminUnit.parent_id == province.id, AdminUnit.level == UnitLevel.COMMUNE) > 90
    # A sibling whose id shares a prefix (e.g. /1/5/ vs /1/57/) is never inside the subtree.
    for sibling in db.session.scalars(select(AdminUnit).where(AdminUnit.parent_id == province.parent_id)):
        if sibling.id != province.id:
            assert not sibling.path.startswith(province.path)
            assert _count(subtree(AdminUnit.path, province.path), AdminUnit.id == sibling.id) == 0


def test_pre_2025_data_is_found_under_its_successor(app_ctx, client):
    """A household recorded in 2024 under an old commune is in the scope of the new commune's leader."""
    old_commune = services.find_unit("23296", UnitLevel.COMMUNE, on=date(2024, 6, 1))
    assert old_commune is not None
    successor = services.lineage_of(old_commune)["successors"][0].new_unit
    old_village = make_village(old_commune, "OLD-1", "Thôn Cũ")
    household = make_household(old_village, "2024-1", "Y Hiên")
    person = household.members[0]
    leader = make_user(Role.COMMUNE_LEADER, successor)
    db.session.commit()
    assert can(leader, Permission.REGISTRY_VIEW, old_village)
    ids = set(db.session.scalars(scoped(select(Person.id), Person.unit_id, leader, Permission.REGISTRY_VIEW)))
    assert person.id in ids
    login(client, leader)
    assert client.get(f"/registry/persons/{person.id}").status_code == 200
    # …and not in the scope of a leader of another new commune.
    other = make_user(Role.COMMUNE_LEADER, unit_by_code("23302"))
    assert not can(other, Permission.REGISTRY_VIEW, old_village)


def test_a_split_commune_maps_to_all_its_successors(app_ctx):
    """The shipped Kon Tum data has no split, so build one: old commune X split 60/40 between two new ones."""
    old = services.find_unit("23284", UnitLevel.COMMUNE, on=date(2024, 6, 1))
    first, second = unit_by_code("23293"), unit_by_code("23302")
    for link in services.lineage_of(old)["successors"]:
        db.session.delete(link)
    db.session.add_all(
        [
            UnitLineage(old_unit_id=old.id, new_unit_id=first.id, share=Decimal("0.6"), effective_on=date(2025, 7, 1)),
            UnitLineage(old_unit_id=old.id, new_unit_id=second.id, share=Decimal("0.4"), effective_on=date(2025, 7, 1)),
        ]
    )
    village = make_village(old, "SPLIT-1", "Thôn Tách")
    for new in (first, second):
        leader = make_user(Role.COMMUNE_LEADER, new)
        assert old.path in scope_paths(leader, Permission.REGISTRY_VIEW)
        assert can(leader, Permission.REGISTRY_VIEW, village)
    shares = sorted(link.share for link in services.lineage_of(old)["successors"])
    assert shares == [Decimal("0.4"), Decimal("0.6")]


def test_province_leader_of_the_new_province_covers_the_old_province(app_ctx):
    leader = make_user(Role.PROVINCE_LEADER, unit_by_code("51", UnitLevel.PROVINCE))
    old_province = services.find_unit("62", UnitLevel.PROVINCE, on=date(2024, 1, 1))
    assert can(leader, Permission.REGISTRY_VIEW, old_province)
    # The old province's whole subtree is one prefix: the scope stays small.
    assert len(scope_paths(leader, Permission.REGISTRY_VIEW)) == 2


def test_hierarchy_page_shows_counts_down_to_a_household(app_ctx, client):
    commune = unit_by_code("23293")
    village = make_village(commune, "CNT-1", "Thôn Đếm")
    make_household(village, "1", "A Thịnh", "Y Blơng")
    make_household(village, "2", "Nguyễn Văn Ba")
    user = make_user(Role.CENTRE_MANAGER, commune)
    db.session.commit()
    login(client, user)
    page = client.get(f"/registry/units/{commune.id}").get_data(as_text=True)
    assert "Thôn Đếm" in page
    assert 'id="unit-persons">3<' in page
    assert 'id="unit-households">2<' in page
    village_page = client.get(f"/registry/units/{village.id}").get_data(as_text=True)
    assert "A Thịnh" in village_page
    assert "Nguyễn Văn Ba" in village_page

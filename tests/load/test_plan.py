import pytest

from load.manifest import ActivityParty, Lookup, TableSpec, load_manifest
from load.plan import PlanError, plan_load
from tests.load.warehouse import MANIFEST


def spec(table: str, lookups=(), parties=()) -> TableSpec:
    return TableSpec(
        model=f"dv_{table}",
        relation=f'"main"."dv_{table}"',
        table=table,
        entity_set=f"{table}s",
        primary_key=f"{table}id",
        source_key=None,
        root=False,
        lookups=tuple(Lookup(column, column, target, f"{target}s") for column, target in lookups),
        activity_parties=tuple(ActivityParty(c, 2, t, f"{t}s") for c, t in parties),
    )


def test_manifest_marts_load_targets_first_and_defer_the_self_lookup():
    plan = plan_load(load_manifest(MANIFEST))

    assert plan.order == ("account", "contact", "opportunity", "phonecall", "task")
    assert plan.levels == (("account",), ("contact", "opportunity"), ("phonecall", "task"))
    assert [(d.table, d.lookup.column) for d in plan.deferred] == [("account", "parentaccountid")]
    assert plan.deferred_columns("account") == {"parentaccountid"}


def test_order_is_derived_not_alphabetical():
    plan = plan_load([spec("a", [("b_id", "b")]), spec("b", [("c_id", "c")]), spec("c")])

    assert plan.order == ("c", "b", "a")
    assert plan.deferred == ()


def test_lookups_to_tables_not_loaded_are_not_dependencies():
    plan = plan_load([spec("contact", [("ownerid", "systemuser")])])

    assert plan.order == ("contact",)
    assert plan.deferred == ()


def test_a_cycle_is_broken_by_deferring_one_lookup():
    specs = [
        spec("account", [("primarycontactid", "contact")]),
        spec("contact", [("parentcustomerid_account", "account")]),
        spec("note", [("objectid_contact", "contact")]),
    ]

    plan = plan_load(specs)

    assert len(plan.deferred) == 1
    broken = plan.deferred[0]
    loaded_first = plan.order.index(broken.table)
    target_position = plan.order.index(broken.lookup.target)
    assert target_position > loaded_first  # the deferred lookup points forward
    for table_spec in specs:  # every other reference points backwards
        for lookup in table_spec.lookups:
            if (table_spec.table, lookup.column) != (broken.table, broken.lookup.column):
                assert plan.order.index(lookup.target) < plan.order.index(table_spec.table)


def test_a_cycle_through_activity_parties_only_breaks_at_a_lookup():
    specs = [
        spec("appointment", [("regardingobjectid_contact", "contact")]),
        spec("contact", [("originatingappointment", "appointment")]),
    ]
    specs[0] = TableSpec(
        **{
            **specs[0].__dict__,
            "lookups": (),
            "activity_parties": (ActivityParty("attendee", 5, "contact", "contacts"),),
        }
    )

    plan = plan_load(specs)

    assert plan.order == ("contact", "appointment")
    assert [(d.table, d.lookup.column) for d in plan.deferred] == [
        ("contact", "originatingappointment")
    ]


def test_a_cycle_of_activity_parties_alone_cannot_be_planned():
    specs = [spec("a", parties=[("p", "b")]), spec("b", parties=[("q", "a")])]

    with pytest.raises(PlanError, match="a, b"):
        plan_load(specs)

"""Event contracts: events/ is what the models generate, examples match their schemas, data holds no personal fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from generators.event_catalogue import EVENTS_DIR, render
from shared.domain.events import EVENT_TYPES, parse_detail

ARCHITECTURE_EVENTS = {
    "ReferralReceived",
    "ReferralAccepted",
    "ReferralDeclined",
    "ReferralWithdrawn",
    "PreparationStarted",  # the preparation stage (issue 20): the referral is preparing for its meeting
    "FamilyDeclined",  # the family decided not to go ahead: the referral closes (issue 20)
    "MeetingScheduled",
    "MeetingRescheduled",
    "MeetingCancelled",
    "ParticipantInvited",  # a participant added to a booked meeting is sent its invitation (issue 20)
    "MeetingHeld",
    "MeetingNotHeld",  # a booked meeting that did not take place: the referrer is told (issue 21, item 4)
    "ReviewScheduled",
    "ReviewDue",
    "ReviewOverdue",
    "ReviewRescheduled",  # beyond the design's table: a moved review moves its reminder (issue 7)
    "ReviewCompleted",
    "EmailBounced",
    "EmailComplained",
    "DeadlineBreached",
    "ConnectionRequested",  # the design's partner connections (issue 10), named as events here
    "ConnectionAnswered",
    "PackageItemDecided",  # a manager's approval or decline of spending over the limit (issue 19, item 2)
    "PackageItemDelivered",  # an approved item's actual cost: the managers' spend figures (issue 19, items 2 and 7)
    "FeedbackSent",  # the referrer's feedback went: the end of the meeting-to-feedback figure (issue 19, item 7)
    "PlanAgreementRequested",  # the plan agreed by the lead practitioner through a signed link (issue 21)
    "PlanAgreed",
    "PlanChangesRequested",
    "PlanShared",  # the plan's page, one signed link per recipient (issue 21, item 2)
    "PlanLinkRevoked",
    "EvaluationReceived",  # the family's evaluation of its meeting was recorded (ids and dates only; issue 21)
}


def test_every_event_in_the_design_has_a_model():
    assert set(EVENT_TYPES) == ARCHITECTURE_EVENTS


def test_events_folder_matches_the_models_run_make_schemas_when_this_fails():
    expected = render()
    on_disk = {str(path.relative_to(EVENTS_DIR)): path.read_text() for path in EVENTS_DIR.glob("*/*.json")}
    assert sorted(on_disk) == sorted(expected)
    drifted = [name for name, text in expected.items() if on_disk[name] != text]
    assert drifted == []


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_each_example_validates_against_its_schema_and_model(name):
    schema = json.loads((EVENTS_DIR / "schemas" / f"{name}.schema.json").read_text())
    example = json.loads((EVENTS_DIR / "examples" / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(example["detail"], schema)
    assert parse_detail(example["detail-type"], example["detail"]).data.detail_type == name


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_event_data_carries_no_personal_or_free_text_fields(name):
    fields = set(EVENT_TYPES[name].model_fields)
    personal = re.compile(
        r"name|email|phone|postcode|address|reason|text|note|description|child|contact|comment|family_led|heard"
        r"|recommend"
    )
    assert not {f for f in fields if personal.search(f)}


def test_a_schema_refuses_an_event_with_an_extra_personal_field():
    example = json.loads((EVENTS_DIR / "examples" / "ReferralReceived.json").read_text())
    schema = json.loads((EVENTS_DIR / "schemas" / "ReferralReceived.schema.json").read_text())
    example["detail"]["data"]["contact_name"] = "Jo Bloggs"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(example["detail"], schema)


def test_events_folder_is_where_the_design_says():
    assert Path(__file__).resolve().parents[2] / "events" == EVENTS_DIR

"""The sample events in events/ are valid, and drive a whole rotation in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.rotation import ROTATION_STEPS, begin_rotation, staging_labels
from rotation_event import parse_event

if TYPE_CHECKING:
    from tests.integration.rotation.conftest import Rig, SecretUnderTest

EVENTS = Path(__file__).resolve().parents[3] / "events"
FILES = {
    "createSecret": "rotation_create_secret.json",
    "setSecret": "rotation_set_secret.json",
    "testSecret": "rotation_test_secret.json",
    "finishSecret": "rotation_finish_secret.json",
}

pytestmark = pytest.mark.mariadb


def _load(step: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / FILES[step]).read_text())
    return event


@pytest.mark.parametrize("step", ROTATION_STEPS)
def test_each_sample_event_is_a_valid_event_for_its_step(step: str) -> None:
    request = parse_event(_load(step))

    assert request.step.value == step


def test_the_sample_events_share_one_secret_and_token() -> None:
    events = [_load(step) for step in ROTATION_STEPS]

    assert len({e["SecretId"] for e in events}) == 1
    assert len({e["ClientRequestToken"] for e in events}) == 1


def test_the_sample_events_name_the_templates_database_secret() -> None:
    template = (EVENTS.parent / "template.yaml").read_text()
    secret_id = _load("createSecret")["SecretId"]

    assert 'Name: !Sub "${AppName}-${Environment}-secret-database"' in template
    assert re.search(r"Default: goal-mandala\b", template)
    assert secret_id.split(":secret:")[1].startswith("goal-mandala-dev-secret-database-")


def test_the_sample_event_files_unchanged_rotate_a_secret_through_the_handler(
    rig: Rig, db_secret: SecretUnderTest
) -> None:
    # Given the secret under the sample's exact ARN (moto's custom-id tag fixes the suffix)
    sample = _load("createSecret")
    name, suffix = sample["SecretId"].split(":secret:")[1].rsplit("-", 1)
    arn = rig.sm.create_secret(
        Name=name,
        SecretString=json.dumps(rig.doc(db_secret.arn)),
        Tags=[{"Key": "_custom_id_", "Value": suffix}],
    )["ARN"]
    assert arn == sample["SecretId"]
    begin_rotation(rig.sm, arn, token=sample["ClientRequestToken"])

    # When each file is handed to the handler as it is, as sam local invoke -e does
    for step in ROTATION_STEPS:
        rig.invoke(_load(step))

    # Then the rotation completed and the new password logs in
    assert staging_labels(rig.sm, arn)[sample["ClientRequestToken"]] == ["AWSCURRENT"]
    assert rig.stage_logs_in(arn, "AWSCURRENT")
    assert not rig.logs_in(db_secret.username, db_secret.password)

"""The sample events in events/ are valid, and drive a whole rotation in-process."""

from __future__ import annotations

import json
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


def test_the_sample_events_rotate_a_secret(rig: Rig, db_secret: SecretUnderTest) -> None:
    # Given moto's ARN for the secret (its random suffix differs from the sample's)
    token = _load("createSecret")["ClientRequestToken"]
    begin_rotation(rig.sm, db_secret.arn, token=token)

    for step in ROTATION_STEPS:
        rig.invoke(_load(step) | {"SecretId": db_secret.arn})

    assert staging_labels(rig.sm, db_secret.arn)[token] == ["AWSCURRENT"]
    assert rig.stage_logs_in(db_secret.arn, "AWSCURRENT")

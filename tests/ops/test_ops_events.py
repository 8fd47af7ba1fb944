"""State-change events: the right shape inside a run, silence outside one."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import prefect.events
import pytest
from prefect import flow
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.events import emit_state_change, event_name


def test_event_name_from_state() -> None:
    assert event_name("returned") == "qcamp.application.returned"
    assert event_name("Approved") == "qcamp.application.approved"


def test_outside_a_run_does_nothing_quietly(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[Any] = []
    with (
        temporary_settings(updates={PREFECT_API_URL: None}),
        warnings.catch_warnings(),
        pytest.MonkeyPatch.context() as mp,
    ):
        warnings.simplefilter("error")
        mp.setattr(prefect.events, "emit_event", lambda **kw: calls.append(kw))
        caplog.set_level(logging.DEBUG)
        assert emit_state_change(7, "submitted", "returned", 2025, "缺少推荐意见") is None
    assert calls == []
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


def test_inside_a_run_emits_the_event(prefect_api: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: calls.append(kw) or "sent")

    @flow
    def change() -> Any:
        return emit_state_change(7, "submitted", "returned", 2025, "缺少推荐意见", unit="南开区")

    assert change() == "sent"
    [call] = calls
    assert call["event"] == "qcamp.application.returned"
    assert call["resource"]["prefect.resource.id"] == "qcamp.application.7"
    assert call["resource"]["qcamp.unit"] == "南开区"
    assert call["related"][0]["prefect.resource.id"] == "qcamp.campaign.2025"
    assert call["payload"] == {
        "application_id": 7,
        "from_state": "submitted",
        "to_state": "returned",
        "year": 2025,
        "reason": "缺少推荐意见",
        "actor": "",
    }


def test_a_failing_emit_never_breaks_the_caller(
    prefect_api: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_kw: Any) -> None:
        raise ConnectionError("server down")

    monkeypatch.setattr(prefect.events, "emit_event", broken)

    @flow
    def change() -> Any:
        return emit_state_change(8, None, "submitted", 2025)

    assert change() is None


def test_with_the_ephemeral_api_a_run_emits_nothing(
    prefect_api: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No server configured (the demo's ephemeral API): nobody listens, nothing is sent."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: calls.append(kw) or "sent")

    @flow
    def change() -> Any:
        with temporary_settings(updates={PREFECT_API_URL: None}):
            return emit_state_change(9, "accepted", "approved", 2025)

    assert change() is None
    assert calls == []

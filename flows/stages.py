"""The nine stage flows (工作程序), in the order the campaign runs them. When each opens and
whether it has something due is `domain.stages`'."""

from __future__ import annotations

from collections.abc import Callable

from flows.application import application_body, application_stage
from flows.audit import audit_body, audit_stage
from flows.evaluation import evaluation_body, evaluation_stage
from flows.follow_up import follow_up_body, follow_up_stage
from flows.implementation import implementation_body, implementation_stage
from flows.promotion import promotion_body, promotion_stage
from flows.publicity import publicity_body, publicity_stage
from flows.results import results_body, results_stage
from flows.stage import StageBody
from flows.training import training_body, training_stage
from services.context import StageReport

STAGE_FLOWS: dict[str, Callable[..., StageReport]] = {
    "application": application_stage,
    "audit": audit_stage,
    "training": training_stage,
    "implementation": implementation_stage,
    "follow_up": follow_up_stage,
    "results": results_stage,
    "evaluation": evaluation_stage,
    "publicity": publicity_stage,
    "promotion": promotion_stage,
}

# The same stages' bodies, for running a day's work without Prefect (`flows.stage.direct`).
STAGE_BODIES: dict[str, StageBody] = {
    "application": application_body,
    "audit": audit_body,
    "training": training_body,
    "implementation": implementation_body,
    "follow_up": follow_up_body,
    "results": results_body,
    "evaluation": evaluation_body,
    "publicity": publicity_body,
    "promotion": promotion_body,
}

"""The nine stage flows (工作程序), in the order the campaign runs them. When each opens and
whether it has something due is `domain.stages`'."""

from __future__ import annotations

from collections.abc import Callable

from flows.application import application_stage
from flows.audit import audit_stage
from flows.evaluation import evaluation_stage
from flows.follow_up import follow_up_stage
from flows.implementation import implementation_stage
from flows.promotion import promotion_stage
from flows.publicity import publicity_stage
from flows.results import results_stage
from flows.training import training_stage
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

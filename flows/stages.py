"""The nine stage flows (工作程序), in the order the campaign runs them."""

from __future__ import annotations

from collections.abc import Callable

from flows.application import application_stage
from flows.audit import audit_stage
from flows.evaluation import evaluation_stage
from flows.follow_up import follow_up_due, follow_up_stage
from flows.implementation import implementation_due, implementation_stage
from flows.promotion import promotion_stage
from flows.publicity import publicity_stage
from flows.results import results_due, results_stage
from flows.training import training_stage
from services.context import CampaignContext, StageReport

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

# Stages driven by calendar points alone: the campaign starts their flow only on a run where one
# is due (the others look at what arrived since their last run, so they run whenever open).
STAGE_DUE: dict[str, Callable[[CampaignContext], bool]] = {
    "implementation": implementation_due,
    "follow_up": follow_up_due,
    "results": results_due,
}

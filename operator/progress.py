"""An experiment's phase and conditions, read off its RayJob's status.

KubeRay reports two things: ``jobDeploymentStatus`` (the RayJob's own lifecycle: Initializing,
Running, Complete, Failed, ValidationFailed, Suspending, Suspended, Retrying, Waiting) and
``jobStatus`` (the Ray job's: PENDING, RUNNING, STOPPED, SUCCEEDED, FAILED). The operator owns
``phase``, ``conditions``, ``message``, ``dashboardURL``, ``rayJobName`` and
``observedGeneration`` of the experiment's status; the job owns ``stage``, ``step``, ``fid``,
``inceptionScore``, ``imagesPerSecond`` and ``lastFailure``. Nothing here touches the job's keys.
"""

from __future__ import annotations

from typing import Any

_FAILED = {"Failed", "ValidationFailed"}
_SUSPENDED = {"Suspending", "Suspended"}
CONDITION_TYPES = ("Valid", "Running", "Succeeded", "Failed")


def phase_of(ray_job_status: dict[str, Any]) -> str:
    deployment = ray_job_status.get("jobDeploymentStatus", "")
    job = ray_job_status.get("jobStatus", "")
    if deployment == "Complete":
        return "Succeeded" if job == "SUCCEEDED" else "Failed"
    if deployment in _FAILED:
        return "Failed"
    if deployment in _SUSPENDED:
        return "Suspended"
    if deployment == "Running":
        return "Running"
    return "Pending"


def _condition(kind: str, holds: bool, reason: str, message: str, now: str,
               previous: dict[str, dict[str, Any]]) -> dict[str, Any]:
    status = "True" if holds else "False"
    before = previous.get(kind, {})
    since = before.get("lastTransitionTime", now) if before.get("status") == status else now
    return {"type": kind, "status": status, "reason": reason or "Unknown",
            "message": message, "lastTransitionTime": since}


def conditions(phase: str, valid: bool, reason: str, message: str, now: str,
               previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The four conditions, keeping each one's transition time while its status holds."""
    by_type = {c.get("type", ""): c for c in previous}
    return [
        _condition("Valid", valid, "SpecAccepted" if valid else "SpecRejected",
                   "" if valid else message, now, by_type),
        _condition("Running", phase == "Running", reason, message, now, by_type),
        _condition("Succeeded", phase == "Succeeded", reason, message, now, by_type),
        _condition("Failed", phase == "Failed", reason, message, now, by_type),
    ]


def status_from_ray_job(ray_job: dict[str, Any], previous: dict[str, Any],
                        now: str) -> dict[str, Any]:
    """The operator's part of the experiment's status while its RayJob exists."""
    reported = ray_job.get("status") or {}
    phase = phase_of(reported)
    reason = reported.get("jobDeploymentStatus") or "Created"
    message = reported.get("message", "")
    status = {
        "phase": phase,
        "rayJobName": ray_job["metadata"]["name"],
        "message": message,
        "conditions": conditions(phase, True, reason, message, now,
                                 previous.get("conditions", [])),
    }
    if reported.get("dashboardURL"):
        status["dashboardURL"] = reported["dashboardURL"]
    return status


# Why the operator itself failed an experiment (before or beside its RayJob).
OPERATOR_REASONS = ("SpecRejected", "NotAllowed", "NameTaken", "ChildRefused")


def status_for_rejected_spec(problems: str, previous: dict[str, Any], now: str,
                             reason: str = "SpecRejected", valid: bool = False) -> dict[str, Any]:
    """Failed by the operator: a spec it refuses (``valid`` False) or children it could not
    create; ``reason`` is one of OPERATOR_REASONS."""
    return {"phase": "Failed", "message": problems,
            "conditions": conditions("Failed", valid, reason, problems, now,
                                     previous.get("conditions", []))}


def failed_by_operator(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Failed" and any(
        c.get("type") == "Failed" and c.get("reason") in OPERATOR_REASONS
        for c in status.get("conditions", []))

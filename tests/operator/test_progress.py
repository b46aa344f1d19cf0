"""The experiment's phase and conditions as functions of the RayJob's status."""

import pytest
from s3gan_operator.progress import (
    CONDITION_TYPES,
    phase_of,
    status_for_rejected_spec,
    status_from_ray_job,
)


@pytest.mark.parametrize("deployment, job, phase", [
    ("", "", "Pending"),
    ("Initializing", "", "Pending"),
    ("Waiting", "PENDING", "Pending"),
    ("Retrying", "FAILED", "Pending"),  # backoffLimit: a fresh cluster resumes from storage
    ("Running", "PENDING", "Running"),
    ("Running", "RUNNING", "Running"),
    ("Complete", "SUCCEEDED", "Succeeded"),
    ("Complete", "FAILED", "Failed"),
    ("Complete", "STOPPED", "Failed"),
    ("Failed", "FAILED", "Failed"),
    ("ValidationFailed", "", "Failed"),
    ("Suspending", "RUNNING", "Suspended"),
    ("Suspended", "", "Suspended"),
])
def test_phase_follows_the_rayjob(deployment, job, phase):
    assert phase_of({"jobDeploymentStatus": deployment, "jobStatus": job}) == phase


def _job(**status):
    return {"metadata": {"name": "exp"}, "status": status}


def test_conditions_keep_their_transition_time_while_they_hold():
    first = status_from_ray_job(_job(jobDeploymentStatus="Running"), {}, "T1")
    again = status_from_ray_job(_job(jobDeploymentStatus="Running"), first, "T2")
    assert again == first
    done = status_from_ray_job(_job(jobDeploymentStatus="Complete", jobStatus="SUCCEEDED"),
                               again, "T3")
    times = {c["type"]: (c["status"], c["lastTransitionTime"]) for c in done["conditions"]}
    assert times == {"Valid": ("True", "T1"), "Running": ("False", "T3"),
                     "Succeeded": ("True", "T3"), "Failed": ("False", "T1")}
    assert tuple(times) == CONDITION_TYPES


def test_status_carries_the_dashboard_and_message_but_none_of_the_jobs_own_keys():
    status = status_from_ray_job(_job(jobDeploymentStatus="Failed", message="OOMKilled",
                                      dashboardURL="exp-head-svc.ns.svc:8265"), {}, "T")
    assert (status["phase"], status["message"]) == ("Failed", "OOMKilled")
    assert status["dashboardURL"] == "exp-head-svc.ns.svc:8265"
    assert not {"stage", "step", "fid", "inceptionScore"} & status.keys()


def test_a_rejected_spec_is_failed_and_invalid():
    status = status_for_rejected_spec("spec.training.globalBatch: ...", {}, "T")
    valid = next(c for c in status["conditions"] if c["type"] == "Valid")
    assert status["phase"] == "Failed" and valid["status"] == "False"
    assert valid["message"] == "spec.training.globalBatch: ..."

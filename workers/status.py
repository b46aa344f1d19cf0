"""Rank 0's progress in its own experiment's ``status``: stage, step, FID, IS, images/s, and the
stage that failed.

On a cluster the operator runs the job under a per-experiment ServiceAccount whose Role allows
``get``/``patch`` on ``s3ganexperiments/status`` for that one experiment, and tells the pods
which experiment they serve through ``S3GAN_EXPERIMENT_NAME`` and ``S3GAN_EXPERIMENT_NAMESPACE``
(``s3gan_operator.render``). The reporter patches the status subresource with a JSON merge
patch holding only the keys rank 0 owns, so the operator's ``phase`` and ``conditions`` are
never touched. Anywhere else (a laptop, a test, a Ray cluster outside Kubernetes) it is a
no-op that says so once in the log. A failed patch is logged (status code and reason, never
request headers, so never the token) and training carries on: progress reporting must not stop
a run. During training rank 0 reports through :class:`ThrottledReporter`, at most once per
``MIN_INTERVAL_SECONDS``, so a fast run cannot flood the API server.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from s3gan_workers.interval import Interval
from urllib3.exceptions import HTTPError

from s3gan.spec import GROUP, PLURAL, VERSION

NAME_VARIABLE = "S3GAN_EXPERIMENT_NAME"
NAMESPACE_VARIABLE = "S3GAN_EXPERIMENT_NAMESPACE"
MERGE_PATCH = "application/merge-patch+json"
STAGES = ("pretrain", "labels", "train", "evaluate", "done")
MIN_INTERVAL_SECONDS = 15.0
REASON_LIMIT = 1000  # characters of a failure's reason in the status; the full text is in run.json
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """What rank 0 knows: the CRD's ``status.stage``, ``step``, ``fid``, ``inceptionScore``,
    ``classAccuracyScore``, ``intraClassFid``, ``imagesPerSecond``."""

    stage: str
    step: int | None = None
    fid: float | None = None
    inception_score: float | None = None  # None: not measured (offline weights carry no IS)
    images_per_second: float | None = None  # real images through training, all replicas
    class_accuracy_score: float | None = None  # CAS of the evaluate stage (None: not measured)
    intra_class_fid: float | None = None  # of the evaluate stage (None: not measured)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"status.stage must be one of {STAGES}, got {self.stage!r}")
        if self.step is not None and self.step < 0:
            raise ValueError(f"status.step must be ≥ 0, got {self.step}")

    def as_status(self) -> dict:
        status = {"stage": self.stage, "step": self.step, "fid": self.fid,
                  "inceptionScore": self.inception_score,
                  "imagesPerSecond": self.images_per_second,
                  "classAccuracyScore": self.class_accuracy_score,
                  "intraClassFid": self.intra_class_fid}
        return {key: value for key, value in status.items() if value is not None}


@dataclass(frozen=True)
class Failure:
    """A stage that raised: the CRD's ``status.lastFailure``. The operator owns ``phase`` and
    ``message`` (it derives them from the RayJob), so the job's own reason goes here."""

    stage: str
    reason: str
    time: str  # RFC 3339, UTC

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"status.lastFailure.stage must be one of {STAGES}, "
                             f"got {self.stage!r}")

    def as_status(self) -> dict:
        # Ray puts the exception a task raised at the end of its text: keep the end.
        reason = (self.reason if len(self.reason) <= REASON_LIMIT
                  else "…" + self.reason[-(REASON_LIMIT - 1):])
        return {"lastFailure": {"stage": self.stage, "reason": reason, "time": self.time}}


class StatusReporter:
    """Patches ``status`` of experiment ``namespace/name`` through ``api``; no-op without one."""

    def __init__(self, api: client.ApiClient | None, name: str = "", namespace: str = ""):
        self._api, self.name, self.namespace = api, name, namespace

    @property
    def active(self) -> bool:
        return self._api is not None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> StatusReporter:
        """In a pod the operator started: the pod's ServiceAccount. Elsewhere: a no-op."""
        name, namespace = environ.get(NAME_VARIABLE), environ.get(NAMESPACE_VARIABLE)
        if not name or not namespace:
            logger.info("status reports off: %s and %s are not both set (not a job the "
                        "s3gan operator started)", NAME_VARIABLE, NAMESPACE_VARIABLE)
            return cls(None)
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as e:
            logger.info("status reports off: not inside a Kubernetes pod (%s)", e)
            return cls(None)
        return cls(client.ApiClient(configuration), name, namespace)

    def report(self, progress: Progress | Failure) -> bool:
        """Patch the experiment's status; True when the API server accepted it."""
        if self._api is None:
            return False
        try:
            client.CustomObjectsApi(self._api).patch_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, PLURAL, self.name,
                {"status": progress.as_status()}, _content_type=MERGE_PATCH)
        except ApiException as e:
            logger.warning("status patch of %s %s/%s refused: HTTP %s %s", PLURAL,
                           self.namespace, self.name, e.status, e.reason)
            return False
        except HTTPError as e:
            logger.warning("status patch of %s %s/%s failed: %s", PLURAL, self.namespace,
                           self.name, type(e).__name__)
            return False
        return True


class ThrottledReporter:
    """Passes a report on to ``reporter`` unless one went out less than ``min_interval``
    seconds ago (by ``clock``); a refused patch counts as sent, so a failing API server is not
    retried every step either."""

    def __init__(self, reporter: StatusReporter, min_interval: float = MIN_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.reporter, self.interval = reporter, Interval(min_interval, clock)

    def report(self, progress: Progress) -> bool:
        """True when the API server accepted this report; False when refused, held back, or
        there is no cluster."""
        if not self.reporter.active or not self.interval.due():
            return False
        return self.reporter.report(progress)

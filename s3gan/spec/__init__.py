"""The experiment spec: the single source of truth for the CLI, the workers and the CRD.

Imports neither torch nor Ray (the operator's image carries only this).
"""

from s3gan.spec.load import (
    Problem,
    SpecError,
    check_spec,
    load_experiment,
    parse_experiment,
    with_overrides,
)
from s3gan.spec.methods import TRAITS, Method, MethodTraits
from s3gan.spec.model import (
    API_VERSION,
    GROUP,
    KIND,
    PLURAL,
    RESOLUTIONS,
    VERSION,
    Experiment,
    ExperimentSpec,
)
from s3gan.spec.rules import IMMUTABLE_FIELDS, RULES, SWEEP_PARAMETERS, Rule

__all__ = [
    "API_VERSION", "GROUP", "IMMUTABLE_FIELDS", "KIND", "PLURAL", "RESOLUTIONS", "RULES",
    "SWEEP_PARAMETERS", "TRAITS", "VERSION", "Experiment", "ExperimentSpec", "Method",
    "MethodTraits", "Problem", "Rule", "SpecError", "check_spec", "load_experiment",
    "parse_experiment", "with_overrides",
]

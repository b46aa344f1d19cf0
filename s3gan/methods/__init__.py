"""The paper's methods as compositions of label and head strategies.

``build_method(spec, inferred_labels)`` returns the ``GanMethod`` the trainer drives: which heads
D carries, how many classes G and D condition on, how fake labels are drawn, and the D and G
losses with their named terms.
"""

from s3gan.methods.gan_method import Critic, GanMethod, LossTerms
from s3gan.methods.inferred_labels import InferredLabels
from s3gan.methods.registry import build_method

__all__ = ["Critic", "GanMethod", "InferredLabels", "LossTerms", "build_method"]

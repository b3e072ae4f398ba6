"""shipyard.yaml models, loading with clear errors, settings, and the project folder."""

from shipyard.config.loading import load_policy, parse_policy
from shipyard.config.policy import GateConfig, Policy
from shipyard.config.project import Project

__all__ = ["GateConfig", "Policy", "Project", "load_policy", "parse_policy"]

"""Result types and hashing shared by every layer; imports nothing else of Shipyard's except errors."""

from shipyard.core.results import CheckResult, Reason, Report, Severity, Status

__all__ = ["CheckResult", "Reason", "Report", "Severity", "Status"]

"""What every app shares that is stored, in each brand's schema (core is a tenant app): API keys, staff
profiles and their settings, the audit trail, and the jobs that long work reports its progress in."""

from core.models.apikeys import ApiKey
from core.models.audit import AuditEntry
from core.models.jobs import Job
from core.models.staff import StaffProfile, StaffSettings

__all__ = ["ApiKey", "AuditEntry", "Job", "StaffProfile", "StaffSettings"]

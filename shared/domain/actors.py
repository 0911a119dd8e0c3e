"""Who acts on a referral: the audit trail names them by role and id, never by name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who acts, from the token: its subject id only (no name or email reaches the audit trail)."""

    subject: str
    role: str = "coordinator"  # or "partner" (a community partner answering through its link; subject: its id)

    @property
    def audit_name(self) -> str:
        return f"{self.role}:{self.subject}"

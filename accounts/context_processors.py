from __future__ import annotations

from django.http import HttpRequest


def roles(request: HttpRequest) -> dict[str, bool]:
    """Expose the signed-in user's staff roles to templates (for navigation only): none
    until the session has passed the second factor it owes (accounts.middleware)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "second_factor_pending", False):
        return {
            "is_agent": False,
            "is_lead": False,
            "is_manager": False,
            "is_privacy_officer": False,
            "reads_access_log": False,
            "staff_menu": False,
        }
    return {
        "is_agent": user.is_agent,
        "is_lead": user.is_lead,
        "is_manager": user.is_manager,
        "is_privacy_officer": user.is_privacy_officer,
        "reads_access_log": user.reads_access_log,
        "staff_menu": user.is_agent or user.is_staff or user.is_privacy_officer or user.reads_access_log,
    }

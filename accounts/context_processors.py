from __future__ import annotations

from django.http import HttpRequest


def roles(request: HttpRequest) -> dict[str, bool]:
    """Expose the signed-in user's staff roles to templates (for navigation only)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_agent": False, "is_lead": False, "is_manager": False, "reads_access_log": False}
    return {
        "is_agent": user.is_agent,
        "is_lead": user.is_lead,
        "is_manager": user.is_manager,
        "reads_access_log": user.reads_access_log,
    }

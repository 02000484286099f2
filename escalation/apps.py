from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("SLA and escalation")

    def ready(self) -> None:
        # Each process keeps the ladder (escalation.standing.levels): read again on a change.
        from django.db.models.signals import post_delete, post_save

        from common import kept
        from escalation.models import EscalationLevel

        post_save.connect(kept.changed, sender=EscalationLevel, dispatch_uid="kept-EscalationLevel")
        post_delete.connect(kept.changed, sender=EscalationLevel, dispatch_uid="kept-EscalationLevel-gone")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        # The providers' webhooks feed the inbound pipeline through anymail's signal.
        from complaints import security, webhooks

        webhooks.connect_doors()
        # Signs of an attack reported by accounts reach the privacy officers.
        security.connect()
        # The settings each process keeps (common.kept: categories, subcategories, causes,
        # staff's canned replies, the open incidents the filing form shows) are read again on a
        # change; a request reads their version once.
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_delete, post_save

        from common import kept
        from complaints.models import CannedReply, Category, Cause, Incident, Subcategory

        for model in (Category, Subcategory, CannedReply, Cause, Incident):
            post_save.connect(kept.changed, sender=model, dispatch_uid=f"kept-{model.__name__}")
            post_delete.connect(kept.changed, sender=model, dispatch_uid=f"kept-{model.__name__}-gone")
        request_started.connect(kept.request_started, dispatch_uid="kept-request-started")
        request_finished.connect(kept.request_finished, dispatch_uid="kept-request-finished")

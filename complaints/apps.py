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
        # The forms' choices each process keeps (categories, subcategories, staff's canned
        # replies) are read again on a change.
        from django.db.models.signals import post_delete, post_save

        from complaints.models import CannedReply, Category, Subcategory
        from complaints.selectors import choices_changed

        for model in (Category, Subcategory, CannedReply):
            post_save.connect(choices_changed, sender=model, dispatch_uid=f"choices-{model.__name__}")
            post_delete.connect(choices_changed, sender=model, dispatch_uid=f"choices-{model.__name__}-gone")

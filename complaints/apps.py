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

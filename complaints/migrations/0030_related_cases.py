"""Related cases (issue 17, point 4): what the staff workspace compares cases by, and cases linked
to each other.

- `provider_key` (the provider's name folded) and `related_text` (the subject and the start of the
  description, folded), filled here for the complaints filed before, then written with the
  fields they are made of;
- the indexes of complaints.related: the same provider's cases by time, and one partial index per
  identifier of the account at the provider;
- `ComplaintRelation`, two cases linked to each other, once per pair (the lower id first), and the
  two timeline entries that record a link and its removal.

pg_trgm, whose similarity() ranks the candidates, has been installed since 0005 (by hand, for the
queue search's index); it is named here with Django's own operation, and kept when this migration
is reversed, since the queue search's trigram index (0020) needs it. No trigram index is added:
complaints.related scores a bounded set of candidates read by time, which costs the same at any
size of the table, where a GIN search with `%` over these texts read the posting lists of the
whole table (1.3 s for one case at a million complaints; see complaints/related.py).
"""

import django.db.models.deletion
import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from complaints.search import fold, related_text

BATCH = 2000


def fill_keys(apps, schema_editor):
    Complaint = apps.get_model("complaints", "Complaint")
    rows = Complaint.objects.only("provider_name", "subject", "description").order_by("pk")
    batch = []
    for complaint in rows.iterator(chunk_size=BATCH):
        complaint.provider_key = fold(complaint.provider_name)
        complaint.related_text = related_text(complaint.subject, complaint.description)
        batch.append(complaint)
        if len(batch) == BATCH:
            Complaint.objects.bulk_update(batch, ["provider_key", "related_text"])
            batch = []
    Complaint.objects.bulk_update(batch, ["provider_key", "related_text"])


class KeptTrigramExtension(TrigramExtension):
    """pg_trgm, left in place when the migration is reversed: 0020's index needs it."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0029_incidents"),
        ("escalation", "0011_seed_letters"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        KeptTrigramExtension(),
        migrations.CreateModel(
            name="ComplaintRelation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(verbose_name="linked")),
            ],
            options={
                "verbose_name": "link between cases",
                "verbose_name_plural": "links between cases",
            },
        ),
        migrations.AddField(
            model_name="complaint",
            name="provider_key",
            field=models.CharField(db_default="", default="", editable=False, max_length=150),
        ),
        migrations.AddField(
            model_name="complaint",
            name="related_text",
            field=models.TextField(db_default="", default="", editable=False),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="complaintevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("submitted", "Complaint submitted"),
                    ("triaged", "Triaged"),
                    ("assigned", "Assigned"),
                    ("reply", "Reply"),
                    ("internal_note", "Internal note"),
                    ("evidence_added", "Evidence added"),
                    ("contact_logged", "Contact with the provider recorded"),
                    ("info_requested", "Information requested"),
                    ("reminder", "Reminder sent"),
                    ("escalation_requested", "Escalation requested"),
                    ("sla_warning", "Deadline approaching"),
                    ("sla_breached", "Deadline missed"),
                    ("escalated", "Escalated"),
                    ("de_escalated", "De-escalated"),
                    ("status_changed", "Status changed"),
                    ("resolved", "Resolved"),
                    ("disputed", "Resolution disputed"),
                    ("closed", "Closed"),
                    ("rated", "Handling rated"),
                    ("withdrawn", "Withdrawn"),
                    ("mail_bounced", "E-mail not delivered"),
                    ("completed", "Complaint completed"),
                    ("consent_withdrawn", "Consent withdrawn"),
                    ("contact_corrected", "Contact details corrected"),
                    ("privacy_request", "Request about personal data"),
                    ("privacy_request_answered", "Request about personal data answered"),
                    ("anonymised", "Personal data erased"),
                    ("letter_sent", "Letter sent"),
                    ("incident_linked", "Linked to a known problem"),
                    ("incident_update", "News on the known problem"),
                    ("incident_resolved", "Known problem resolved"),
                    ("case_linked", "Linked to another case"),
                    ("case_unlinked", "Link to another case removed"),
                ],
                max_length=32,
            ),
        ),
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(fields=["provider_key", "submitted_at"], name="complaint_provider_time_idx"),
        ),
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(
                models.F("provider_key"),
                django.db.models.functions.comparison.NullIf(
                    django.db.models.functions.text.Lower("provider_username"), models.Value("")
                ),
                models.F("submitted_at"),
                condition=models.Q(
                    django.db.models.lookups.IsNull(
                        django.db.models.functions.comparison.NullIf(
                            django.db.models.functions.text.Lower("provider_username"), models.Value("")
                        ),
                        False,
                    )
                ),
                name="complaint_account_user_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(
                models.F("provider_key"),
                django.db.models.functions.comparison.NullIf(
                    django.db.models.functions.text.Lower("provider_email"), models.Value("")
                ),
                models.F("submitted_at"),
                condition=models.Q(
                    django.db.models.lookups.IsNull(
                        django.db.models.functions.comparison.NullIf(
                            django.db.models.functions.text.Lower("provider_email"), models.Value("")
                        ),
                        False,
                    )
                ),
                name="complaint_account_email_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(
                models.F("provider_key"),
                django.db.models.functions.comparison.NullIf(
                    django.db.models.functions.text.Lower("provider_account_id"), models.Value("")
                ),
                models.F("submitted_at"),
                condition=models.Q(
                    django.db.models.lookups.IsNull(
                        django.db.models.functions.comparison.NullIf(
                            django.db.models.functions.text.Lower("provider_account_id"), models.Value("")
                        ),
                        False,
                    )
                ),
                name="complaint_account_id_idx",
            ),
        ),
        migrations.AddField(
            model_name="complaintrelation",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="linked by",
            ),
        ),
        migrations.AddField(
            model_name="complaintrelation",
            name="high",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="complaints.complaint",
            ),
        ),
        migrations.AddField(
            model_name="complaintrelation",
            name="low",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="complaints.complaint",
            ),
        ),
        migrations.AddIndex(
            model_name="complaintrelation",
            index=models.Index(fields=["high", "low"], name="complaint_relation_high_idx"),
        ),
        migrations.AddConstraint(
            model_name="complaintrelation",
            constraint=models.UniqueConstraint(fields=("low", "high"), name="complaint_relation_once"),
        ),
        migrations.AddConstraint(
            model_name="complaintrelation",
            constraint=models.CheckConstraint(
                condition=models.Q(("low__lt", models.F("high"))), name="complaint_relation_ordered"
            ),
        ),
    ]

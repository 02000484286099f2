"""A provider is compared by `complaints.search.provider_key`: its name folded with only its
letters and digits kept, and a web address's "www." and top-level labels taken off ("Shop Nhanh",
"ShopNhanh" and "shopnhanh.vn" are one service). The keys written before (the name folded, spaces
kept) are written again: the complaints' whose key holds anything but a-z and 0-9 (the others are
already the same), every incident's and every wave alert's. Two open alerts that now name the same
provider in the same category are one wave: the latest stays open, the others are superseded.

Backwards, the keys stay: the old code compares spaced keys, so a filing would no longer match an
incident declared before; run this migration forwards again.
"""

from django.db import migrations

from complaints.search import provider_key

BATCH = 2000


def rekey(apps, schema_editor):
    Complaint = apps.get_model("complaints", "Complaint")
    Incident = apps.get_model("complaints", "Incident")
    WaveAlert = apps.get_model("complaints", "WaveAlert")
    stale = Complaint.objects.filter(provider_key__regex=r"[^a-z0-9]").only("provider_name", "provider_key")
    batch = []
    for complaint in stale.order_by("pk").iterator(chunk_size=BATCH):
        complaint.provider_key = provider_key(complaint.provider_name)
        batch.append(complaint)
        if len(batch) == BATCH:
            Complaint.objects.bulk_update(batch, ["provider_key"])
            batch = []
    Complaint.objects.bulk_update(batch, ["provider_key"])
    for incident in Incident.objects.only("provider_name", "provider_key"):
        Incident.objects.filter(pk=incident.pk).update(provider_key=provider_key(incident.provider_name))
    keys, seen, superseded = {}, set(), []
    # Newest first: of two open alerts of one category and provider, the later one stays open.
    for alert in WaveAlert.objects.order_by("-last_seen_at", "-pk"):
        keys[alert.pk] = key = provider_key(alert.provider_name)
        if alert.state == "open":
            if (alert.category_id, key) in seen:
                superseded.append(alert.pk)
            seen.add((alert.category_id, key))
    # The superseded first: one open alert per category and key at every step.
    WaveAlert.objects.filter(pk__in=superseded).update(state="superseded")
    for pk, key in keys.items():
        WaveAlert.objects.filter(pk=pk).update(provider_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0032_tallies_skip_unchanged_updates"),
    ]

    operations = [
        migrations.RunPython(rekey, migrations.RunPython.noop),
    ]

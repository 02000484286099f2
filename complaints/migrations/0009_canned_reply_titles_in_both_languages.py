"""A canned reply's title in Vietnamese and English, like its text: the old title becomes the
English one; the Vietnamese one starts empty (the page shows the English until it is written)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("complaints", "0008_manager_queue_index")]

    operations = [
        migrations.RenameField("cannedreply", "title", "title_en"),
        migrations.AlterField(
            "cannedreply", "title_en", models.CharField(max_length=120, verbose_name="title (English)")
        ),
        migrations.AddField(
            "cannedreply",
            "title_vi",
            models.CharField(default="", max_length=120, verbose_name="title (Vietnamese)"),
            preserve_default=False,
        ),
    ]

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models.functions import Collate


class Migration(migrations.Migration):
    # Built without locking writes to the table of every member (CREATE INDEX CONCURRENTLY).
    atomic = False

    dependencies = [
        ("members", "0017_directory_reads_one_table"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                condition=models.Q(("directory_visible", True), ("erased_at__isnull", True), ("is_active", True)),
                fields=["membership_end"],
                name="user_listed_membership_end",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "en-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_en",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "es-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_es",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "fr-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_fr",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "de-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_de",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "pt-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_pt",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "zh-Hans-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_zh_hans",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "ja-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_ja",
            ),
        ),
        AddIndexConcurrently(
            model_name="user",
            index=models.Index(
                Collate("full_name", "ar-x-icu"),
                models.F("id"),
                condition=models.Q(("directory_visible", True)),
                name="user_listed_name_ar",
            ),
        ),
    ]

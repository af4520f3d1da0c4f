from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes to the payments (CREATE INDEX CONCURRENTLY): one per paid order.
    atomic = False

    dependencies = [
        ("members", "0016_directory_search_listed_members"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(fields=["-received_on", "-recorded_at", "-id"], name="payment_newest_first"),
        ),
    ]

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes (CREATE INDEX CONCURRENTLY): a payment per paid order, an order per term.
    atomic = False

    dependencies = [
        ("members", "0021_dues_counts"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="term",
            index=models.Index(
                condition=models.Q(("voided_at__isnull", True)), fields=["start"], name="term_counting_start"
            ),
        ),
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(fields=["-received_on", "-recorded_at", "-id"], name="payment_newest_first"),
        ),
    ]

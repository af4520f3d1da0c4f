"""The periodic jobs Celery beat queues (CELERY_BEAT_SCHEDULE in base.py). Each job is idempotent: it computes
what is due and not yet done, so a missed or doubled run changes nothing."""

BEAT_SCHEDULE = {
    # Every minute: announcements go out in waves at ANNOUNCEMENT_RATE, each wave handed to the workers
    # by the sweep after its rows fall due.
    "sweep-outbox": {"task": "society.tasks.sweep_outbox", "schedule": 60},
    "queue-due-announcements": {"task": "members.tasks.queue_due_announcements", "schedule": 60},
    # Every minute: the first webhook retry is due about a minute after a failure.
    "sweep-webhooks": {"task": "guidelines.tasks.sweep_webhooks", "schedule": 60},
    # Alerts lost on the way to the broker go out within the five minutes subscribers are promised.
    "sweep-alert-runs": {"task": "guidelines.tasks.sweep_alert_runs", "schedule": 60},
    # Hourly, not daily: a run missed by a deploy or an outage is caught up within the hour.
    "send-renewal-reminders": {"task": "members.tasks.send_renewal_reminders", "schedule": 60 * 60},
    # Within the ten minutes the staff figures are cached for: the dashboard and the unfiltered Retention page
    # are always in the cache, never computed while staff wait (seconds at 500,000 members).
    "warm-staff-figures": {"task": "members.tasks.warm_staff_figures", "schedule": 5 * 60},
    # The retention counts grow by a row or two per renewal, join or refund between compactions.
    "compact-retention-counts": {"task": "members.tasks.compact_retention_counts", "schedule": 60 * 60},
    # Hourly too: notices, card-expiry emails and charges are computed from what is due and not yet done.
    "run-auto-renewals": {"task": "members.tasks.run_auto_renewals", "schedule": 60 * 60},
    # A lost checkout webhook is applied within the hour after the order is an hour old.
    "reconcile-card-orders": {"task": "members.tasks.reconcile_stale_card_orders", "schedule": 30 * 60},
    # Deletes exports older than a week and fails runs whose worker died.
    "purge-exports": {"task": "society.tasks.purge_exports", "schedule": 60 * 60},
}

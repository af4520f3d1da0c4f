"""Settings of what the portal delivers: the email outbox, webhooks, announcements."""

import environ

env = environ.Env()

# --- Email outbox (society/services/mail.py) ------------------------------
REPLY_TO_EMAIL = env.str("REPLY_TO_EMAIL", default="")
OUTBOX_MAX_ATTEMPTS = 6
# First retry wait; each later one is five times longer (about a day over six tries).
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=120)

# --- Webhooks (guidelines/services/webhooks.py) ----------------------------
# Plain http:// to this machine (127.0.0.1, localhost) for endpoints; never in production, where only https is.
WEBHOOK_ALLOW_LOCAL_HTTP = env.bool("WEBHOOK_ALLOW_LOCAL_HTTP", default=False)
# Per socket operation (connect, send, each read): a slow receiver cannot hold a worker for long.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=60)
# Tries after network errors, 5xx, 408 and 429; and after any other refusal (4xx, a redirect), which retrying
# rarely heals unless staff or the institution fix the URL or the secret in the meantime.
WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_MAX_REFUSED_ATTEMPTS = 3

# --- Outbox batches, suppression and announcements (society/services/mail_delivery.py) ---
# Emails one send task delivers over one SMTP connection. Opening a connection (TCP, EHLO, STARTTLS,
# AUTH) costs more than a message; the whole batch must still fit the task's time limit (society/tasks.py).
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=50)
# Kinds of email a member may decline and a suppressed address never gets; every other kind (receipts,
# security, renewal reminders) is transactional and always tried.
NON_TRANSACTIONAL_EMAIL_KINDS = ["announcement", "guideline_alert"]
# How fast announcements go out, as "<count>/m" or "<count>/h": the mail provider's sending limit.
ANNOUNCEMENT_RATE = env.str("ANNOUNCEMENT_RATE", default="600/m")

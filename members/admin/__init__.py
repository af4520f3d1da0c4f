# Each module registers its models with the admin site on import.
from members.admin import accounts, announcements, autorenew, imports, memberships, payments, reminders  # noqa: F401

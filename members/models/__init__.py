from .accounts import User
from .outbox import OutgoingEmail, OutgoingEmailStatus

__all__ = ["OutgoingEmail", "OutgoingEmailStatus", "User"]

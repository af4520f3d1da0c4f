from members.forms.memberships import ReasonForm


class RefundForm(ReasonForm):
    """Why the order is refunded; shown in its history and on the voided term."""

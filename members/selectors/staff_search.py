"""Staff search of the membership changelist, through the indexes of users and orders."""

import functools
import operator

from django.db.models import Q

from members.models import Membership, Order, User
from members.models.accounts import search_words, staff_search
from members.models.payments import may_be_in_order_number


def memberships_searched_by_staff(memberships, text: str):
    """Memberships matching every word of a staff search: in the member's email, name or ORCID iD, or in
    one of their order numbers.

    A word no order number holds (a name, an email: most words) is a plain condition on the joined user,
    with no subquery and no OR across tables, so Postgres may choose either way in: from the users' trigram
    indexes (the words' lookups combined, BitmapAnd) for a rare name or an email, or along the memberships'
    primary key, stopping at the page's 50th row, for a name thousands share. Only a word found in some order
    number (one index probe tells, for all such words together) is an `id IN (… UNION …)` of index lookups on
    users and orders."""
    words = search_words(text)
    numbers = [word for word in words if may_be_in_order_number(word)]
    if numbers:
        in_numbers = functools.reduce(operator.or_, (Q(number__icontains=word) for word in numbers))
        if not Order.objects.filter(in_numbers).exists():
            numbers = []
    fields = ("email", "full_name", "orcid")
    aliases, condition = staff_search([word for word in words if word not in numbers], fields, prefix="user__")
    memberships = memberships.alias(**aliases).filter(condition)
    for word in numbers:
        by_member = Membership.objects.filter(user__in=User.objects.matching_word(word, fields).values("pk"))
        by_order = Order.objects.filter(number__icontains=word).values("membership_id")
        memberships = memberships.filter(pk__in=by_member.values("pk").union(by_order))
    return memberships

"""The reminder schedule a new installation starts with (data migration 0005). Staff edit it in admin."""

_TEXT = """Dear {{ preferred_name }},

{INTRO}

Membership: {{ membership_type }}{% if price %}
Renewal price for your country: {{ price }}{% endif %}

Renew in a minute here: {{ renew_url }}

With best wishes,
The membership office, {{ society_name }}
"""

_HTML = """<p>Dear {{ preferred_name }},</p>
<p>{INTRO}</p>
<p>Membership: <strong>{{ membership_type }}</strong>{% if price %}<br>Renewal price for your country: <strong>{{ price }}</strong>{% endif %}</p>
<p>With best wishes,<br>The membership office, {{ society_name }}</p>"""

_RULES = [
    (
        -60,
        "60 days before the end",
        "Your {{ society_name }} membership ends on {{ end_date }}",
        "Your {{ society_name }} membership ends on {{ end_date }}. Renewing now keeps your access without a gap.",
    ),
    (
        -30,
        "30 days before the end",
        "One month left: renew your {{ society_name }} membership",
        "Your membership ends on {{ end_date }}, one month from now.",
    ),
    (
        -7,
        "7 days before the end",
        "Your membership ends in a week ({{ end_date }})",
        "Your membership ends in a week, on {{ end_date }}.",
    ),
    (
        0,
        "On the end date",
        "Your {{ society_name }} membership ends today",
        "Your membership ends today, {{ end_date }}. Renew today to stay a member without interruption.",
    ),
    (
        14,
        "14 days into the grace period",
        "Your membership ended on {{ end_date }}: renew to keep your access",
        "Your membership ended on {{ end_date }}. You keep member access for a short grace period; renew to keep it.",
    ),
]

DEFAULT_RULES = [
    {
        "offset_days": offset,
        "name": name,
        "subject_template": subject,
        "text_template": _TEXT.replace("{INTRO}", intro),
        "html_template": _HTML.replace("{INTRO}", intro),
    }
    for offset, name, subject, intro in _RULES
]

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


# The same schedule in every offered language (data migration 0007), in each catalogue's terminology.
# Per language: the frame (greeting, labels, closing), then per rule offset its subject and introduction.
_FRAMES = {
    "es": ("Estimado/a {{ preferred_name }}:", "Membresía", "Precio de renovación para su país",
           "Renueve en un minuto aquí", "Con nuestros mejores deseos,", "La oficina de membresía de {{ society_name }}"),
    "fr": ("Cher/Chère {{ preferred_name }},", "Adhésion", "Prix du renouvellement pour votre pays",
           "Renouvelez en une minute ici", "Bien cordialement,", "Le service des adhésions, {{ society_name }}"),
    "de": ("Liebe/r {{ preferred_name }},", "Mitgliedschaft", "Verlängerungspreis für Ihr Land",
           "Hier in einer Minute verlängern", "Mit freundlichen Grüßen", "Die Mitgliederverwaltung, {{ society_name }}"),
    "pt": ("Caro/a {{ preferred_name }},", "Filiação", "Preço de renovação para o seu país",
           "Renove em um minuto aqui", "Com os melhores cumprimentos,", "A secretaria de filiação, {{ society_name }}"),
    "zh-hans": ("{{ preferred_name }}，您好：", "会籍", "您所在国家的续费价格",
                "一分钟即可在此续费", "此致敬礼", "{{ society_name }} 会员事务处"),
    "ja": ("{{ preferred_name }} 様", "会員資格", "お住まいの国の更新料金",
           "こちらから1分で更新できます", "敬具", "{{ society_name }} 会員事務局"),
    "ar": ("عزيزي/عزيزتي {{ preferred_name }}،", "العضوية", "سعر التجديد لبلدك",
           "جدّد في دقيقة واحدة من هنا", "مع أطيب التمنيات،", "مكتب العضوية، {{ society_name }}"),
}  # fmt: skip

_TRANSLATED_RULES = {
    "es": {
        -60: ("Su membresía de {{ society_name }} termina el {{ end_date }}",
              "Su membresía de {{ society_name }} termina el {{ end_date }}. Si renueva ahora, conserva su acceso sin interrupción."),
        -30: ("Queda un mes: renueve su membresía de {{ society_name }}",
              "Su membresía termina el {{ end_date }}, dentro de un mes."),
        -7: ("Su membresía termina en una semana ({{ end_date }})",
             "Su membresía termina en una semana, el {{ end_date }}."),
        0: ("Su membresía de {{ society_name }} termina hoy",
            "Su membresía termina hoy, {{ end_date }}. Renueve hoy para seguir siendo miembro sin interrupción."),
        14: ("Su membresía terminó el {{ end_date }}: renueve para conservar su acceso",
             "Su membresía terminó el {{ end_date }}. Conserva el acceso de miembro durante un breve período de gracia; renueve para mantenerlo."),
    },
    "fr": {
        -60: ("Votre adhésion à {{ society_name }} prend fin le {{ end_date }}",
              "Votre adhésion à {{ society_name }} prend fin le {{ end_date }}. En renouvelant maintenant, vous gardez votre accès sans interruption."),
        -30: ("Plus qu'un mois : renouvelez votre adhésion à {{ society_name }}",
              "Votre adhésion prend fin le {{ end_date }}, dans un mois."),
        -7: ("Votre adhésion prend fin dans une semaine ({{ end_date }})",
             "Votre adhésion prend fin dans une semaine, le {{ end_date }}."),
        0: ("Votre adhésion à {{ society_name }} prend fin aujourd'hui",
            "Votre adhésion prend fin aujourd'hui, le {{ end_date }}. Renouvelez aujourd'hui pour rester membre sans interruption."),
        14: ("Votre adhésion a pris fin le {{ end_date }} : renouvelez pour garder votre accès",
             "Votre adhésion a pris fin le {{ end_date }}. Vous gardez l'accès membre pendant un court délai de grâce ; renouvelez pour le conserver."),
    },
    "de": {
        -60: ("Ihre Mitgliedschaft bei {{ society_name }} endet am {{ end_date }}",
              "Ihre Mitgliedschaft bei {{ society_name }} endet am {{ end_date }}. Wenn Sie jetzt verlängern, bleibt Ihr Zugang ohne Unterbrechung erhalten."),
        -30: ("Noch ein Monat: Verlängern Sie Ihre Mitgliedschaft bei {{ society_name }}",
              "Ihre Mitgliedschaft endet am {{ end_date }}, in einem Monat."),
        -7: ("Ihre Mitgliedschaft endet in einer Woche ({{ end_date }})",
             "Ihre Mitgliedschaft endet in einer Woche, am {{ end_date }}."),
        0: ("Ihre Mitgliedschaft bei {{ society_name }} endet heute",
            "Ihre Mitgliedschaft endet heute, am {{ end_date }}. Verlängern Sie heute, um ohne Unterbrechung Mitglied zu bleiben."),
        14: ("Ihre Mitgliedschaft ist am {{ end_date }} abgelaufen: Verlängern Sie, um Ihren Zugang zu behalten",
             "Ihre Mitgliedschaft ist am {{ end_date }} abgelaufen. Während einer kurzen Nachfrist behalten Sie den Mitgliederzugang; verlängern Sie, um ihn zu behalten."),
    },
    "pt": {
        -60: ("A sua filiação à {{ society_name }} termina em {{ end_date }}",
              "A sua filiação à {{ society_name }} termina em {{ end_date }}. Renovando agora, mantém o seu acesso sem interrupção."),
        -30: ("Falta um mês: renove a sua filiação à {{ society_name }}",
              "A sua filiação termina em {{ end_date }}, daqui a um mês."),
        -7: ("A sua filiação termina em uma semana ({{ end_date }})",
             "A sua filiação termina em uma semana, em {{ end_date }}."),
        0: ("A sua filiação à {{ society_name }} termina hoje",
            "A sua filiação termina hoje, {{ end_date }}. Renove hoje para continuar membro sem interrupção."),
        14: ("A sua filiação terminou em {{ end_date }}: renove para manter o seu acesso",
             "A sua filiação terminou em {{ end_date }}. Mantém o acesso de membro durante um breve período de carência; renove para o conservar."),
    },
    "zh-hans": {
        -60: ("您的 {{ society_name }} 会籍将于 {{ end_date }} 到期",
              "您的 {{ society_name }} 会籍将于 {{ end_date }} 到期。现在续费，您的访问权限将不会中断。"),
        -30: ("还剩一个月：请续费您的 {{ society_name }} 会籍",
              "您的会籍将于一个月后的 {{ end_date }} 到期。"),
        -7: ("您的会籍将在一周后到期（{{ end_date }}）",
             "您的会籍将在一周后，即 {{ end_date }} 到期。"),
        0: ("您的 {{ society_name }} 会籍今天到期",
            "您的会籍今天（{{ end_date }}）到期。请今天续费，以免会员资格中断。"),
        14: ("您的会籍已于 {{ end_date }} 到期：请续费以保留访问权限",
             "您的会籍已于 {{ end_date }} 到期。在短暂的宽限期内您仍可使用会员权限；请续费以保留。"),
    },
    "ja": {
        -60: ("{{ society_name }} の会員資格は {{ end_date }} に終了します",
              "{{ society_name }} の会員資格は {{ end_date }} に終了します。今すぐ更新すると、途切れることなくアクセスを維持できます。"),
        -30: ("残り1か月：{{ society_name }} の会員資格を更新してください",
              "会員資格は1か月後の {{ end_date }} に終了します。"),
        -7: ("会員資格はあと1週間で終了します（{{ end_date }}）",
             "会員資格は1週間後の {{ end_date }} に終了します。"),
        0: ("{{ society_name }} の会員資格は本日終了します",
            "会員資格は本日 {{ end_date }} に終了します。途切れることなく会員でいるために、本日中に更新してください。"),
        14: ("会員資格は {{ end_date }} に終了しました：アクセスを維持するには更新してください",
             "会員資格は {{ end_date }} に終了しました。短い猶予期間中は会員アクセスを引き続き利用できます。維持するには更新してください。"),
    },
    "ar": {
        -60: ("تنتهي عضويتك في {{ society_name }} في {{ end_date }}",
              "تنتهي عضويتك في {{ society_name }} في {{ end_date }}. التجديد الآن يحافظ على وصولك دون انقطاع."),
        -30: ("بقي شهر واحد: جدّد عضويتك في {{ society_name }}",
              "تنتهي عضويتك في {{ end_date }}، بعد شهر من الآن."),
        -7: ("تنتهي عضويتك بعد أسبوع ({{ end_date }})",
             "تنتهي عضويتك بعد أسبوع، في {{ end_date }}."),
        0: ("تنتهي عضويتك في {{ society_name }} اليوم",
            "تنتهي عضويتك اليوم، {{ end_date }}. جدّد اليوم لتبقى عضوًا دون انقطاع."),
        14: ("انتهت عضويتك في {{ end_date }}: جدّد للحفاظ على وصولك",
             "انتهت عضويتك في {{ end_date }}. يبقى لك وصول الأعضاء خلال فترة سماح قصيرة؛ جدّد للحفاظ عليه."),
    },
}  # fmt: skip


def _localised(language: str, subject: str, intro: str) -> dict:
    dear, membership, price, renew, wishes, office = _FRAMES[language]
    text = (
        f"{dear}\n\n{intro}\n\n{membership}: {{{{ membership_type }}}}{{% if price %}}\n"
        f"{price}: {{{{ price }}}}{{% endif %}}\n\n{renew}: {{{{ renew_url }}}}\n\n{wishes}\n{office}\n"
    )
    html = (
        f"<p>{dear}</p>\n<p>{intro}</p>\n<p>{membership}: <strong>{{{{ membership_type }}}}</strong>"
        f"{{% if price %}}<br>{price}: <strong>{{{{ price }}}}</strong>{{% endif %}}</p>\n"
        f"<p>{wishes}<br>{office}</p>"
    )
    return {"language": language, "subject_template": subject, "text_template": text, "html_template": html}


# {offset_days: [ReminderRuleTranslation fields, one per language]}
DEFAULT_TRANSLATIONS = {
    offset: [_localised(language, *rules[offset]) for language, rules in _TRANSLATED_RULES.items()]
    for offset, _name, _subject, _intro in _RULES
}

import datetime
import functools

from allauth.account.models import EmailAddress
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.hashers import make_password

from members.models import Membership, MembershipType, Term, User
from members.models.memberships import society_today

DEMO_STAFF_EMAIL = "staff@society.example"
DEMO_STAFF_PASSWORD = "demo-staff-password"
DEMO_MEMBER_PASSWORD = "demo-member-password"


@functools.cache
def demo_password_hash() -> str:
    # Hashing once and sharing the hash keeps a first seed of 236 demo logins to seconds, not minutes
    # (PBKDF2 costs about a third of a second per call by design). Demo data only.
    return make_password(DEMO_MEMBER_PASSWORD)


# (full name, country, institution, listed in the directory, ORCID iD). Fictional people whose names
# exercise many scripts and naming traditions. Two in three get a computed, never-issued ORCID iD.
DEMO_MEMBERS = [
    ("Nguyễn Thị Minh Khai", "VN", "Viện Tế bào gốc, Hà Nội", True),
    ("Trần Văn Đức", "VN", "Đại học Y Dược TP. Hồ Chí Minh", False),
    ("山中 伸子", "JP", "京都大学 iPS細胞研究所", True),
    ("Σωκράτης Παπαδόπουλος", "GR", "Ίδρυμα Ιατροβιολογικών Ερευνών", True),
    ("محمد بن عبد الله", "SA", "جامعة الملك سعود", True),
    ("Fatima Zahra El Amrani", "MA", "Université Mohammed V de Rabat", False),
    ("प्रिया शर्मा", "IN", "All India Institute of Medical Sciences", True),
    ("王芳", "CN", "中国科学院动物研究所", True),
    ("Анна Сергеевна Иванова", "RU", "Институт биологии развития РАН", True),
    ("Олександр Коваленко", "UA", "Київський національний університет", False),
    ("Siobhán O'Brien-Løvås", "NO", "Universitetet i Oslo", True),
    ("Åsa Lindqvist", "SE", "Karolinska Institutet", True),
    ("Jürgen Müller", "DE", "Max-Planck-Institut für molekulare Biomedizin", True),
    ("Zoë Dubois-Lefèvre", "FR", "Institut Pasteur", True),
    ("José María García Núñez", "ES", "Centro Nacional de Investigaciones Cardiovasculares", False),
    ("João Gonçalves", "PT", "Universidade de Lisboa", True),
    ("Ana Paula Ferreira da Silva", "BR", "Universidade de São Paulo", True),
    ("Martín Rodríguez", "AR", "CONICET", False),
    ("Camila Pérez Soto", "CL", "Pontificia Universidad Católica de Chile", True),
    ("Andrés Felipe Gómez", "CO", "Universidad de Antioquia", False),
    ("Lucía Fernández", "MX", "UNAM", True),
    ("Mateo Quispe Mamani", "PE", "Universidad Peruana Cayetano Heredia", False),
    ("Valentina Rossi", "IT", "Università di Milano", True),
    ("Kateřina Dvořáková", "CZ", "Univerzita Karlova", True),
    ("Zsófia Kovács", "HU", "Semmelweis Egyetem", False),
    ("Małgorzata Wiśniewska", "PL", "Uniwersytet Jagielloński", True),
    ("Ioana Popescu", "RO", "Universitatea de Medicină Carol Davila", False),
    ("Ђорђе Петровић", "RS", "Универзитет у Београду", True),
    ("Мария Георгиева", "BG", "Медицински университет – София", False),
    ("Ayşe Yılmaz", "TR", "Hacettepe Üniversitesi", True),
    ("Սարգիս Հովհաննիսյան", "AM", "Yerevan State Medical University", False),
    ("ნინო ბერიძე", "GE", "Tbilisi State University", True),
    ("دانیال رضایی", "IR", "Royan Institute", True),
    ("נועה לוי", "IL", "Weizmann Institute of Science", True),
    ("أحمد حسن", "EG", "جامعة القاهرة", False),
    ("Chinedu Okonkwo", "NG", "University of Lagos", True),
    ("Wanjiru Kamau", "KE", "University of Nairobi", True),
    ("Thandiwe Nkosi", "ZA", "University of Cape Town", True),
    ("Kwame Mensah", "GH", "University of Ghana", False),
    ("Abebe Bekele", "ET", "Addis Ababa University", True),
    ("Amina Diallo", "SN", "Université Cheikh Anta Diop", False),
    ("Juma Mwinyi", "TZ", "Muhimbili University", True),
    ("Nalongo Namubiru", "UG", "Makerere University", False),
    ("Youssef Ben Ali", "TN", "Institut Pasteur de Tunis", True),
    ("김민준", "KR", "서울대학교", True),
    ("林怡君", "TW", "國立臺灣大學", True),
    ("陳家豪", "HK", "香港大學", False),
    ("สมชาย ใจดี", "TH", "มหาวิทยาลัยมหิดล", True),
    ("Nurul Huda binti Ahmad", "MY", "Universiti Malaya", False),
    ("Putri Wulandari", "ID", "Universitas Indonesia", True),
    ("Maria Clara Santos", "PH", "University of the Philippines Manila", False),
    ("Tan Wei Ming", "SG", "Agency for Science, Technology and Research", True),
    ("রাহুল দাস", "BD", "Dhaka Medical College", False),
    ("عائشہ خان", "PK", "Aga Khan University", True),
    ("சுந்தர் ராஜன்", "LK", "University of Colombo", False),
    ("राम बहादुर थापा", "NP", "Tribhuvan University", True),
    ("Батбаяр Дорж", "MN", "Mongolian National University of Medical Sciences", False),
    ("Айгерим Нурланқызы", "KZ", "Nazarbayev University", True),
    ("Aroha Ngata", "NZ", "University of Auckland", True),
    ("Charlotte Nguyen", "AU", "Walter and Eliza Hall Institute", True),
    ("Liam Murphy", "IE", "Trinity College Dublin", False),
    ("Eleanor Whitfield", "GB", "University of Cambridge", True),
    ("Sander de Vries", "NL", "Hubrecht Institute", True),
    ("Lotte Janssens", "BE", "KU Leuven", False),
    ("Mette Sørensen", "DK", "Københavns Universitet", True),
    ("Aino Virtanen", "FI", "Helsingin yliopisto", False),
    ("Guðrún Jónsdóttir", "IS", "Háskóli Íslands", True),
    ("Lukas Gruber", "AT", "Medizinische Universität Wien", False),
    ("Noémie Favre", "CH", "Université de Genève", True),
    ("Emily Chen", "US", "Stanford University", True),
    ("Marie-Ève Tremblay", "CA", "Université de Montréal", True),
    ("Diego Alonso Vargas", "CR", "Universidad de Costa Rica", False),
    ("Carlos Eduardo Benítez", "UY", "Institut Pasteur de Montevideo", True),
    ("Layla Haddad", "LB", "American University of Beirut", False),
    ("Omar Al-Khatib", "JO", "University of Jordan", True),
    ("Mariam Al Mansoori", "AE", "Khalifa University", False),
]


def _demo_email(index: int) -> str:
    return f"member{index:03d}@demo.society.example"


def _orcid_for(index: int) -> str:
    """A checksum-valid ORCID iD outside the ranges ORCID issues (0000-0001-5… to 0000-0003-5…, 0009-…)."""
    from members.validators import orcid_checksum_ok

    base = f"000000090000{index:03d}"
    for check in "0123456789X":
        candidate = "-".join((base + check)[i : i + 4] for i in range(0, 16, 4))
        if orcid_checksum_ok(candidate):
            return candidate
    raise AssertionError("unreachable: one check character always fits")


def _seed_staff(command):
    staff = User.objects.with_email(DEMO_STAFF_EMAIL).first()
    if staff is None:
        staff = User.objects.create_superuser(
            email=DEMO_STAFF_EMAIL,
            password=DEMO_STAFF_PASSWORD,
            full_name="Demo Staff",
            country="US",
        )
    EmailAddress.objects.update_or_create(user=staff, email=staff.email, defaults={"verified": True, "primary": True})

    # Staff need two-factor authentication for the admin; the demo staff gets a TOTP device whose secret
    # is printed so a developer can add it to an authenticator app (never do this with a real account).
    authenticator = Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        secret = generate_totp_secret()
        TOTP.activate(staff, secret)
    else:
        secret = get_mfa_adapter().decrypt(authenticator.data["secret"])
    command.stdout.write(f"Demo staff login: {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}")
    command.stdout.write(f"Demo staff TOTP secret (add to an authenticator app): {secret}")


def _seed_members(command):
    membership_type, _created = MembershipType.objects.get_or_create(
        slug="full", defaults={"name": "Full", "term_months": 12}
    )
    today = society_today()
    for index, (full_name, country, institution, listed) in enumerate(DEMO_MEMBERS, start=1):
        email = _demo_email(index)
        user = User.objects.with_email(email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=None,
                full_name=full_name,
                country=country,
                institution=institution,
                directory_visible=listed,
                orcid=_orcid_for(index) if index % 3 else "",
            )
            User.objects.filter(pk=user.pk).update(password=demo_password_hash())
        EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        membership, _created = Membership.objects.get_or_create(user=user)
        if not membership.terms.exists():
            # Staggered end dates, all still current, so the directory has people to show.
            end = today + datetime.timedelta(days=30 + (index * 7) % 330)
            Term.objects.create(
                membership=membership,
                membership_type=membership_type,
                start=end - datetime.timedelta(days=364),
                end=end,
            )
    countries = len({country for _name, country, _institution, _listed in DEMO_MEMBERS})
    command.stdout.write(
        f"Demo members: {len(DEMO_MEMBERS)} in {countries} countries "
        f"(password {DEMO_MEMBER_PASSWORD}, e.g. {_demo_email(1)})"
    )


def seed(command):
    _seed_staff(command)
    _seed_members(command)

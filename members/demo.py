from allauth.account.models import EmailAddress

from members.models import User

DEMO_STAFF_EMAIL = "staff@society.example"
DEMO_STAFF_PASSWORD = "demo-staff-password"


def seed(command):
    staff = User.objects.with_email(DEMO_STAFF_EMAIL).first()
    if staff is None:
        staff = User.objects.create_superuser(
            email=DEMO_STAFF_EMAIL,
            password=DEMO_STAFF_PASSWORD,
            full_name="Demo Staff",
            country="US",
        )

    EmailAddress.objects.update_or_create(user=staff, email=staff.email, defaults={"verified": True, "primary": True})
    command.stdout.write(f"Demo staff login: {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}")

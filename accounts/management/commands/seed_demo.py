from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from departments.models import Department
from workbench.models import RejectionReason

#: Reasons a clerk may pick when refusing a part; administrators add their own in the admin.
REJECTION_REASONS = [
    "不符合申请条件",
    "申请材料不齐全且逾期未补正",
    "申请材料与实际情况不符",
    "不属于本部门职责范围",
    "申请人撤回或放弃申请",
]
DEMO_PASSWORD = "Demo-2026"  # noqa: S105  (printed, and listed in the README: demo only)


class Command(BaseCommand):
    help = "Load the catalogue and create the demo accounts (refuses to run when DEBUG is off)."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates accounts with known passwords; it runs only with DEBUG on."
            )
        call_command("load_catalogue", stdout=self.stdout)
        accounts = [
            self._user("admin", "系统管理员", is_staff=True, is_superuser=True),
            self._user("citizen", "王小梅", id_number="11010119900307002X", mobile="13800138000"),
        ]
        for department in Department.objects.order_by("code"):
            user = self._user(f"staff_{department.code}", f"{department.name}窗口", is_staff=False)
            user.departments.add(department)
            accounts.append(user)
        for position, text in enumerate(REJECTION_REASONS):
            RejectionReason.objects.get_or_create(
                department=None, text=text, defaults={"position": position}
            )
        self.stdout.write(f"\ndemo accounts (password for all: {DEMO_PASSWORD})")
        for user in accounts:
            self.stdout.write(f"  {user.username:<28} {user.real_name}")

    def _user(self, username, real_name, **extra) -> User:
        user, _created = User.objects.get_or_create(username=username)
        user.real_name = real_name
        for key, value in extra.items():
            setattr(user, key, value)
        user.set_password(DEMO_PASSWORD)
        user.save()
        return user

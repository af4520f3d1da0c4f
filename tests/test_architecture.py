"""The shape of the code, which later work builds on: one straight migration line per app, apps that import
downwards only, the email outbox as shared infrastructure, no import hidden in a function to dodge a loop,
no module past ~400 lines."""

import ast
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parents[1]
APPS = ["members", "guidelines", "society"]
MAX_MODULE_LINES = 400


def app_modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def imports_of(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def imports_app(path: Path, app: str) -> bool:
    return any(module == app or module.startswith(f"{app}.") for module in imports_of(path))


@pytest.mark.parametrize("app", APPS)
def test_each_app_has_one_straight_migration_line_without_merges(app):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    own = {key: migration for key, migration in loader.disk_migrations.items() if key[0] == app}
    leaves = loader.graph.leaf_nodes(app)
    assert len(leaves) == 1, leaves
    for key, migration in own.items():
        parents = [dependency for dependency in migration.dependencies if dependency[0] == app]
        assert len(parents) <= 1, f"{key} merges {parents}"
        assert not migration.replaces, f"{key} still replaces old migrations"
    # Walking back from the leaf through the app's own parents visits every migration of the app once.
    chain, node = [], leaves[0]
    while node:
        chain.append(node)
        parents = [dependency for dependency in own[node].dependencies if dependency[0] == app]
        node = parents[0] if parents else None
    assert sorted(chain) == sorted(own)


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # --check exits with status 1 when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


def test_guidelines_never_import_members():
    offenders = [str(path.relative_to(ROOT)) for path in app_modules("guidelines") if imports_app(path, "members")]
    assert offenders == []


MAIL_MODULES = [
    "society/models/mail.py",
    "society/services/mail.py",
    "society/services/mail_delivery.py",
    "society/tasks.py",
    "society/admin/mail.py",
]


@pytest.mark.parametrize("module", MAIL_MODULES)
def test_the_outbox_depends_on_no_app_that_uses_it(module):
    path = ROOT / module
    assert not imports_app(path, "members")
    assert not imports_app(path, "guidelines")


@pytest.mark.parametrize("app", ["members", "guidelines"])
def test_apps_send_email_only_through_the_society_outbox(app):
    offenders = [
        str(path.relative_to(ROOT))
        for path in app_modules(app)
        if any(module.startswith("django.core.mail") or module == "smtplib" for module in imports_of(path))
    ]
    assert offenders == []


def test_the_outbox_service_publishes_its_task_without_importing_it():
    # The task imports the service; the service names the task. Either way round there is no loop to dodge.
    assert "society.tasks" not in imports_of(ROOT / "society/services/mail.py")
    assert "society.tasks" not in imports_of(ROOT / "society/services/mail_delivery.py")


@pytest.mark.parametrize("app", APPS)
def test_no_import_is_placed_inside_a_function(app):
    """apps.py is the exception: Django's app registry is not ready while it is imported."""
    offenders = []
    for path in app_modules(app):
        if path.name == "apps.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                offenders += [
                    f"{path.relative_to(ROOT)}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom)
                ]
    assert offenders == []


@pytest.mark.parametrize("app", APPS)
def test_no_module_is_longer_than_about_400_lines(app):
    long = {
        str(path.relative_to(ROOT)): lines
        for path in app_modules(app)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, "split by layer (models/, services/, admin/, views/, forms/), the same way everywhere"


@pytest.mark.parametrize("app", ["members", "society"])
def test_each_layer_is_laid_out_by_what_it_does(app):
    """A reader who finds services/payments.py finds the admin, views and forms of payments under the same
    name: every module of admin/, views/ and forms/ is named after a module of models/, services/ or, for
    pages that only read (the Retention figures), selectors/."""
    base = ROOT / app
    topics = {path.stem for layer in ("models", "services", "selectors") for path in (base / layer).glob("*.py")}
    for layer in ("admin", "views", "forms"):
        if not (base / layer).is_dir():
            continue
        names = {path.stem for path in (base / layer).glob("*.py")} - {"__init__", "base"}
        assert names <= topics, f"{app}/{layer}/ has {sorted(names - topics)}, which no model or service module names"

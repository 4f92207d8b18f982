"""Staff management commands: create_company, generate_api_key, seed_demo (real database)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models.signals import post_save

from integrations.models import ApiKey, AuditEvent, Integration
from qaportal.accounts.models import Company, User
from tests.keys import authenticate_api_key

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "plum-orbit-canvas-47"


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def create_company(*extra: str, slug: str = "northwind", email: str = "it@northwind.example"):
    return run(
        "create_company",
        slug,
        "--name",
        "Northwind Traders",
        "--admin-email",
        email,
        "--admin-password",
        STRONG_PASSWORD,
        *extra,
    )


# --- create_company ---


def test_create_company_creates_the_company_its_admin_and_its_integrations():
    stdout, _ = create_company(email="IT@Northwind.example")

    company = Company.objects.get(slug="northwind")
    assert company.name == "Northwind Traders"
    admin = User.objects.get(company=company)
    assert admin.email == "it@northwind.example"  # sign-in emails are stored lower-cased
    assert admin.role == User.Role.ADMIN
    assert admin.is_company_admin
    assert admin.check_password(STRONG_PASSWORD)
    assert list(Integration.objects.filter(company=company).values_list("provider", flat=True)) == [
        Integration.Provider.ENTRA_ID
    ]
    assert "Created company Northwind Traders (northwind)" in stdout
    assert STRONG_PASSWORD not in stdout


def test_create_company_reads_the_password_from_stdin_when_asked(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{STRONG_PASSWORD}\n"))
    run(
        "create_company",
        "northwind",
        "--name",
        "Northwind Traders",
        "--admin-email",
        "it@northwind.example",
        "--admin-password",
        "-",
    )
    assert User.objects.get(email="it@northwind.example").check_password(STRONG_PASSWORD)


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("North Wind", "Invalid slug 'North Wind'"),
        ("Northwind", "use lower-case letters"),
        ("north/wind", "Invalid slug"),
        ("x" * 65, "Invalid slug"),
    ],
)
def test_create_company_refuses_an_invalid_slug(slug, message):
    with pytest.raises(CommandError, match=message):
        create_company(slug=slug)
    assert not Company.objects.exists()
    assert not User.objects.exists()


def test_create_company_refuses_an_existing_slug(company):
    with pytest.raises(CommandError, match="A company with the slug 'contoso' already exists"):
        create_company(slug="contoso")
    assert not User.objects.filter(email="it@northwind.example").exists()


def test_create_company_refuses_an_email_already_used_in_any_case(admin_user):
    with pytest.raises(CommandError, match="already used by another account"):
        create_company(email="Admin@Contoso.com")
    assert not Company.objects.filter(slug="northwind").exists()


def test_create_company_refuses_a_malformed_email():
    with pytest.raises(CommandError, match="not an email address"):
        create_company(email="not-an-email")
    assert not Company.objects.exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "too short"),
        ("password123", "too common"),
        ("8437261905", "entirely numeric"),
        ("it@northwind.example", "too similar"),
    ],
)
def test_create_company_refuses_a_password_the_validators_refuse(password, message):
    with pytest.raises(CommandError, match=message):
        run(
            "create_company",
            "northwind",
            "--name",
            "Northwind Traders",
            "--admin-email",
            "it@northwind.example",
            "--admin-password",
            password,
        )
    assert not Company.objects.exists()


def test_create_company_requires_its_options():
    with pytest.raises(CommandError, match="--admin-email"):
        run("create_company", "northwind", "--name", "Northwind", "--admin-password", "x")


def test_create_company_is_all_or_nothing_when_the_email_is_taken_meanwhile():
    # Another staff member's command commits the same admin email after this one's checks
    # passed: here, as the company row is written, so company_admin_create meets a real row.
    def take_the_email(sender, instance, created, **kwargs):
        User.objects.create_user(email="it@northwind.example", password=None)

    post_save.connect(take_the_email, sender=Company, weak=False)
    try:
        with pytest.raises(CommandError, match="was taken meanwhile"):
            create_company()
    finally:
        post_save.disconnect(take_the_email, sender=Company)
    assert not Company.objects.exists()
    assert not Integration.objects.exists()


# --- generate_api_key ---


def test_generate_api_key_prints_a_key_that_authenticates_alone_on_the_last_line(company):
    stdout, stderr = run("generate_api_key", "contoso")

    lines = stdout.splitlines()
    assert lines  # the key is there
    plaintext = lines[-1]
    assert plaintext == stdout.strip()  # nothing else on stdout: KEY=$(...) holds the key
    api_key = authenticate_api_key(plaintext)
    assert api_key is not None
    assert api_key.integration.company == company
    assert api_key.created_by is None
    assert api_key.masked in stderr
    assert plaintext not in stderr


def test_generate_api_key_says_in_the_audit_trail_where_the_key_came_from(company, admin_client):
    run("generate_api_key", "contoso")
    event = AuditEvent.objects.get(company=company, action=AuditEvent.Action.KEY_GENERATED)
    assert (event.actor, event.detail["source"]) == (None, "manage.py generate_api_key")
    trail = admin_client.get("/settings/integrations/entra-id/audit/").content.decode()
    assert '<code class="mono">manage.py generate_api_key</code>' in trail


def test_generate_api_key_applies_the_same_rotation_as_the_portal(company, generated_key):
    first_run, _ = run("generate_api_key", "contoso")
    second_run, stderr = run("generate_api_key", "contoso")

    portal_key = ApiKey.objects.get(pk=generated_key.api_key.pk)
    first_key = authenticate_api_key(first_run.splitlines()[-1])
    second_key = authenticate_api_key(second_run.splitlines()[-1])
    assert portal_key.status == ApiKey.Status.EXPIRING
    first_key.refresh_from_db()
    assert first_key.status == ApiKey.Status.EXPIRING
    assert second_key.status == ApiKey.Status.ACTIVE
    # The portal key's deadline was set by the first run and not extended by the second.
    assert portal_key.expires_at < first_key.expires_at
    assert f"Older key {portal_key.masked} keeps working until" in stderr
    events = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_GENERATED).order_by("id")
    assert [event.actor for event in events] == [generated_key.api_key.created_by, None, None]
    assert events.last().detail["superseded"] == [first_key.prefix]


def test_generate_api_key_refuses_an_unknown_company(company):
    with pytest.raises(CommandError, match="No company with the slug 'nope'"):
        run("generate_api_key", "nope")
    assert not ApiKey.objects.exists()


def test_generate_api_key_sets_up_a_missing_integration():
    Company.objects.create(slug="bare", name="Bare")
    stdout, _ = run("generate_api_key", "bare")
    assert authenticate_api_key(stdout.splitlines()[-1]).integration.company.slug == "bare"


# --- seed_demo ---


def test_seed_demo_creates_the_demo_company_and_prints_how_to_sign_in(settings):
    settings.DEBUG = True
    stdout, _ = run("seed_demo")

    company = Company.objects.get(slug="demo")
    assert company.name == "Demo"
    admin = User.objects.get(email="admin@demo.qa")
    assert (admin.company, admin.role) == (company, User.Role.ADMIN)
    assert admin.check_password("demo-admin-password")
    assert Integration.objects.filter(company=company).count() == len(Integration.Provider)
    assert "http://127.0.0.1:8000/login/" in stdout
    assert "admin@demo.qa" in stdout
    assert "demo-admin-password" in stdout


def test_seed_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    run("seed_demo")
    admin = User.objects.get(email="admin@demo.qa")
    admin.set_password("changed-by-the-admin-42")
    admin.save(update_fields=["password"])

    stdout, _ = run("seed_demo")

    assert Company.objects.filter(slug="demo").count() == 1
    assert User.objects.filter(company__slug="demo").count() == 1
    assert Integration.objects.filter(company__slug="demo").count() == len(Integration.Provider)
    admin.refresh_from_db()
    assert admin.check_password("changed-by-the-admin-42")  # an existing admin is left alone
    assert "Already seeded" in stdout


def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        run("seed_demo")
    assert not Company.objects.exists()

"""The Grants Service: `DJANGO_SETTINGS_MODULE=hms.settings.grants`."""

from hms.settings.base import *

HMS_SERVICE = "grants"
INSTALLED_APPS = [*PLATFORM_APPS, *PEOPLE_APPS, "hms.staff", "apps.grants"]
# Staff sign in through the User Service (or the agency's provider): single sign-on, no password
# ever reaches this service (hms/staff/sign_on.py).
vars().update(admin_single_sign_on("grants"))
DATABASES = {"default": service_database("grants")}
HMS_SERVICE_DATABASES = {"grants": "default"}
HMS_BUS_HANDLERS = {"grants": "apps.grants.handlers.HANDLERS"}
ROOT_URLCONF = "hms.urls.grants"
CELERY_TASK_DEFAULT_QUEUE = "grants"
HMS_START_PAGE = "apps.grants.start_page.start_page"
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "HMS Grants Service"}

# ------------------------------------------------------------------------------------------------
# Admin permissions by platform role (applied by `hms.staff` when a staff member signs in; the
# administrator role becomes a superuser). Caseworkers work the application queue: they change
# applications only through the admin actions, which call the services.
# ------------------------------------------------------------------------------------------------
HMS_ADMIN_ROLE_PERMISSIONS = {
    "caseworker": [
        "grants.view_application",
        "grants.change_application",
        "grants.view_budgetline",
        "grants.view_applicationtransition",
        "grants.view_reviewscore",
        "grants.view_reviewcomment",
        "grants.add_reviewcomment",
        "grants.view_program",
        "grants.view_rubric",
        "grants.view_rubriccriterion",
        "grants.view_applicant",
        # Caseworkers are the program staff who build and publish application forms.
        "grants.view_applicationform",
        "grants.add_applicationform",
        "grants.change_applicationform",
        "grants.view_question",
        "grants.add_question",
        "grants.change_question",
        "grants.delete_question",
    ],
    "finance_officer": [
        "grants.view_application",
        "grants.view_budgetline",
        "grants.view_applicationtransition",
        "grants.view_program",
        "grants.view_applicant",
    ],
}

# A token's subject must be an account (hms.people.accounts): the read model, else the User Service.
HMS_ACCOUNT_CHECK = "hms.people.accounts.account_exists"

"""The Finance Service: `DJANGO_SETTINGS_MODULE=hms.settings.finance`."""

from hms.settings.base import *

HMS_SERVICE = "finance"
INSTALLED_APPS = [
    *PLATFORM_APPS,
    *PEOPLE_APPS,
    "hms.staff",
    # Scheduled work (report reminders) from a schedule kept in the database: `finance_beat`.
    "django_celery_beat",
    "apps.finance",
]
# django-celery-beat's database scheduler, with a heartbeat for the liveness probe; the loop
# comes round at least every 10 s (one query for schedule changes each time).
CELERY_BEAT_SCHEDULER = "hms.deploy.beat:Scheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 10
# Staff sign in through the User Service (or the agency's provider): single sign-on, no password
# ever reaches this service (hms/staff/sign_on.py).
vars().update(admin_single_sign_on("finance"))
DATABASES = {"default": service_database("finance")}
HMS_SERVICE_DATABASES = {"finance": "default"}
HMS_BUS_HANDLERS = {"finance": "apps.finance.handlers.HANDLERS"}
ROOT_URLCONF = "hms.urls.finance"
CELERY_TASK_DEFAULT_QUEUE = "finance"
HMS_START_PAGE = "apps.finance.start_page.start_page"
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "TITLE": "HMS Finance Service",
    "ENUM_NAME_OVERRIDES": FINANCE_ENUM_NAME_OVERRIDES,
}

# ------------------------------------------------------------------------------------------------
# Admin sign-in with a User Service account (hms.staff): what each role may do in this admin.
# "app_label" grants every permission of the app; administrators become superusers.
# ------------------------------------------------------------------------------------------------
HMS_ADMIN_ROLE_PERMISSIONS = {
    # Finance officers run awards, payments and reimbursements; the services enforce the rules.
    "finance_officer": ["finance"],
    # Caseworkers review applications in the grants admin; here they may only look.
    "caseworker": [
        "finance.view_award",
        "finance.view_budgetcategory",
        "finance.view_disbursement",
        "finance.view_reimbursementrequest",
        "finance.view_ledgerentry",
    ],
}

# A token's subject must be an account (hms.people.accounts): the read model, else the User Service.
HMS_ACCOUNT_CHECK = "hms.people.accounts.account_exists"

"""Django REST Framework and drf-spectacular.

https://www.django-rest-framework.org/api-guide/settings/
"""

from hms.env import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["hms.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["hms.parsers.LimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "hms.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hms.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("LOGIN_THROTTLE_RATE", default="10/min"),
        "registration": env.str("REGISTRATION_THROTTLE_RATE", default="20/hour"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "HMS",
    "VERSION": "1.5.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request and response shapes are separate components ("ApplicationCreateRequest").
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the problem documents it can answer with (hms/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hms.schema.document_errors",
    ],
}
# Three Finance models have a "status": each enum named after its model in the schema. Import
# paths, so only a process that has the Finance app uses them (its settings, and the tests').
FINANCE_ENUM_NAME_OVERRIDES = {
    "AwardStatusEnum": "apps.finance.models.Award.Status",
    "DisbursementStatusEnum": "apps.finance.models.Disbursement.Status",
    "ReimbursementStatusEnum": "apps.finance.models.ReimbursementRequest.Status",
}

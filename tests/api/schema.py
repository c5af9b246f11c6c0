"""The platform's OpenAPI document as the gateway serves it, made offline from the services' own
code (each service's URLconf, merged by the gateway's own function): what clients get.

`python -m tests.api.schema > docs/api/openapi-v1.json` (`make api-schema`) records a release's
document; tests/api/test_compatibility.py checks every change against it.
"""

import json
import os
import sys

RELEASED = "docs/api/openapi-v1.json"


def platform_document() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    from gateway.schema import merge_schemas
    from tests.security.routes import SERVICE_URLCONFS

    return merge_schemas(
        {
            service: SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
            for service, urlconf in SERVICE_URLCONFS.items()
        }
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings.test")
    import django

    django.setup()
    json.dump(platform_document(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""Each service's models are read, written and migrated only in that service's database."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connections, router, transaction

from hms.bus.models import OutboxEvent
from hms.db import ServiceRouter, database_for

pytestmark = pytest.mark.django_db(databases="__all__")

SERVICE_DATABASES = {"users": "default", "grants": "grants", "finance": "finance"}


def service_models(service: str):
    return list(apps.get_app_config(service).get_models())


def test_each_service_is_mapped_to_its_own_database():
    assert {service: database_for(service) for service in SERVICE_DATABASES} == SERVICE_DATABASES


@pytest.mark.parametrize("service", SERVICE_DATABASES)
def test_a_services_models_are_routed_to_its_database(service):
    models = service_models(service)
    assert models, f"{service} declares no models"
    for model in models:
        assert router.db_for_read(model) == SERVICE_DATABASES[service]
        assert router.db_for_write(model) == SERVICE_DATABASES[service]


@pytest.mark.parametrize("service", SERVICE_DATABASES)
def test_a_services_models_may_migrate_only_into_its_database(service):
    for alias in connections:
        allowed = router.allow_migrate(alias, service)
        assert allowed is (alias == SERVICE_DATABASES[service]), (service, alias)


@pytest.mark.parametrize("service", SERVICE_DATABASES)
def test_a_services_tables_exist_only_in_its_database(service):
    for model in service_models(service):
        for alias in connections:
            tables = connections[alias].introspection.table_names()
            assert (model._meta.db_table in tables) is (alias == SERVICE_DATABASES[service]), (
                model._meta.label,
                alias,
            )


@pytest.mark.parametrize("service", SERVICE_DATABASES)
def test_a_write_forced_into_another_services_database_fails(service):
    model = service_models(service)[0]
    other = next(alias for s, alias in SERVICE_DATABASES.items() if s != service)

    with pytest.raises(DatabaseError), transaction.atomic(using=other):
        model.objects.using(other).filter(pk=1).delete()
    with pytest.raises(DatabaseError), transaction.atomic(using=other):
        model.objects.using(other).exists()


def test_platform_tables_exist_in_every_service_database():
    for alias in connections:
        assert OutboxEvent._meta.db_table in connections[alias].introspection.table_names()
    assert router.allow_migrate("grants", "bus") is True
    assert router.allow_migrate("grants", "auth") is True


def test_relations_across_services_are_refused():
    router_under_test = ServiceRouter()
    users_model, grants_model = service_models("users")[0], service_models("grants")[0]
    users_obj, grants_obj = users_model(), grants_model()
    users_obj._state.db, grants_obj._state.db = "default", "grants"

    assert router_under_test.allow_relation(users_obj, grants_obj) is False
    same = users_model()
    same._state.db = "default"
    assert router_under_test.allow_relation(users_obj, same) is True

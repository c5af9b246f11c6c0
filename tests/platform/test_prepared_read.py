"""hms.db.PreparedRead: a hot read compiled once per thread, run with each call's own values."""

from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.db import connections
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from apps.grants.models import Application, BudgetLine
from hms.db import PreparedRead, attach_prefetched, database_for
from tests.grants import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def grants_queries():
    return CaptureQueriesContext(connections[database_for("grants")])


def applications_of(applicant_id: int):
    return (
        Application.objects.filter(applicant_id=applicant_id)
        .select_related("program")
        .only("id", "title", "requested_amount", "submitted_at", "program__code")
        .order_by("-id")
    )


def shown(applications) -> list[tuple]:
    return [
        (a.pk, a.title, a.requested_amount, a.submitted_at, a.program.code) for a in applications
    ]


@pytest.fixture
def two_applicants():
    program = factories.program(code="SBA-SBIR-2027-01")
    for index in range(3):
        factories.submitted(
            program=program,
            actor=factories.applicant(500),
            title=f"Ada's project {index}",
            requested="1200.50",
            budget=["1000.25", "200.25"],
        )
    factories.draft(program=program, actor=factories.applicant(501), title="Grace's project")


def test_rows_are_what_the_orm_reads_for_each_value(two_applicants):
    read = PreparedRead(applications_of, applicant_id=int)

    for applicant_id in (500, 501, 502):
        rows = read(applicant_id=applicant_id)
        assert shown(rows) == shown(applications_of(applicant_id))
    ada = read(applicant_id=500)
    assert [a.title for a in ada] == [f"Ada's project {index}" for index in (2, 1, 0)]
    with grants_queries() as queries:
        assert {a.program.code for a in ada} == {"SBA-SBIR-2027-01"}  # select_related held
    assert len(queries) == 0


def test_the_sql_is_compiled_once_then_only_bound(two_applicants):
    read = PreparedRead(applications_of, applicant_id=int)
    read(applicant_id=500)

    compiling = mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled"))
    with compiling, grants_queries() as queries:
        grace = read(applicant_id=501)
    assert [a.title for a in grace] == ["Grace's project"]
    assert len(queries) == 1


def test_a_window_reads_that_slice_and_is_compiled_for_itself(two_applicants):
    read = PreparedRead(applications_of, applicant_id=int)
    paginator = Paginator(read.bind(applicant_id=500), per_page=2)

    assert shown(paginator.page(1)) == shown(applications_of(500)[0:2])
    assert shown(paginator.page(2)) == shown(applications_of(500)[2:4])
    assert paginator.count == 3
    assert shown(read(window=(1, 2), applicant_id=500)) == shown(applications_of(500)[1:2])


def test_the_compiled_shapes_a_process_keeps_are_bounded(two_applicants):
    read = PreparedRead(applications_of, applicant_id=int)

    for start in range(PreparedRead.MAX_SHAPES * 2 + 5):
        page = read(window=(start, start + 1), applicant_id=500)
        assert shown(page) == shown(applications_of(500)[start : start + 1])

    assert 0 < len(read._local.compiled) <= PreparedRead.MAX_SHAPES


def test_a_list_parameter_takes_any_length_and_nothing_reads_nothing(two_applicants):
    read = PreparedRead(lambda ids: BudgetLine.objects.filter(application_id__in=ids), ids=list)
    ids = list(Application.objects.filter(applicant_id=500).values_list("pk", flat=True))

    for chosen in (ids[:1], ids, [ids[0], ids[0], ids[1]]):
        expected = list(BudgetLine.objects.filter(application_id__in=chosen))
        assert read(ids=chosen) == expected
        assert len(expected) == 2 * len(set(chosen))
    with grants_queries() as queries:
        assert read(ids=[]) == []
    assert len(queries) == 0


def test_a_list_of_strings_takes_any_length_and_each_string_as_it_is(two_applicants):
    read = PreparedRead(
        lambda titles: Application.objects.filter(title__in=titles).order_by("pk"),
        titles=list[str],
    )

    for chosen in (
        ["Grace's project"],
        ["Ada's project 0", "Ada's project 2", "Ada's project 0"],
        ["Ada's project 1", "nobody's"],
    ):
        expected = list(Application.objects.filter(title__in=chosen).order_by("pk"))
        assert read(titles=chosen) == expected
        assert len(expected) == len(set(chosen) - {"nobody's"})
    with grants_queries() as queries:
        assert read(titles=[]) == []
    assert len(queries) == 0


def test_a_lookup_that_rewrites_its_value_is_refused():
    read = PreparedRead(lambda title: Application.objects.filter(title__icontains=title), title=str)

    with pytest.raises(ImproperlyConfigured, match="title"):
        read(title="project")
    with pytest.raises(TypeError):
        PreparedRead(applications_of, applicant_id=int)(user_id=500)


def test_attached_rows_answer_the_relation_without_a_query(two_applicants):
    application = Application.objects.filter(applicant_id=500).first()
    lines = list(BudgetLine.objects.filter(application=application))

    attach_prefetched(application, "budget_lines", lines)
    with grants_queries() as queries:
        assert list(application.budget_lines.all()) == lines
    assert len(queries) == 0

"""The Grants Service's HTTP API: thin views that parse, call a service or selector, serialize.

Application errors raised below become JSON 4xx responses in `hms.errors.api_exception_handler`.
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.grants import questions, selectors, services
from apps.grants.filters import ApplicantApplicationFilter, ProgramFilter, ReviewQueueFilter
from apps.grants.models import (
    SCORE_MAX,
    SCORE_MIN,
    ApplicantKind,
    ApplicationForm,
    ApplicationStatus,
    BudgetCategory,
    ReviewComment,
)
from apps.grants.workflow import TRANSITIONS, actions_from
from hms.auth import Identity, IsApplicant, IsCaseworker
from hms.concurrency import IF_MATCH_PARAMETER, acting_version, etag, if_match_refusals
from hms.documents import (
    DocumentSerializer,
    download_response,
    upload_request_schema,
    uploaded_file,
)
from hms.filtering import filter_parameters
from hms.idempotency.keys import PARAMETER as IDEMPOTENCY_KEY
from hms.idempotency.keys import idempotent
from hms.limits import MAX_ID, MONEY, POSITIVE_MONEY
from hms.pagination import (
    PAGE_PARAMETERS,
    CappedCountPagination,
    paginated_response,
    paginated_schema,
)
from hms.schema import problems
from hms.serialization import ReadSerializer, shared_serializer, validated

SERVICE = "grants"
# What a blind-review panel's reviewers see in place of the applicant.
BLIND_NAME = "Withheld for blind review"


def _identity(request) -> Identity | None:
    return request.user if isinstance(request.user, Identity) else None


VERSION_HELP = (
    "The version you last read: the action is refused with 409 if it changed since (or send "
    'If-Match: "v<version>" for a 412)."'
)


ANSWERS_HELP = (
    "Answers to the program's own questions, by question key, as its form's JSON Schema says "
    "(GET /grants/programs/{code}/form). A draft may answer some of them; what it answers must "
    "be valid. Submission needs every required answer."
)


# ------------------------------------------------------------------------------------------------
# Shared representations
# ------------------------------------------------------------------------------------------------


class BudgetLineSerializer(ReadSerializer):
    category = serializers.ChoiceField(choices=BudgetCategory.choices)
    description = serializers.CharField(max_length=255)
    amount = serializers.DecimalField(**POSITIVE_MONEY)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="applicant_not_verified, program_closed, limit_reached..."
    )
    message = serializers.CharField()


class EligibilitySerializer(serializers.Serializer):
    eligible = serializers.BooleanField(help_text="Whether a submission would be accepted now.")
    reasons = ReasonSerializer(many=True, help_text="Why not, each with its code.")


class ProgramSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    opens_on = serializers.DateField()
    closes_on = serializers.DateField()
    closes_at = serializers.DateTimeField(
        help_text="The last moment a submission is accepted (the agency's time zone)."
    )
    total_funds = serializers.DecimalField(**MONEY)
    min_award = serializers.DecimalField(**MONEY)
    max_award = serializers.DecimalField(**MONEY)
    eligible_kinds = serializers.ListField(child=serializers.ChoiceField(ApplicantKind.choices))
    verification_required = serializers.BooleanField()
    eligible_states = serializers.ListField(
        child=serializers.CharField(), help_text="Postal codes; empty: every state."
    )
    max_open_applications = serializers.IntegerField(
        allow_null=True, help_text="Per applicant; null: no limit."
    )
    eligibility = serializers.SerializerMethodField()

    @extend_schema_field(EligibilitySerializer(allow_null=True))
    def get_eligibility(self, program) -> dict | None:
        """For a signed-in applicant: may they submit to this program now, and if not, why."""
        checker = self.context.get("eligibility")
        if checker is None:
            return None
        refusals = checker.refusals(program)
        return {
            "eligible": not refusals,
            "reasons": [{"code": r.code, "message": r.message} for r in refusals],
        }


def _program_context(request) -> dict:
    actor = _identity(request)
    return {"eligibility": selectors.Eligibility(actor)} if actor and actor.is_applicant else {}


class HistorySerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor_id = serializers.IntegerField()
    actor_role = serializers.CharField()
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class ApplicationDocumentSerializer(DocumentSerializer):
    question = serializers.CharField(source="question_key", help_text="The file question, if any.")


class ApplicationSerializer(ReadSerializer):
    """An application as its applicant sees it."""

    id = serializers.IntegerField()
    tracking_number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=ApplicationStatus.choices)
    status_reason = serializers.CharField()
    program = serializers.CharField(source="program_code")
    program_title = serializers.CharField()
    title = serializers.CharField()
    project_summary = serializers.CharField()
    requested_amount = serializers.DecimalField(**MONEY)
    awarded_amount = serializers.DecimalField(**MONEY, allow_null=True)
    budget_lines = BudgetLineSerializer(many=True)
    form_version = serializers.IntegerField(
        allow_null=True,
        help_text="The version of the program's form it answers (GET .../form); null if none.",
    )
    answers = serializers.DictField(help_text="The answers to the form's questions, by key.")
    version = serializers.IntegerField()
    actions = serializers.SerializerMethodField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_actions(self, application) -> list[str]:
        """What the applicant can do next."""
        return [
            name
            for name in actions_from(application.status)
            if "applicant" in TRANSITIONS[name].roles
        ]


# ------------------------------------------------------------------------------------------------
# GET /grants?user=<id>: the status read the gateway composes
# ------------------------------------------------------------------------------------------------


class GrantStatusApi(APIView):
    service_scope = "people:read"  # a service token granted it may read anyone's status

    class InputSerializer(serializers.Serializer):
        user = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    class OutputSerializer(ReadSerializer):
        class Meta:
            ref_name = "GrantStatus"

        class ApplicationSummary(ReadSerializer):
            id = serializers.IntegerField()
            tracking_number = serializers.CharField(allow_null=True)
            status = serializers.CharField()
            program_code = serializers.CharField(source="program.code")
            title = serializers.CharField()
            requested_amount = serializers.DecimalField(**MONEY)
            awarded_amount = serializers.DecimalField(**MONEY, allow_null=True)
            updated_at = serializers.DateTimeField()

        user = serializers.IntegerField()
        applications = ApplicationSummary(many=True)

    @extend_schema(
        operation_id="grants_status",
        summary="A user's applications (most recent first, at most 100)",
        description="A read by anyone but the applicant (staff, a service) is audited.",
        parameters=[OpenApiParameter("user", int, OpenApiParameter.QUERY, required=True)],
        responses={200: OutputSerializer, **problems(404)},
    )
    def get(self, request):
        user_id = validated(self.InputSerializer, request.query_params)["user"]
        applications = services.applications_view_for_user(actor=request.user, user_id=user_id)
        status = {"user": user_id, "applications": applications}
        return Response(shared_serializer(self.OutputSerializer).to_representation(status))


# ------------------------------------------------------------------------------------------------
# Programs (public)
# ------------------------------------------------------------------------------------------------


class ProgramListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="grants_programs_list",
        summary="Programs open for applications (staff may filter by status)",
        parameters=[*filter_parameters(ProgramFilter), *PAGE_PARAMETERS],
        responses={200: paginated_schema(ProgramSerializer)},
    )
    def get(self, request):
        programs = selectors.program_list(actor=_identity(request), filters=request.query_params)
        return paginated_response(
            request, self, programs, ProgramSerializer, context=_program_context(request)
        )


class ProgramDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="grants_programs_retrieve", responses={200: ProgramSerializer})
    def get(self, request, code: str):
        program = selectors.program_get(code=code, actor=_identity(request))
        return Response(ProgramSerializer(program, context=_program_context(request)).data)


class FormSerializer(serializers.Serializer):
    program = serializers.CharField(source="program.code")
    version = serializers.IntegerField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    questions = serializers.ListField(
        child=serializers.DictField(),
        source="definition",
        help_text="The questions in order: key, label, type, required, help, choices, when "
        "(shown only when an earlier answer equals a value), questions (a group's).",
    )
    schema = serializers.SerializerMethodField(
        help_text="The answers' JSON Schema (draft 2020-12): what the server validates."
    )

    def get_schema(self, form) -> dict:
        return questions.json_schema(form.definition, title=f"{form.program.code} answers")


def form_response(program, form) -> Response:
    """A form version; a program without one asks only the standard fields (an empty form)."""
    if form is None:
        form = ApplicationForm(program=program, version=None, definition=[])
    return Response(FormSerializer(form).data)


class ProgramFormApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="grants_programs_form",
        summary="The program's current application form, with its JSON Schema",
        responses={200: FormSerializer},
    )
    def get(self, request, code: str):
        program = selectors.program_get(code=code, actor=_identity(request))
        return form_response(program, selectors.current_form(program=program))


# ------------------------------------------------------------------------------------------------
# Applicants: their own applications
# ------------------------------------------------------------------------------------------------


class ApplicationListCreateApi(APIView):
    permission_classes = [IsApplicant]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ApplicationCreate"

        program = serializers.CharField(max_length=40, help_text="The program code.")
        title = serializers.CharField(max_length=200)
        project_summary = serializers.CharField(max_length=20000)
        requested_amount = serializers.DecimalField(**POSITIVE_MONEY)
        budget_lines = BudgetLineSerializer(many=True, allow_empty=False, max_length=50)
        answers = serializers.DictField(required=False, help_text=ANSWERS_HELP)

    @extend_schema(
        operation_id="grants_applications_list",
        summary="My applications, newest first",
        parameters=[*filter_parameters(ApplicantApplicationFilter), *PAGE_PARAMETERS],
        responses={200: paginated_schema(ApplicationSerializer)},
    )
    def get(self, request):
        applications = selectors.applications_for_applicant(
            applicant_id=request.user.user_id, filters=request.query_params
        )
        return paginated_response(
            request,
            self,
            applications,
            ApplicationSerializer,
            complete=selectors.budget_lines_attach,
        )

    @extend_schema(
        operation_id="grants_applications_create",
        summary="Start a draft application",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: ApplicationSerializer, **problems(422)},
    )
    @idempotent(SERVICE)
    def post(self, request):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        application = services.application_create(
            actor=request.user,
            program_code=data["program"],
            title=data["title"],
            project_summary=data["project_summary"],
            requested_amount=data["requested_amount"],
            budget_lines=[services.BudgetLineInput(**line) for line in data["budget_lines"]],
            answers=data.get("answers"),
        )
        application = selectors.application_for_applicant(
            applicant_id=request.user.user_id, application_id=application.pk
        )
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


def application_response(request, application_id: int) -> Response:
    """The caller's application, with its version as ETag."""
    application = selectors.application_for_applicant(
        applicant_id=request.user.user_id, application_id=application_id
    )
    response = Response(ApplicationSerializer(application).data)
    response["ETag"] = etag(application.version)
    return response


class ApplicationDetailApi(APIView):
    permission_classes = [IsApplicant]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ApplicationUpdate"

        version = serializers.IntegerField(required=False, help_text=VERSION_HELP)
        title = serializers.CharField(max_length=200, required=False)
        project_summary = serializers.CharField(max_length=20000, required=False)
        requested_amount = serializers.DecimalField(**POSITIVE_MONEY, required=False)
        budget_lines = BudgetLineSerializer(
            many=True,
            allow_empty=False,
            max_length=50,
            required=False,
            help_text="Replaces every line.",
        )
        answers = serializers.DictField(
            required=False,
            help_text=ANSWERS_HELP + " Merged into the saved answers: a null removes an answer.",
        )

    @extend_schema(
        operation_id="grants_applications_retrieve",
        responses={
            200: OpenApiResponse(
                ApplicationSerializer,
                description="The application; its ETag is its version, for If-Match.",
            )
        },
    )
    def get(self, request, application_id: int):
        return application_response(request, application_id)

    @extend_schema(
        operation_id="grants_applications_update",
        summary="Edit a draft or an application returned for changes",
        parameters=[IF_MATCH_PARAMETER],
        request=InputSerializer,
        responses={200: ApplicationSerializer, **problems(412)},
    )
    def patch(self, request, application_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        lines = data.get("budget_lines")
        with if_match_refusals(request):
            services.application_update(
                actor=request.user,
                application_id=application_id,
                expected_version=acting_version(request, data.get("version")),
                title=data.get("title"),
                project_summary=data.get("project_summary"),
                requested_amount=data.get("requested_amount"),
                budget_lines=None
                if lines is None
                else [services.BudgetLineInput(**line) for line in lines],
                answers=data.get("answers"),
            )
        return application_response(request, application_id)


class StatusChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The change's cursor: pass it as `after`.")
    application = serializers.IntegerField(source="application_id")
    tracking_number = serializers.CharField(source="application.tracking_number", allow_null=True)
    program = serializers.CharField(source="application.program.code")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField(help_text="Why (a caseworker's message, a decision's note).")
    at = serializers.DateTimeField()


class ApplicationChangesApi(APIView):
    """What the gateway's status stream (SSE) reads; usable by any client that polls."""

    permission_classes = [IsApplicant]

    class InputSerializer(serializers.Serializer):
        after = serializers.IntegerField(min_value=0, max_value=MAX_ID, default=0)
        application = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    @extend_schema(
        operation_id="grants_applications_changes",
        summary="My applications' status changes after a cursor, oldest first (100 at most)",
        parameters=[InputSerializer],
        responses={200: StatusChangeSerializer(many=True), **problems(404)},
    )
    def get(self, request):
        query = validated(self.InputSerializer, request.query_params)
        changes = selectors.status_changes_for_applicant(
            applicant_id=request.user.user_id,
            after=query["after"],
            application_id=query.get("application"),
        )
        return Response(StatusChangeSerializer(changes, many=True).data)


class ApplicationFormApi(APIView):
    permission_classes = [IsApplicant]

    @extend_schema(
        operation_id="grants_applications_form",
        summary="The form version this application answers (it never changes under it)",
        responses={200: FormSerializer},
    )
    def get(self, request, application_id: int):
        application = selectors.application_for_applicant(
            applicant_id=request.user.user_id, application_id=application_id
        )
        return form_response(application.program, application.form)


class ApplicationDocumentsApi(APIView):
    permission_classes = [IsApplicant]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="grants_applications_documents_list",
        summary="The files attached to my application",
        responses={200: ApplicationDocumentSerializer(many=True)},
    )
    def get(self, request, application_id: int):
        application = selectors.application_for_applicant(
            applicant_id=request.user.user_id, application_id=application_id
        )
        documents = selectors.application_documents(application=application)
        return Response(ApplicationDocumentSerializer(documents, many=True).data)

    @extend_schema(
        operation_id="grants_applications_documents_create",
        summary="Attach a file (PDF, PNG, JPEG, .docx, .xlsx) to a draft",
        description=(
            "multipart/form-data with the file in `file` and, for a file question, its key in "
            "`question` (then name the returned id as that question's answer). The type is "
            "decided by the content; at most HMS_UPLOAD_MAX_BYTES per file."
        ),
        request=upload_request_schema(
            question={"type": "string", "maxLength": 60, "description": "A file question's key."}
        ),
        responses={201: ApplicationDocumentSerializer, **problems(409, 413)},
    )
    def post(self, request, application_id: int):
        selectors.application_for_applicant(  # another applicant's: 404 before reading the body
            applicant_id=request.user.user_id, application_id=application_id
        )
        upload = uploaded_file(request)
        question = request.data.get("question", "")
        document = services.document_attach(
            actor=request.user,
            application_id=application_id,
            upload=upload,
            question_key=question if isinstance(question, str) else "",
        )
        return Response(
            ApplicationDocumentSerializer(document).data, status=status.HTTP_201_CREATED
        )


class ApplicationDocumentApi(APIView):
    permission_classes = [IsApplicant]

    @extend_schema(
        operation_id="grants_applications_documents_download",
        summary="Download a file of my application",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                bytes, description="The file, as an attachment; Repr-Digest has its SHA-256."
            )
        },
    )
    def get(self, request, application_id: int, document_id):
        document = selectors.document_for_applicant(
            applicant_id=request.user.user_id,
            application_id=application_id,
            document_id=document_id,
        )
        return download_response(document)

    @extend_schema(
        operation_id="grants_applications_documents_delete",
        summary="Remove a file from a draft (and any answer naming it)",
        responses={204: None, **problems(409)},
    )
    def delete(self, request, application_id: int, document_id):
        services.document_remove(
            actor=request.user, application_id=application_id, document_id=document_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ApplicantActionApi(APIView):
    permission_classes = [IsApplicant]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ApplicationAction"

        version = serializers.IntegerField(required=False, help_text=VERSION_HELP)

    def act(self, request, application_id: int, data: dict) -> None:
        raise NotImplementedError

    def post(self, request, application_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = {**body.validated_data}
        data["version"] = acting_version(request, data.get("version"))
        with if_match_refusals(request):
            self.act(request, application_id, data)
        return application_response(request, application_id)


class ApplicationSubmitApi(_ApplicantActionApi):
    @extend_schema(
        operation_id="grants_applications_submit",
        summary="Submit (or resubmit) an application",
        parameters=[IF_MATCH_PARAMETER, IDEMPOTENCY_KEY],
        request=_ApplicantActionApi.InputSerializer,
        responses={200: ApplicationSerializer, **problems(412, 422)},
    )
    @idempotent(SERVICE)
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.application_submit(
            actor=request.user, application_id=application_id, expected_version=data.get("version")
        )


class ApplicationWithdrawApi(_ApplicantActionApi):
    class InputSerializer(_ApplicantActionApi.InputSerializer):
        class Meta:
            ref_name = "ApplicationWithdraw"

        reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    @extend_schema(
        operation_id="grants_applications_withdraw",
        summary="Withdraw an application before a decision",
        parameters=[IF_MATCH_PARAMETER],
        request=InputSerializer,
        responses={200: ApplicationSerializer, **problems(412)},
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.application_withdraw(
            actor=request.user,
            application_id=application_id,
            reason=data.get("reason", ""),
            expected_version=data.get("version"),
        )


class ApplicationHistoryApi(APIView):
    permission_classes = [IsApplicant]

    @extend_schema(
        operation_id="grants_applications_history",
        summary="Every state change of my application, oldest first",
        parameters=PAGE_PARAMETERS,
        responses={200: paginated_schema(HistorySerializer)},
    )
    def get(self, request, application_id: int):
        application = selectors.application_for_applicant(
            applicant_id=request.user.user_id, application_id=application_id
        )
        history = selectors.application_history(application=application)
        return paginated_response(request, self, history, HistorySerializer)


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class ApplicationMessagesApi(APIView):
    permission_classes = [IsApplicant]

    @extend_schema(
        operation_id="grants_applications_messages",
        summary="The messages caseworkers sent me about my application, oldest first",
        parameters=PAGE_PARAMETERS,
        responses={200: paginated_schema(MessageSerializer)},
    )
    def get(self, request, application_id: int):
        application = selectors.application_for_applicant(
            applicant_id=request.user.user_id, application_id=application_id
        )
        messages = selectors.messages_for_applicant(application=application)
        return paginated_response(request, self, messages, MessageSerializer)


# ------------------------------------------------------------------------------------------------
# Caseworkers: the review queue and decisions
# ------------------------------------------------------------------------------------------------


class ApplicantSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="applicant_id")
    name = serializers.CharField(source="applicant_name")
    kind = serializers.SerializerMethodField()
    verification_status = serializers.SerializerMethodField()

    def get_kind(self, application) -> str | None:
        applicant = application._applicant_or_none()
        return applicant.kind if applicant else None

    def get_verification_status(self, application) -> str | None:
        applicant = application._applicant_or_none()
        return applicant.verification_status if applicant else None


class QueueItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tracking_number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=ApplicationStatus.choices)
    program = serializers.CharField(source="program.code")
    title = serializers.CharField()
    applicant = ApplicantSummarySerializer(source="*")
    assignee_id = serializers.IntegerField(allow_null=True)
    requested_amount = serializers.DecimalField(**MONEY)
    awarded_amount = serializers.DecimalField(**MONEY, allow_null=True)
    version = serializers.IntegerField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()


class ReviewDetailSerializer(QueueItemSerializer):
    class CriterionSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        guidance = serializers.CharField()
        weight = serializers.IntegerField()

    class ScoreSerializer(serializers.Serializer):
        criterion_id = serializers.IntegerField()
        criterion = serializers.CharField(source="criterion.name")
        reviewer_id = serializers.IntegerField()
        score = serializers.IntegerField()
        note = serializers.CharField()
        scored_at = serializers.DateTimeField()

    class CommentSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        author_id = serializers.IntegerField()
        author_role = serializers.CharField()
        visibility = serializers.ChoiceField(choices=ReviewComment.Visibility.choices)
        body = serializers.CharField()
        created_at = serializers.DateTimeField()

    class PanelSerializer(serializers.Serializer):
        class ReviewSerializer(serializers.Serializer):
            reviewer_id = serializers.IntegerField()
            status = serializers.CharField()
            final = serializers.BooleanField()
            scores = serializers.DictField(
                child=serializers.IntegerField(),
                allow_null=True,
                help_text="Criterion id -> score; null while hidden from you.",
            )
            weighted = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)

        required = serializers.IntegerField(help_text="Reviews the program requires.")
        submitted = serializers.IntegerField()
        my_status = serializers.CharField(
            source="mine.status", allow_null=True, default=None, help_text="Mine, if I review."
        )
        identity_hidden = serializers.BooleanField(help_text="Blind review: no applicant identity.")
        hidden_reason = serializers.CharField()
        reviews = ReviewSerializer(many=True)
        means = serializers.DictField(
            child=serializers.DecimalField(max_digits=4, decimal_places=2)
        )
        spreads = serializers.DictField(child=serializers.IntegerField())

    project_summary = serializers.CharField()
    status_reason = serializers.CharField()
    budget_lines = BudgetLineSerializer(many=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    actions = serializers.SerializerMethodField()
    rubric = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    weighted_score = serializers.SerializerMethodField()
    review_panel = serializers.SerializerMethodField()
    comments = CommentSerializer(many=True)
    history = HistorySerializer(many=True, source="transitions")
    answers = serializers.SerializerMethodField(
        help_text="The form's questions shown to this applicant, in order, each with its answer."
    )
    documents = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_answers(self, application) -> list[dict]:
        return questions.answered_questions(
            selectors.application_definition(application=application), application.answers
        )

    @extend_schema_field(ApplicationDocumentSerializer(many=True))
    def get_documents(self, application) -> list[dict]:
        documents = selectors.application_documents(application=application)
        return ApplicationDocumentSerializer(documents, many=True).data

    # The panel (selectors.review_panel) for the viewer, given in the context: what they may see.
    def _panel(self) -> selectors.ReviewPanel:
        return self.context["panel"]

    @extend_schema_field(ScoreSerializer(many=True))
    def get_scores(self, application) -> list[dict]:
        visible = {r.reviewer_id for r in self._panel().reviews if r.scores is not None}
        shown = [score for score in application.scores.all() if score.reviewer_id in visible]
        return self.ScoreSerializer(shown, many=True).data

    @extend_schema_field(PanelSerializer)
    def get_review_panel(self, application) -> dict:
        return self.PanelSerializer(self._panel()).data

    def to_representation(self, application):
        data = super().to_representation(application)
        panel = self._panel()
        if panel.identity_hidden:
            data["applicant"] = {**data["applicant"], "name": BLIND_NAME}
        if panel.content_hidden:  # a reviewer who has not declared (or is recused)
            data.update(
                project_summary="",
                budget_lines=[],
                comments=[],
                scores=[],
                answers=[],
                documents=[],
            )
        return data

    def get_actions(self, application) -> list[str]:
        """What a caseworker can do next."""
        return [
            name
            for name in actions_from(application.status)
            if "caseworker" in TRANSITIONS[name].roles
        ]

    @extend_schema_field(CriterionSerializer(many=True))
    def get_rubric(self, application) -> list[dict]:
        criteria = selectors.rubric_criteria_for(program=application.program)
        return self.CriterionSerializer(criteria, many=True).data

    def get_weighted_score(self, application) -> str | None:
        if self._panel().hidden_reason:
            return None
        score = selectors.application_weighted_score(application=application)
        return None if score is None else str(score)


def _review_response(request, application_id: int) -> Response:
    application = selectors.application_for_review(application_id=application_id)
    panel = selectors.review_panel(application=application, viewer=request.user)
    return Response(ReviewDetailSerializer(application, context={"panel": panel}).data)


class ReviewDocumentApi(APIView):
    permission_classes = [IsCaseworker]

    @extend_schema(
        operation_id="grants_review_documents_download",
        summary="Download a file of an application under review",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(bytes, description="The file."),
            **problems(404),
        },
    )
    def get(self, request, application_id: int, document_id):
        document = selectors.document_for_review(
            viewer=request.user, application_id=application_id, document_id=document_id
        )
        return download_response(document)


class ReviewQueueApi(APIView):
    permission_classes = [IsCaseworker]

    @extend_schema(
        operation_id="grants_review_queue",
        summary="The caseworkers' work queue (submitted applications)",
        parameters=[*filter_parameters(ReviewQueueFilter), *PAGE_PARAMETERS],
        responses={200: paginated_schema(QueueItemSerializer, capped=True)},
    )
    def get(self, request):
        applications = selectors.review_queue(actor=request.user, filters=request.query_params)
        return paginated_response(
            request, self, applications, QueueItemSerializer, pagination=CappedCountPagination
        )


class ReviewDetailApi(APIView):
    permission_classes = [IsCaseworker]

    @extend_schema(operation_id="grants_review_retrieve", responses={200: ReviewDetailSerializer})
    def get(self, request, application_id: int):
        return _review_response(request, application_id)


class _ReviewActionApi(APIView):
    permission_classes = [IsCaseworker]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewAction"

        version = serializers.IntegerField(required=False, help_text=VERSION_HELP)

    def act(self, request, application_id: int, data: dict) -> None:
        raise NotImplementedError

    def post(self, request, application_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.act(request, application_id, body.validated_data)
        return _review_response(request, application_id)


def _review_action_schema(operation: str, summary: str, request_serializer):
    return extend_schema(
        operation_id=f"grants_review_{operation}",
        summary=summary,
        request=request_serializer,
        responses={200: ReviewDetailSerializer},
    )


class ReviewAssignApi(_ReviewActionApi):
    class InputSerializer(_ReviewActionApi.InputSerializer):
        class Meta:
            ref_name = "ReviewAssign"

        assignee_id = serializers.IntegerField(
            min_value=1,
            max_value=MAX_ID,
            required=False,
            help_text="A caseworker's user id; default: me.",
        )

    @_review_action_schema("assign", "Assign a caseworker (default: me)", InputSerializer)
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.application_assign(
            actor=request.user,
            application_id=application_id,
            assignee_id=data.get("assignee_id"),
            expected_version=data.get("version"),
        )


class ReviewStartApi(_ReviewActionApi):
    @_review_action_schema(
        "start", "Start reviewing a submitted application", _ReviewActionApi.InputSerializer
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.application_start_review(
            actor=request.user, application_id=application_id, expected_version=data.get("version")
        )


class _ReviewReasonActionApi(_ReviewActionApi):
    """A decision that needs a reason the applicant will read: `decide` is the service."""

    class InputSerializer(_ReviewActionApi.InputSerializer):
        class Meta:
            ref_name = "ReviewReason"

        reason = serializers.CharField(max_length=4000)

    decide = None

    def act(self, request, application_id, data):
        type(self).decide(
            actor=request.user,
            application_id=application_id,
            reason=data["reason"],
            expected_version=data.get("version"),
        )


class ReviewRequestChangesApi(_ReviewReasonActionApi):
    decide = staticmethod(services.application_request_changes)

    @_review_action_schema(
        "request_changes",
        "Return the application to the applicant for changes",
        _ReviewReasonActionApi.InputSerializer,
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)


class ReviewApproveApi(_ReviewActionApi):
    class InputSerializer(_ReviewActionApi.InputSerializer):
        class Meta:
            ref_name = "ReviewApprove"

        awarded_amount = serializers.DecimalField(
            **POSITIVE_MONEY,
            required=False,
            help_text="At most the requested amount; default: the requested amount.",
        )
        reason = serializers.CharField(max_length=4000, required=False, allow_blank=True)

    @_review_action_schema("approve", "Approve, for an amount up to the requested", InputSerializer)
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.application_approve(
            actor=request.user,
            application_id=application_id,
            awarded_amount=data.get("awarded_amount"),
            reason=data.get("reason", ""),
            expected_version=data.get("version"),
        )


class ReviewRejectApi(_ReviewReasonActionApi):
    decide = staticmethod(services.application_reject)

    @_review_action_schema(
        "reject",
        "Reject, with the reason the applicant will see",
        _ReviewReasonActionApi.InputSerializer,
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)


class ReviewScoreApi(_ReviewActionApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewScores"

        class ScoreInputSerializer(serializers.Serializer):
            criterion_id = serializers.IntegerField()
            score = serializers.IntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX)
            note = serializers.CharField(max_length=4000, required=False, allow_blank=True)

        scores = ScoreInputSerializer(many=True, allow_empty=False, max_length=50)

    @_review_action_schema(
        "score", "Score against the rubric (my scores; repeat to revise)", InputSerializer
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.application_score(
            actor=request.user,
            application_id=application_id,
            scores=[services.ScoreInput(**item) for item in data["scores"]],
        )


class ReviewCommentApi(_ReviewActionApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewComment"

        body = serializers.CharField(max_length=10000)
        visibility = serializers.ChoiceField(
            choices=ReviewComment.Visibility.choices,
            default=ReviewComment.Visibility.INTERNAL,
            help_text="internal: staff only; applicant: the applicant reads it.",
        )

    @_review_action_schema(
        "comment", "Add an internal note, or a message to the applicant", InputSerializer
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.application_comment(
            actor=request.user,
            application_id=application_id,
            body=data["body"],
            visibility=data["visibility"],
        )


class ReviewPanelAddApi(_ReviewActionApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewPanelAdd"

        reviewer_id = serializers.IntegerField(
            min_value=1, max_value=MAX_ID, help_text="A caseworker's or administrator's user id."
        )

    @_review_action_schema("panel_add", "Add a reviewer to the review panel", InputSerializer)
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.review_assign(
            actor=request.user, application_id=application_id, reviewer_id=data["reviewer_id"]
        )


class ReviewDeclareApi(_ReviewActionApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewDeclaration"

        has_conflict = serializers.BooleanField()
        conflict = serializers.CharField(
            max_length=4000,
            required=False,
            allow_blank=True,
            help_text="What the conflict of interest is (required when there is one).",
        )

    @_review_action_schema(
        "declare", "Declare a conflict of interest, or none, before reviewing", InputSerializer
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.review_declare(
            actor=request.user,
            application_id=application_id,
            has_conflict=data["has_conflict"],
            conflict=data.get("conflict", ""),
        )


class ReviewSubmitApi(_ReviewActionApi):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewSubmit"

    @_review_action_schema(
        "submit_review", "Submit my review (my scores become final)", InputSerializer
    )
    def post(self, request, application_id: int):
        return super().post(request, application_id)

    def act(self, request, application_id, data):
        services.review_submit(actor=request.user, application_id=application_id)

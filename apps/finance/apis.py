"""The Finance Service's HTTP API: each view parses, calls one selector or service, and answers.

Recipients read their own awards, disbursements and reimbursement requests and file requests;
staff read everything; only finance officers (and administrators) move money. Someone else's
object is a 404, never a 403.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.finance import amendments, reports, selectors, services
from apps.finance.filters import AwardFilter, DisbursementFilter, ReimbursementFilter
from apps.finance.models import (
    PERCENT,
    Amendment,
    Award,
    Disbursement,
    PaymentMethod,
    ReimbursementRequest,
    Report,
)
from hms.auth import IsApplicant, IsFinanceOfficer
from hms.documents import (
    DocumentSerializer,
    download_response,
    upload_request_schema,
    uploaded_file,
)
from hms.filtering import filter_parameters
from hms.idempotency.keys import PARAMETER as IDEMPOTENCY_KEY
from hms.idempotency.keys import idempotent
from hms.limits import ID_RANGE, MONEY, POSITIVE_MONEY
from hms.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from hms.schema import problems
from hms.serialization import ReadSerializer

SERVICE = "finance"


class BalancesSerializer(ReadSerializer):
    """Derived from the ledger: obligated = disbursed + pending + remaining."""

    obligated = serializers.DecimalField(**MONEY)
    disbursed = serializers.DecimalField(**MONEY)
    pending = serializers.DecimalField(**MONEY)
    remaining = serializers.DecimalField(**MONEY)

    class Meta:
        ref_name = "Balances"


class AwardOutputSerializer(ReadSerializer):
    id = serializers.IntegerField()
    application_id = serializers.IntegerField()
    applicant_id = serializers.IntegerField()
    program_code = serializers.CharField()
    tracking_number = serializers.CharField()
    awarded_amount = serializers.DecimalField(**MONEY)
    status = serializers.ChoiceField(choices=Award.Status.choices)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    records_retained_until = serializers.DateField(
        allow_null=True, help_text="Keep the award's records until then (set at closeout)."
    )
    fain = serializers.CharField(
        allow_null=True, help_text="Federal Award Identification Number: quote it on reports."
    )
    period_start = serializers.DateField(allow_null=True, help_text="Period of performance.")
    period_end = serializers.DateField(allow_null=True)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    cost_share_required = serializers.DecimalField(**MONEY)
    indirect_cost_rate = serializers.DecimalField(
        **PERCENT, allow_null=True, help_text="In percent; null where none is allowed."
    )
    transfer_limit_percent = serializers.DecimalField(
        **PERCENT,
        help_text="How much of the award may move between categories without prior approval.",
    )
    balances = BalancesSerializer(source="*")

    class Meta:
        ref_name = "Award"


class CategoryOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    budgeted_amount = serializers.DecimalField(**MONEY)
    approved_amount = serializers.DecimalField(**MONEY, help_text="The approved budget.")
    balances = BalancesSerializer(source="*")

    class Meta:
        ref_name = "BudgetCategory"


class AwardDetailOutputSerializer(AwardOutputSerializer):
    closeout_note = serializers.CharField()
    categories = CategoryOutputSerializer(many=True)

    class Meta:
        ref_name = "AwardDetail"


class BudgetActualsSerializer(serializers.Serializer):
    """The approved budget beside what the ledger says happened, per category and period."""

    class LineSerializer(serializers.Serializer):
        name = serializers.CharField()
        approved = serializers.DecimalField(**MONEY)
        obligated = serializers.DecimalField(**MONEY)
        disbursed = serializers.DecimalField(**MONEY)
        pending = serializers.DecimalField(**MONEY)
        remaining = serializers.DecimalField(**MONEY)

        class Meta:
            ref_name = "BudgetLineActuals"

    class PeriodSerializer(serializers.Serializer):
        number = serializers.IntegerField()
        starts_on = serializers.DateField()
        ends_on = serializers.DateField()
        obligated = serializers.DecimalField(**MONEY, help_text="Obligated in this period.")
        disbursed = serializers.DecimalField(**MONEY, help_text="Paid out in this period.")
        pending = serializers.DecimalField(**MONEY, help_text="Reserved in it, not yet paid.")

        class Meta:
            ref_name = "BudgetPeriodActuals"

    award = serializers.IntegerField(source="award.pk")
    fain = serializers.CharField(source="award.fain", allow_null=True)
    categories = LineSerializer(many=True)
    totals = LineSerializer()
    periods = PeriodSerializer(many=True)
    transferred = serializers.DecimalField(
        **MONEY, help_text="Moved between categories without prior approval so far."
    )
    transfer_limit = serializers.DecimalField(
        **MONEY, help_text="The most that may move without prior approval."
    )

    class Meta:
        ref_name = "BudgetActuals"


class DisbursementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    award = serializers.IntegerField(source="award_id")
    application_id = serializers.IntegerField(source="award.application_id")
    applicant_id = serializers.IntegerField(source="award.applicant_id")
    category = serializers.CharField(source="category.name")
    amount = serializers.DecimalField(**MONEY)
    status = serializers.ChoiceField(choices=Disbursement.Status.choices)
    memo = serializers.CharField()
    payment_reference = serializers.CharField()
    failure_reason = serializers.CharField()
    reimbursement = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    settled_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)

    def get_reimbursement(self, disbursement: Disbursement) -> int | None:
        request = getattr(disbursement, "reimbursement", None)
        return request.pk if request else None

    class Meta:
        ref_name = "Disbursement"


class ReimbursementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    award = serializers.IntegerField(source="award_id")
    category = serializers.CharField(source="category.name")
    amount = serializers.DecimalField(**MONEY)
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=ReimbursementRequest.Status.choices)
    rejection_reason = serializers.CharField()
    disbursement = serializers.IntegerField(source="disbursement_id", allow_null=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Reimbursement"


class LedgerEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    category = serializers.CharField(source="category.name")
    debit_account = serializers.CharField()
    credit_account = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    disbursement = serializers.IntegerField(source="disbursement_id", allow_null=True)
    memo = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "LedgerEntry"


# ------------------------------------------------------------------------------------------------
# Awards
# ------------------------------------------------------------------------------------------------


class AwardListApi(APIView):
    """Awards with balances: a recipient's own; staff see all and may filter by applicant."""

    @extend_schema(
        operation_id="finance_awards_list",
        parameters=[*filter_parameters(AwardFilter), *PAGE_PARAMETERS],
        responses=paginated_schema(AwardOutputSerializer),
    )
    def get(self, request):
        awards = selectors.award_list(actor=request.user, filters=request.query_params)
        return paginated_response(
            request, self, awards, AwardOutputSerializer, complete=selectors.balances_attach
        )


class AwardDetailApi(APIView):
    """One award with its balances overall and per budget category."""

    @extend_schema(operation_id="finance_awards_retrieve", responses=AwardDetailOutputSerializer)
    def get(self, request, award_id: int):
        award = selectors.award_get(actor=request.user, award_id=award_id)
        return Response(AwardDetailOutputSerializer(award).data)


class AwardBudgetApi(APIView):
    """Budget against actuals: the recipient's own awards; staff any."""

    @extend_schema(
        operation_id="finance_awards_budget",
        summary="The award's budget against actuals, per category and per budget period",
        responses={200: BudgetActualsSerializer, **problems(404)},
    )
    def get(self, request, award_id: int):
        actuals = selectors.budget_actuals(actor=request.user, award_id=award_id)
        return Response(BudgetActualsSerializer(actuals).data)


class AwardLedgerApi(APIView):
    """The award's ledger entries, oldest first."""

    @extend_schema(
        operation_id="finance_awards_ledger_list",
        parameters=PAGE_PARAMETERS,
        responses=paginated_schema(LedgerEntryOutputSerializer),
    )
    def get(self, request, award_id: int):
        entries = selectors.ledger_entries_for_award(actor=request.user, award_id=award_id)
        return paginated_response(request, self, entries, LedgerEntryOutputSerializer)


class AwardCloseApi(APIView):
    """Finance officer: close out an award; what remains is de-obligated."""

    permission_classes = [IsFinanceOfficer]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AwardClose"

        note = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(
        operation_id="finance_awards_close",
        request=InputSerializer,
        responses=AwardDetailOutputSerializer,
    )
    def post(self, request, award_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.award_close(actor=request.user, award_id=award_id, **serializer.validated_data)
        award = selectors.award_get(actor=request.user, award_id=award_id)
        return Response(AwardDetailOutputSerializer(award).data)


# ------------------------------------------------------------------------------------------------
# Disbursements
# ------------------------------------------------------------------------------------------------
class DisbursementListApi(APIView):
    """GET: disbursements on the caller's awards (staff: all). POST: a finance officer schedules one."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DisbursementSchedule"

        award = serializers.IntegerField(**ID_RANGE)
        category = serializers.CharField(max_length=100)
        amount = serializers.DecimalField(**POSITIVE_MONEY)
        memo = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsFinanceOfficer()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="finance_disbursements_list",
        parameters=[*filter_parameters(DisbursementFilter), *PAGE_PARAMETERS],
        responses=paginated_schema(DisbursementOutputSerializer),
    )
    def get(self, request):
        disbursements = selectors.disbursement_list(
            actor=request.user, filters=request.query_params
        )
        return paginated_response(request, self, disbursements, DisbursementOutputSerializer)

    @extend_schema(
        operation_id="finance_disbursements_schedule",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: DisbursementOutputSerializer, **problems(404, 422)},
    )
    @idempotent(SERVICE)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        disbursement = services.disbursement_schedule(
            actor=request.user,
            award_id=data["award"],
            category=data["category"],
            amount=data["amount"],
            memo=data.get("memo", ""),
        )
        disbursement = selectors.disbursement_get(
            actor=request.user, disbursement_id=disbursement.pk
        )
        return Response(DisbursementOutputSerializer(disbursement).data, status=201)


class DisbursementDetailApi(APIView):
    """One disbursement on the caller's award (staff: any)."""

    @extend_schema(
        operation_id="finance_disbursements_retrieve", responses=DisbursementOutputSerializer
    )
    def get(self, request, disbursement_id: int):
        disbursement = selectors.disbursement_get(
            actor=request.user, disbursement_id=disbursement_id
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class _DisbursementActionApi(APIView):
    permission_classes = [IsFinanceOfficer]

    def _respond(self, request, disbursement_id: int) -> Response:
        disbursement = selectors.disbursement_get(
            actor=request.user, disbursement_id=disbursement_id
        )
        return Response(DisbursementOutputSerializer(disbursement).data)


class DisbursementSendApi(_DisbursementActionApi):
    """Finance officer: the scheduled payment was sent (publishes finance.payment_disbursed)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DisbursementSend"

        payment_reference = serializers.CharField(required=False, allow_blank=True, max_length=100)

    @extend_schema(
        operation_id="finance_disbursements_send",
        request=InputSerializer,
        responses=DisbursementOutputSerializer,
    )
    def post(self, request, disbursement_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.disbursement_send(
            actor=request.user, disbursement_id=disbursement_id, **serializer.validated_data
        )
        return self._respond(request, disbursement_id)


class DisbursementSettleApi(_DisbursementActionApi):
    """Finance officer: the sent payment settled; its amount counts as disbursed."""

    @extend_schema(
        operation_id="finance_disbursements_settle",
        request=None,
        responses=DisbursementOutputSerializer,
    )
    def post(self, request, disbursement_id: int):
        services.disbursement_settle(actor=request.user, disbursement_id=disbursement_id)
        return self._respond(request, disbursement_id)


class DisbursementFailApi(_DisbursementActionApi):
    """Finance officer: the payment failed; its amount returns to the award's balance."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DisbursementFail"

        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="finance_disbursements_fail",
        request=InputSerializer,
        responses=DisbursementOutputSerializer,
    )
    def post(self, request, disbursement_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.disbursement_fail(
            actor=request.user, disbursement_id=disbursement_id, **serializer.validated_data
        )
        return self._respond(request, disbursement_id)


class DisbursementRecoverApi(_DisbursementActionApi):
    """Finance officer: money of a settled payment came back; a correcting ledger entry."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DisbursementRecover"

        amount = serializers.DecimalField(**POSITIVE_MONEY)
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="finance_disbursements_recover",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: LedgerEntryOutputSerializer, **problems(422)},
    )
    @idempotent(SERVICE)
    def post(self, request, disbursement_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.disbursement_recover(
            actor=request.user, disbursement_id=disbursement_id, **serializer.validated_data
        )
        return Response(LedgerEntryOutputSerializer(entry).data, status=201)


# ------------------------------------------------------------------------------------------------
# Reimbursement requests
# ------------------------------------------------------------------------------------------------
class ReimbursementListApi(APIView):
    """GET: reimbursement requests on the caller's awards (staff: all). POST: the recipient files one."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReimbursementCreate"

        award = serializers.IntegerField(**ID_RANGE)
        category = serializers.CharField(max_length=100)
        amount = serializers.DecimalField(**POSITIVE_MONEY)
        description = serializers.CharField(max_length=5000)

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsApplicant()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="finance_reimbursements_list",
        parameters=[*filter_parameters(ReimbursementFilter), *PAGE_PARAMETERS],
        responses=paginated_schema(ReimbursementOutputSerializer),
    )
    def get(self, request):
        requests = selectors.reimbursement_list(actor=request.user, filters=request.query_params)
        return paginated_response(request, self, requests, ReimbursementOutputSerializer)

    @extend_schema(
        operation_id="finance_reimbursements_create",
        parameters=[IDEMPOTENCY_KEY],
        request=InputSerializer,
        responses={201: ReimbursementOutputSerializer, **problems(404, 422)},
    )
    @idempotent(SERVICE)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reimbursement = services.reimbursement_request_create(
            actor=request.user,
            award_id=data["award"],
            category=data["category"],
            amount=data["amount"],
            description=data["description"],
        )
        return Response(
            ReimbursementOutputSerializer(reimbursement).data, status=status.HTTP_201_CREATED
        )


class ReimbursementDetailApi(APIView):
    """One reimbursement request on the caller's award (staff: any)."""

    @extend_schema(
        operation_id="finance_reimbursements_retrieve", responses=ReimbursementOutputSerializer
    )
    def get(self, request, reimbursement_id: int):
        reimbursement = selectors.reimbursement_get(
            actor=request.user, reimbursement_id=reimbursement_id
        )
        return Response(ReimbursementOutputSerializer(reimbursement).data)


class ReimbursementApproveApi(APIView):
    """Finance officer: approve a pending request; a disbursement is scheduled for it."""

    permission_classes = [IsFinanceOfficer]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReimbursementApprove"

        memo = serializers.CharField(required=False, allow_blank=True, max_length=255)

    @extend_schema(
        operation_id="finance_reimbursements_approve",
        request=InputSerializer,
        responses=ReimbursementOutputSerializer,
    )
    def post(self, request, reimbursement_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reimbursement = services.reimbursement_approve(
            actor=request.user, reimbursement_id=reimbursement_id, **serializer.validated_data
        )
        return Response(ReimbursementOutputSerializer(reimbursement).data)


class ReimbursementRejectApi(APIView):
    """Finance officer: reject a pending request with a reason."""

    permission_classes = [IsFinanceOfficer]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReimbursementReject"

        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="finance_reimbursements_reject",
        request=InputSerializer,
        responses=ReimbursementOutputSerializer,
    )
    def post(self, request, reimbursement_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reimbursement = services.reimbursement_reject(
            actor=request.user, reimbursement_id=reimbursement_id, **serializer.validated_data
        )
        return Response(ReimbursementOutputSerializer(reimbursement).data)


# ------------------------------------------------------------------------------------------------
# Documents: receipts of reimbursement requests, and the files kept with an award
# ------------------------------------------------------------------------------------------------
class FinanceDocumentSerializer(DocumentSerializer):
    reimbursement = serializers.IntegerField(source="reimbursement_id", allow_null=True)


class ReimbursementReceiptsApi(APIView):
    """GET: the request's receipts. POST: its recipient attaches one while it is pending."""

    parser_classes = [MultiPartParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsApplicant()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="finance_reimbursements_receipts_list",
        responses={200: FinanceDocumentSerializer(many=True)},
    )
    def get(self, request, reimbursement_id: int):
        receipts = selectors.receipts_of(actor=request.user, reimbursement_id=reimbursement_id)
        return Response(FinanceDocumentSerializer(receipts, many=True).data)

    @extend_schema(
        operation_id="finance_reimbursements_receipts_create",
        summary="Attach a receipt (PDF, PNG, JPEG, .docx, .xlsx) to a pending request",
        request=upload_request_schema(),
        responses={201: FinanceDocumentSerializer, **problems(404, 409, 413)},
    )
    def post(self, request, reimbursement_id: int):
        selectors.reimbursement_get(actor=request.user, reimbursement_id=reimbursement_id)
        receipt = services.receipt_attach(
            actor=request.user, reimbursement_id=reimbursement_id, upload=uploaded_file(request)
        )
        return Response(FinanceDocumentSerializer(receipt).data, status=status.HTTP_201_CREATED)


class AwardDocumentsApi(APIView):
    """Every file kept with an award: its documents and its requests' receipts."""

    @extend_schema(
        operation_id="finance_awards_documents_list",
        responses={200: FinanceDocumentSerializer(many=True), **problems(404)},
    )
    def get(self, request, award_id: int):
        documents = selectors.award_documents(actor=request.user, award_id=award_id)
        return Response(FinanceDocumentSerializer(documents, many=True).data)


class AwardDocumentApi(APIView):
    @extend_schema(
        operation_id="finance_awards_documents_download",
        summary="Download a file kept with an award",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(bytes, description="The file."),
            **problems(404),
        },
    )
    def get(self, request, award_id: int, document_id):
        document = selectors.award_document_get(
            actor=request.user, award_id=award_id, document_id=document_id
        )
        return download_response(document)


# ------------------------------------------------------------------------------------------------
# Amendments and the award's versions
# ------------------------------------------------------------------------------------------------
class AmendmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    award = serializers.IntegerField(source="award_id")
    kind = serializers.ChoiceField(choices=Amendment.Kind.choices)
    status = serializers.ChoiceField(choices=Amendment.Status.choices)
    reason = serializers.CharField()
    moves = serializers.ListField(child=serializers.DictField(), help_text="Budget revision.")
    extension_months = serializers.IntegerField(allow_null=True)
    scope = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, allow_null=True)
    category = serializers.CharField(source="category.name", allow_null=True, default=None)
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()

    class Meta:
        ref_name = "Amendment"


class AwardAmendmentsApi(APIView):
    """GET: the award's amendments. POST: its recipient requests one."""

    class InputSerializer(serializers.Serializer):
        class MoveSerializer(serializers.Serializer):
            from_ = serializers.CharField(max_length=100)
            to = serializers.CharField(max_length=100)
            amount = serializers.DecimalField(**POSITIVE_MONEY)

            def get_fields(self):
                fields = super().get_fields()
                fields["from"] = fields.pop("from_")
                return fields

            class Meta:
                ref_name = "BudgetMove"

        kind = serializers.ChoiceField(
            choices=sorted(amendments.RECIPIENT_KINDS),
            help_text="budget_revision (moves), no_cost_extension (extension_months, once, "
            "at most 12) or scope_change (scope).",
        )
        reason = serializers.CharField(max_length=5000)
        moves = MoveSerializer(many=True, required=False, max_length=20)
        extension_months = serializers.IntegerField(min_value=1, max_value=12, required=False)
        scope = serializers.CharField(max_length=20000, required=False)

        class Meta:
            ref_name = "AmendmentRequest"

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsApplicant()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="finance_awards_amendments_list",
        responses={200: AmendmentOutputSerializer(many=True), **problems(404)},
    )
    def get(self, request, award_id: int):
        found = selectors.amendments_of(actor=request.user, award_id=award_id)
        return Response(AmendmentOutputSerializer(found, many=True).data)

    @extend_schema(
        operation_id="finance_awards_amendments_create",
        summary="Request a budget revision, a no-cost extension or a change of scope",
        request=InputSerializer,
        responses={201: AmendmentOutputSerializer, **problems(404, 409)},
    )
    def post(self, request, award_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        amendment = amendments.amendment_request(
            actor=request.user,
            award_id=award_id,
            kind=data["kind"],
            reason=data["reason"],
            moves=[
                {"from": move["from"], "to": move["to"], "amount": move["amount"]}
                for move in data.get("moves", [])
            ],
            extension_months=data.get("extension_months"),
            scope=data.get("scope", ""),
        )
        return Response(AmendmentOutputSerializer(amendment).data, status=status.HTTP_201_CREATED)


class AwardVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    amendment = serializers.IntegerField(source="amendment_id", allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    obligated = serializers.DecimalField(**MONEY)
    budget = serializers.DictField(
        child=serializers.DecimalField(**MONEY), help_text="Approved budget by category."
    )
    scope = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AwardVersion"


class AwardVersionsApi(APIView):
    @extend_schema(
        operation_id="finance_awards_versions",
        summary="The award's history: every version, from its obligation on",
        responses={200: AwardVersionSerializer(many=True), **problems(404)},
    )
    def get(self, request, award_id: int):
        versions = selectors.versions_of(actor=request.user, award_id=award_id)
        return Response(AwardVersionSerializer(versions, many=True).data)


# ------------------------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------------------------
class ReportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    award = serializers.IntegerField(source="award_id")
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    number = serializers.IntegerField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    due_on = serializers.DateField()
    late = serializers.BooleanField(source="is_late", help_text="Still open after its due date.")
    status = serializers.ChoiceField(choices=Report.Status.choices)
    narrative = serializers.CharField()
    figures = serializers.DictField(
        child=serializers.CharField(), help_text="The SF-425's lines, as submitted."
    )
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_comment = serializers.CharField(help_text="Why it was returned, if it was.")

    class Meta:
        ref_name = "Report"


class AwardReportsApi(APIView):
    @extend_schema(
        operation_id="finance_awards_reports",
        summary="The reports the award owes, by due date",
        responses={200: ReportOutputSerializer(many=True), **problems(404)},
    )
    def get(self, request, award_id: int):
        found = selectors.reports_of(actor=request.user, award_id=award_id)
        return Response(ReportOutputSerializer(found, many=True).data)


class ReportDetailApi(APIView):
    @extend_schema(operation_id="finance_reports_retrieve", responses={200: ReportOutputSerializer})
    def get(self, request, report_id: int):
        report = selectors.report_get(actor=request.user, report_id=report_id)
        return Response(ReportOutputSerializer(report).data)


class ReportSubmitApi(APIView):
    """The recipient submits a report (its SF-425 figures come from the ledger)."""

    permission_classes = [IsApplicant]

    class InputSerializer(serializers.Serializer):
        narrative = serializers.CharField(
            max_length=50000, required=False, help_text="Performance and final reports."
        )
        recipient_share = serializers.DecimalField(
            **MONEY, min_value=0, required=False, help_text="Your share of the costs so far."
        )
        program_income = serializers.DecimalField(**MONEY, min_value=0, required=False)
        indirect_base = serializers.DecimalField(
            **MONEY, min_value=0, required=False, help_text="The base of indirect costs."
        )

        class Meta:
            ref_name = "ReportSubmission"

    @extend_schema(
        operation_id="finance_reports_submit",
        summary="Submit a report that is due (or returned for changes)",
        request=InputSerializer,
        responses={200: ReportOutputSerializer, **problems(404, 409)},
    )
    def post(self, request, report_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        report = reports.report_submit(
            actor=request.user,
            report_id=report_id,
            narrative=data.get("narrative", ""),
            recipient_share=data.get("recipient_share"),
            program_income=data.get("program_income"),
            indirect_base=data.get("indirect_base"),
        )
        return Response(ReportOutputSerializer(report).data)

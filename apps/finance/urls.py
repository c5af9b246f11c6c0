"""The Finance Service's API, under /finance (no trailing slashes)."""

from django.urls import path

from apps.finance import apis

urlpatterns = [
    path("finance/awards", apis.AwardListApi.as_view(), name="finance-awards"),
    path("finance/awards/<int:award_id>", apis.AwardDetailApi.as_view(), name="finance-award"),
    path(
        "finance/awards/<int:award_id>/budget",
        apis.AwardBudgetApi.as_view(),
        name="finance-award-budget",
    ),
    path(
        "finance/awards/<int:award_id>/documents",
        apis.AwardDocumentsApi.as_view(),
        name="finance-award-documents",
    ),
    path(
        "finance/awards/<int:award_id>/documents/<uuid:document_id>",
        apis.AwardDocumentApi.as_view(),
        name="finance-award-document",
    ),
    path(
        "finance/reimbursements/<int:reimbursement_id>/receipts",
        apis.ReimbursementReceiptsApi.as_view(),
        name="finance-reimbursement-receipts",
    ),
    path(
        "finance/awards/<int:award_id>/ledger",
        apis.AwardLedgerApi.as_view(),
        name="finance-award-ledger",
    ),
    path(
        "finance/awards/<int:award_id>/close",
        apis.AwardCloseApi.as_view(),
        name="finance-award-close",
    ),
    path(
        "finance/disbursements",
        apis.DisbursementListApi.as_view(),
        name="finance-disbursements",
    ),
    path(
        "finance/disbursements/<int:disbursement_id>",
        apis.DisbursementDetailApi.as_view(),
        name="finance-disbursement",
    ),
    path(
        "finance/disbursements/<int:disbursement_id>/send",
        apis.DisbursementSendApi.as_view(),
        name="finance-disbursement-send",
    ),
    path(
        "finance/disbursements/<int:disbursement_id>/settle",
        apis.DisbursementSettleApi.as_view(),
        name="finance-disbursement-settle",
    ),
    path(
        "finance/disbursements/<int:disbursement_id>/fail",
        apis.DisbursementFailApi.as_view(),
        name="finance-disbursement-fail",
    ),
    path(
        "finance/disbursements/<int:disbursement_id>/recover",
        apis.DisbursementRecoverApi.as_view(),
        name="finance-disbursement-recover",
    ),
    path(
        "finance/reimbursements",
        apis.ReimbursementListApi.as_view(),
        name="finance-reimbursements",
    ),
    path(
        "finance/reimbursements/<int:reimbursement_id>",
        apis.ReimbursementDetailApi.as_view(),
        name="finance-reimbursement",
    ),
    path(
        "finance/reimbursements/<int:reimbursement_id>/approve",
        apis.ReimbursementApproveApi.as_view(),
        name="finance-reimbursement-approve",
    ),
    path(
        "finance/reimbursements/<int:reimbursement_id>/reject",
        apis.ReimbursementRejectApi.as_view(),
        name="finance-reimbursement-reject",
    ),
]

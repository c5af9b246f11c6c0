"""The Grants Service's API, under /grants (no trailing slashes)."""

from django.urls import path

from apps.grants import apis

review = "grants/review/applications/<int:application_id>"

urlpatterns = [
    path("grants", apis.GrantStatusApi.as_view(), name="grants-status"),
    path("grants/programs", apis.ProgramListApi.as_view(), name="grants-programs"),
    path("grants/programs/<str:code>", apis.ProgramDetailApi.as_view(), name="grants-program"),
    path("grants/programs/<str:code>/form", apis.ProgramFormApi.as_view(), name="grants-form"),
    path(
        "grants/applications",
        apis.ApplicationListCreateApi.as_view(),
        name="grants-applications",
    ),
    path(
        "grants/applications/changes",
        apis.ApplicationChangesApi.as_view(),
        name="grants-application-changes",
    ),
    path(
        "grants/applications/<int:application_id>",
        apis.ApplicationDetailApi.as_view(),
        name="grants-application",
    ),
    path(
        "grants/applications/<int:application_id>/submit",
        apis.ApplicationSubmitApi.as_view(),
        name="grants-application-submit",
    ),
    path(
        "grants/applications/<int:application_id>/withdraw",
        apis.ApplicationWithdrawApi.as_view(),
        name="grants-application-withdraw",
    ),
    path(
        "grants/applications/<int:application_id>/history",
        apis.ApplicationHistoryApi.as_view(),
        name="grants-application-history",
    ),
    path(
        "grants/applications/<int:application_id>/messages",
        apis.ApplicationMessagesApi.as_view(),
        name="grants-application-messages",
    ),
    path(
        "grants/applications/<int:application_id>/form",
        apis.ApplicationFormApi.as_view(),
        name="grants-application-form",
    ),
    path(
        "grants/applications/<int:application_id>/documents",
        apis.ApplicationDocumentsApi.as_view(),
        name="grants-application-documents",
    ),
    path(
        "grants/applications/<int:application_id>/documents/<uuid:document_id>",
        apis.ApplicationDocumentApi.as_view(),
        name="grants-application-document",
    ),
    path("grants/review/applications", apis.ReviewQueueApi.as_view(), name="grants-review-queue"),
    path(review, apis.ReviewDetailApi.as_view(), name="grants-review"),
    path(f"{review}/assign", apis.ReviewAssignApi.as_view(), name="grants-review-assign"),
    path(f"{review}/start-review", apis.ReviewStartApi.as_view(), name="grants-review-start"),
    path(
        f"{review}/request-changes",
        apis.ReviewRequestChangesApi.as_view(),
        name="grants-review-request-changes",
    ),
    path(f"{review}/approve", apis.ReviewApproveApi.as_view(), name="grants-review-approve"),
    path(f"{review}/reject", apis.ReviewRejectApi.as_view(), name="grants-review-reject"),
    path(f"{review}/scores", apis.ReviewScoreApi.as_view(), name="grants-review-scores"),
    path(f"{review}/comments", apis.ReviewCommentApi.as_view(), name="grants-review-comments"),
    path(f"{review}/panel", apis.ReviewPanelAddApi.as_view(), name="grants-review-panel"),
    path(
        f"{review}/declaration", apis.ReviewDeclareApi.as_view(), name="grants-review-declaration"
    ),
    path(f"{review}/submit", apis.ReviewSubmitApi.as_view(), name="grants-review-submit"),
    path(
        f"{review}/documents/<uuid:document_id>",
        apis.ReviewDocumentApi.as_view(),
        name="grants-review-document",
    ),
]

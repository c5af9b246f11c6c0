"""Files on staff pages: one table, each file a download link through the admin's own view
(after its permission check), never a storage URL."""

from collections.abc import Callable, Iterable

from django import forms
from django.template.loader import render_to_string

from hms.documents import ALLOWED_DESCRIPTION, StoredDocument
from hms.formatting import day


class AttachDocumentForm(forms.Form):
    file = forms.FileField(help_text=f"{ALLOWED_DESCRIPTION}; checked by its content.")


def document_rows(
    documents: Iterable[StoredDocument], url_for: Callable[[StoredDocument], str]
) -> dict[str, dict]:
    """The documents by id, as the table (and an answer's link) shows them."""
    return {
        str(document.pk): {
            "name": document.name,
            "size": document.size,
            "sha256": document.sha256,
            "purpose": document.get_purpose_display(),
            "uploaded": day(document.uploaded_at),
            "url": url_for(document),
        }
        for document in documents
    }


def documents_table(rows: dict[str, dict]) -> str:
    return render_to_string("admin/documents.html", {"documents": list(rows.values())})

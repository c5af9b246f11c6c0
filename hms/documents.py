"""Files people attach (application documents, receipts, award letters): checked, then stored.

Every service that keeps files uses this one gate:
- the type is decided by the file's content (its magic bytes), never by its name or the
  client's Content-Type; only the types in `ALLOWED_TYPES` pass, and an Office document (a zip
  inside) is refused when it would expand past `HMS_UPLOAD_MAX_EXPANDED_BYTES` or compresses
  suspiciously well (a zip bomb);
- the name is reduced to a safe base name (no path, no control characters) with the extension
  of the detected type;
- the size is bounded per file (`HMS_UPLOAD_MAX_BYTES`) and the SHA-256 of the content recorded.

Django's upload handlers have already streamed the body to a temporary file by the time a view
sees it (`FILE_UPLOAD_MAX_MEMORY_SIZE`), and storage reads it back in chunks: a large file never
sits in memory. Files are saved under a random name through Django's storage API (the local file
system under var/, or S3-compatible storage by environment) and served only by the owning
service's views, after its authorization: never at a public URL.
"""

import base64
import contextlib
import hashlib
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.http import FileResponse
from django.utils import timezone
from rest_framework import serializers

from hms.errors import ApplicationError, ValidationFailed

# Detected type -> the extension the stored name gets.
ALLOWED_TYPES = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
ALLOWED_DESCRIPTION = "PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx)"
_ZIP_BASED = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Office documents compress text well, but not by more than this; zip bombs do.
MAX_COMPRESSION_RATIO = 100
_SNIFF_BYTES = 8192
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._() -]+")


class UploadTooLarge(ApplicationError):
    status_code = 413
    code = "file_too_large"


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    size: int
    sha256: str


def max_upload_bytes() -> int:
    return settings.HMS_UPLOAD_MAX_BYTES


def refuse_declared_size(content_length: int | None, *, already_stored: int = 0) -> None:
    """Refuse an upload by its declared length before a byte of it is read."""
    per_file, per_owner = settings.HMS_UPLOAD_MAX_BYTES, settings.HMS_UPLOAD_MAX_TOTAL_BYTES
    if content_length is not None and content_length > per_file + 64 * 1024:  # + the envelope
        raise UploadTooLarge(
            f"A file may be at most {_size(per_file)}; this upload is {_size(content_length)}.",
            context={"max_bytes": per_file},
        )
    if content_length is not None and already_stored + content_length > per_owner + 64 * 1024:
        raise UploadTooLarge(
            f"The files of one application may total at most {_size(per_owner)}; "
            f"{_size(already_stored)} are already attached.",
            code="files_too_large",
            context={"max_total_bytes": per_owner},
        )


def check_upload(upload: UploadedFile | None, *, already_stored: int = 0) -> CheckedFile:
    """The upload's safe name, detected type, size and SHA-256; a 4xx naming what is wrong."""
    if upload is None:
        raise ValidationFailed(
            "Attach the file as multipart/form-data, in a part named `file`.",
            code="file_missing",
            fields={"file": "No file was sent."},
        )
    if upload.size == 0:
        raise ValidationFailed("The file is empty.", code="file_empty", fields={"file": "Empty."})
    refuse_declared_size(upload.size, already_stored=already_stored)
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    upload.seek(0)
    detected = filetype.guess_mime(head)
    if detected not in ALLOWED_TYPES:
        found = f"its content is {detected}" if detected else "its content is not a known type"
        raise ValidationFailed(
            f"Only {ALLOWED_DESCRIPTION} files are accepted; {found}, whatever its name says.",
            code="file_type_not_allowed",
            fields={"file": f"Not a {ALLOWED_DESCRIPTION} file."},
        )
    if detected in _ZIP_BASED:
        _check_archive(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedFile(
        name=safe_name(upload.name or "", ALLOWED_TYPES[detected]),
        content_type=detected,
        size=upload.size,
        sha256=digest.hexdigest(),
    )


def _check_archive(upload: UploadedFile) -> None:
    """Refuse an Office document that is not a readable zip, or would expand too far."""
    refusal = ValidationFailed(
        "The document's content is damaged or expands far beyond its size, so it is refused.",
        code="file_unsafe",
        fields={"file": "Damaged or suspicious archive."},
    )
    try:
        with zipfile.ZipFile(upload.file) as archive:
            expanded = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refusal from exc
    finally:
        upload.seek(0)
    if (
        expanded > settings.HMS_UPLOAD_MAX_EXPANDED_BYTES
        or expanded > upload.size * MAX_COMPRESSION_RATIO
    ):
        raise refusal


def safe_name(name: str, extension: str) -> str:
    """A base name safe to show and to send back in Content-Disposition, ending in `extension`."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME_CHARACTERS.sub("_", stem).strip(" ._")[:100] or "document"
    return f"{stem}.{extension}"


def save_upload(document: "StoredDocument", upload: UploadedFile, checked: CheckedFile) -> None:
    """Store the checked upload (streamed from its temporary file) and save its row. Call it
    inside `removed_unless_committed`: the file reaches storage before the row commits."""
    document.name, document.content_type = checked.name, checked.content_type
    document.size, document.sha256 = checked.size, checked.sha256
    document.file.save(checked.name, upload, save=False)
    document.save()


@contextlib.contextmanager
def removed_unless_committed(document: "StoredDocument"):
    """Around the transaction that saves `document`: if it does not commit, the file it stored
    is deleted again, so storage never keeps a file no row points at."""
    try:
        yield
    except BaseException:
        if document.file.name:
            document.file.storage.delete(document.file.name)
        raise


def upload_request_schema(**fields: dict) -> dict:
    """An upload endpoint's request body for OpenAPI: the file, and `fields` beside it."""
    return {
        "multipart/form-data": {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}, **fields},
            "required": ["file"],
        }
    }


def uploaded_file(request) -> UploadedFile | None:
    """The `file` part of a multipart upload; refused by its declared length before a byte of
    the body is read (or stored)."""
    refuse_declared_size(int(request.META.get("CONTENT_LENGTH") or 0))
    return request.FILES.get("file")


def download_response(document: "StoredDocument") -> FileResponse:
    """The file streamed from storage as an attachment, never rendered by the browser, with its
    SHA-256 for the client to check (RFC 9530 Repr-Digest)."""
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.name,
        content_type=document.content_type,
    )
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    response["Repr-Digest"] = f"sha-256=:{digest}:"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def storage_name(prefix: str) -> str:
    """Where a file is stored: a random name under `prefix`; the person's name is never used."""
    return f"{prefix}/{uuid.uuid4().hex}"


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):,.1f} MB"


class DocumentSerializer(serializers.Serializer):
    """A stored document as the API shows it (its content is downloaded separately)."""

    id = serializers.UUIDField()
    name = serializers.CharField(help_text="The file's name, made safe.")
    content_type = serializers.CharField(help_text="As detected from the file's content.")
    size = serializers.IntegerField(help_text="In bytes.")
    sha256 = serializers.CharField(help_text="The SHA-256 of the content, in hex.")
    purpose = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class StoredDocument(models.Model):
    """The fields every stored document has (each service's own model adds what it belongs to)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(max_length=200, editable=False)
    name = models.CharField(max_length=120, help_text="The file's name, made safe.")
    content_type = models.CharField(max_length=100, help_text="As detected from its content.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, verbose_name="SHA-256")
    uploaded_by_id = models.PositiveBigIntegerField()
    uploaded_by_role = models.CharField(max_length=20)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

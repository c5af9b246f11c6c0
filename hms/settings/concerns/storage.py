"""Where uploaded documents are kept (hms/documents.py): files under var/ on embedded defaults,
S3-compatible object storage (AWS S3, MinIO, Ceph) when HMS_STORAGE=s3. Nothing is ever public:
every download goes through the owning service's views."""

from hms.env import VAR_DIR, env

HMS_STORAGE = env.str("HMS_STORAGE", default="file")
if HMS_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("HMS_S3_BUCKET"),
            "endpoint_url": env.str("HMS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("HMS_S3_REGION", default=None),
            "access_key": env.str("HMS_S3_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("HMS_S3_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.path("HMS_DOCUMENTS_DIR", default=VAR_DIR / "documents"),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Limits of one file, of one application's (or request's) files together, and of what an Office
# document may expand to.
HMS_UPLOAD_MAX_BYTES = env.int("HMS_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
HMS_UPLOAD_MAX_TOTAL_BYTES = env.int("HMS_UPLOAD_MAX_TOTAL_BYTES", default=250 * 1024 * 1024)
HMS_UPLOAD_MAX_EXPANDED_BYTES = env.int("HMS_UPLOAD_MAX_EXPANDED_BYTES", default=200 * 1024 * 1024)
# Larger uploads are streamed to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600

"""Evidence photos' storage lives in the core (``civportal.storage``): materials,
notices and backups use the same private storage. This name stays because
migration 0001 names ``inspections.storage.photo_storage``."""

from civportal.storage import PrivateFileSystemStorage, photo_storage  # noqa: F401

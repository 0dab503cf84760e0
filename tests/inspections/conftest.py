import pytest


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Evidence photos of a test go to its own temporary folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"

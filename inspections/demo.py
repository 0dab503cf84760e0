"""Demo data for the loop (filled in later)."""


def load(*, admin, stdout) -> None:
    return None

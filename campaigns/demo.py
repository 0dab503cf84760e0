"""Hook for demo data: higher apps register loaders in their AppConfig.ready();
``manage.py load_demo`` runs them after the organisation is in place, in
registration order. A loader must be re-runnable without duplicates."""

from collections.abc import Callable

loaders: list[Callable] = []


def register(loader: Callable) -> Callable:
    if loader not in loaders:
        loaders.append(loader)
    return loader

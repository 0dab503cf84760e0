def load_demo(*, admin, stdout) -> None:
    pass

"""``injcheck sweep``: placeholder until its issue lands (registers nothing)."""


def register(subparsers) -> None:
    return None

"""Fixtures of the sweep tests (helpers live in sweep_helpers.py)."""

import pytest
from sweep_helpers import DRIVER


@pytest.fixture
def driver(tmp_path):
    path = tmp_path / "sweep_driver.py"
    path.write_text(DRIVER)
    return str(path)

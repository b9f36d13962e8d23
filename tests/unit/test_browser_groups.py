"""Each database's browser tests go to one worker (tests/conftest.py): the groups are told from test ids."""

from tests.conftest import browser_group


def test_each_databases_browser_tests_share_a_group_and_everything_else_runs_alone():
    assert browser_group("tests/e2e/test_booking_flow.py::test_pay[sqlite]") == "e2e-sqlite"
    assert browser_group("tests/e2e/test_booking_flow.py::test_pay[postgresql]") == "e2e-postgresql"
    assert browser_group("tests/e2e/test_payment_methods.py::test_wallet[postgresql-apple]") == "e2e-postgresql"
    assert browser_group("tests/e2e/test_accessibility.py::test_x[en-sqlite]") == "e2e-sqlite"
    assert browser_group("tests/e2e/test_several_workers.py::test_two[sqlite]") is None  # its own deployment
    assert browser_group("tests/integration/test_x.py::test_y[sqlite]") is None

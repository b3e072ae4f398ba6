from shipyard.cli.exit_codes import ExitCode


def test_exit_codes_are_stable():
    # Released codes are a contract with CI scripts: never renumber them.
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "CHECK_FAILED": 1,
        "USAGE_ERROR": 2,
        "STAGE_CRASHED": 3,
        "INTERRUPTED": 130,
    }

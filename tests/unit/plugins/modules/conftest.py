"""Shared helpers for the module unit tests: a stand-in for the Ansible module
object (exit_json/fail_json raise so a test can read the result) and a fake
clock, so waits are checked without sleeping."""

import pytest


class Exited(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg"))
        self.result = result


class Failed(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg"))
        self.result = result


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)

    def exit_json(self, **kwargs):
        raise Exited(kwargs)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class FakeClock:
    """time.monotonic/time.sleep pair; sleeping advances the clock."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


class Fakes:
    Exited = Exited
    Failed = Failed
    FakeModule = FakeModule


@pytest.fixture
def fakes():
    return Fakes

"""Unit tests for plugins/plugin_utils/checks.py: the order of a role's input checks.
Conditions here are Python expressions over a dict of variables, standing in for Ansible's
templating (the real templating runs in tests/integration's bad-input playbooks)."""

from ansible_collections.paperclip.kubernetes.plugins.plugin_utils import checks

VARS = {"name": "paperclip", "size": "1Gi", "quantities": {"cpu": "1", "memory": "lots"}}


def evaluate(evaluated):
    def holds(condition, item):
        evaluated.append(condition)
        return bool(eval(condition, {}, dict(VARS, item=item)))

    def render(text, item):
        return text.format(item=item, **VARS)

    def expand(loop):
        value = eval(loop, {}, dict(VARS))
        return [{"key": k, "value": v} for k, v in value.items()] if isinstance(value, dict) else value
    return holds, render, expand


def test_the_first_failing_check_ends_the_run_with_its_own_message():
    seen = []
    failure, warnings, _notes = checks.run([
        {"that": "name == 'paperclip'", "msg": "never"},
        {"that": ["size.endswith('Gi')", "size == '2Gi'"], "msg": "size must be 2Gi; got {size}"},
        {"that": "False", "msg": "not reached"},
    ], *evaluate(seen))
    assert failure == {"msg": "size must be 2Gi; got 1Gi", "assertion": "size == '2Gi'"}
    assert warnings == []
    assert "False" not in seen


def test_when_limits_a_check_and_a_warning():
    failure, warnings, _notes = checks.run([
        {"when": "name == 'other'", "that": "False", "msg": "skipped"},
        {"when": ["True", "size == '1Gi'"], "warn": "size {size} is small"},
        {"when": "False", "warn": "not shown"},
    ], *evaluate([]))
    assert failure is None
    assert warnings == ["size 1Gi is small"]


def test_a_loop_checks_each_item_and_names_the_failing_one():
    failure, _warnings, _notes = checks.run([
        {"loop": "quantities", "that": "item['value'][0].isdigit()",
         "msg": "{item[key]} must be a quantity; got {item[value]}"},
    ], *evaluate([]))
    assert failure["msg"] == "memory must be a quantity; got lots"


def test_every_check_passing_gives_no_failure():
    failure, warnings, _notes = checks.run(
        [{"that": "True", "msg": "x"}, {"loop": "[1, 2]", "that": "item > 0", "msg": "y"}], *evaluate([]))
    assert (failure, warnings, _notes) == (None, [], [])


def test_notes_are_kept_apart_from_warnings_and_only_when_their_when_holds():
    failure, warnings, notes = checks.run([
        {"when": "size == '1Gi'", "note": "NOTE: size is {size}"},
        {"when": "False", "note": "not shown"},
        {"warn": "name is {name}"},
        {"that": "True", "msg": "x"},
    ], *evaluate([]))
    assert (failure, warnings, notes) == (None, ["name is paperclip"], ["NOTE: size is 1Gi"])


def test_a_malformed_check_is_named():
    for check, words in (("that", "must be a dict"), ({"that": "True"}, "needs a msg"),
                         ({"msg": "x"}, "one of that"), ({"warn": "x", "note": "y"}, "one of that"),
                         ({"that": "True", "msg": "x", "fail_msg": "y"}, "unsupported keys")):
        failure, _warnings, _notes = checks.run([{"that": "True", "msg": "ok"}, check], *evaluate([]))
        assert failure["msg"].startswith("checks[1]") and words in failure["msg"], failure


class Display:
    def __init__(self):
        self.warnings = []

    def warning(self, text):
        self.warnings.append(text)


def test_report_puts_the_outcome_into_the_action_result():
    # A failure fails the task (its msg and assertion), and its notes are not shown.
    display, result = Display(), {}
    assert checks.report(result, ({"msg": "bad", "assertion": "x"}, ["careful"], ["n"]), display) is True
    assert result == {"failed": True, "msg": "bad", "assertion": "x"} and display.warnings == ["careful"]
    # Notes become the msg, shown as debug shows its msg; nothing else is touched.
    display, result = Display(), {"changed": False}
    assert checks.report(result, (None, [], ["first", "second"]), display) is False
    assert result == {"changed": False, "msg": ["first", "second"], "_ansible_verbose_always": True}
    # Nothing to say: the result stays as it was.
    result = {"changed": False}
    assert checks.report(result, (None, [], []), Display()) is False and result == {"changed": False}

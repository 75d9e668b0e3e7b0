"""Every role variable is documented in meta/argument_specs.yml with its real default,
and every entry point of a role validates the same options."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ["paperclip", "postgres", "storage", "bootstrap", "backup"]


@pytest.mark.parametrize("role", ROLES)
def test_specs_match_defaults(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    options = specs["main"]["options"]
    assert set(options) == set(defaults), f"{role}: undocumented {set(defaults) - set(options)}, stale {set(options) - set(defaults)}"
    for name, opt in options.items():
        assert name.startswith(role + "_"), f"{name} is not prefixed by its role"
        assert opt["description"].strip()
        value = defaults[name]
        if isinstance(value, str) and "{{" in value:
            assert "default" not in opt, f"{name}: a templated default is described, not declared"
        elif "default" in opt:
            assert opt["default"] == value, f"{name}: spec default {opt['default']!r} != defaults/main.yml {value!r}"
    for entry, spec in specs.items():
        assert spec["options"] == options, f"{role}:{entry} validates other options than main"
    assert "validate" in specs

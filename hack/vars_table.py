"""Print the README's variable tables from the roles' meta/argument_specs.yml.

`python hack/vars_table.py --write` refreshes README.md between the markers;
tests/unit/test_readme.py fails when the README is out of date."""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLES = ["paperclip", "postgres", "storage", "bootstrap", "backup"]
BEGIN, END = "<!-- BEGIN VARIABLES (hack/vars_table.py) -->", "<!-- END VARIABLES -->"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def tables():
    out = []
    for role in ROLES:
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        main = spec["argument_specs"]["main"]
        out += [f"### Role `{role}`: {main['short_description']}", "",
                "| variable | type | default | description |", "|---|---|---|---|"]
        for name, opt in main["options"].items():
            default = opt.get("default", "")
            default = f"`{default}`" if "default" in opt and default != "" else ("`\"\"`" if default == "" and "default" in opt else "")
            desc = opt["description"] + (f" Choices: {', '.join(map(str, opt['choices']))}." if "choices" in opt else "")
            if opt.get("required"):
                desc = "**Required.** " + desc
            if opt.get("no_log"):
                desc += " Secret (no_log)."
            out.append(f"| `{name}` | {opt['type']} | {_cell(default)} | {_cell(desc)} |")
        out.append("")
    return "\n".join(out)


def main():
    block = f"{BEGIN}\n{tables()}{END}"
    if "--write" in sys.argv:
        readme = ROOT / "README.md"
        text = readme.read_text()
        start, end = text.index(BEGIN), text.index(END) + len(END)
        readme.write_text(text[:start] + block + text[end:])
    else:
        print(block)


if __name__ == "__main__":
    main()

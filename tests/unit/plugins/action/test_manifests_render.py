"""paperclip.kubernetes.manifests in render mode (no API call): the templates of one task
are rendered in one pass, each included in turn, so a variable several of them use is
templated once; the texts are those of rendering each template alone, and a template that
fails is named in the message."""

import json
import subprocess

import yaml

from tests.support.ansible_run import VENV_BIN, ansible_env

CONFIG = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ name }}-a
  namespace: demo
data:
  token: {{ token }}
"""
# Ends with two newlines and a Jinja block, as a template may.
SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: {{ name }}-b
  namespace: demo
stringData:
{% for key in ['one', 'two'] %}
  {{ key }}: {{ token }}
{% endfor %}

"""


def render(tmp_path, templates, sources):
    (tmp_path / "templates").mkdir(exist_ok=True)
    for name, text in sources.items():
        (tmp_path / "templates" / name).write_text(text)
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars": {"name": "demo",
                      # A new value each time it is templated: the same one in every
                      # document shows it was templated once for the task.
                      "token": "{{ lookup('ansible.builtin.password', '/dev/null', length=24, chars=['ascii_letters']) }}"},
             "tasks": [{"name": "render", "paperclip.kubernetes.manifests": {
                 "templates": templates, "render_dir": str(tmp_path / "out")}, "register": "r", "ignore_errors": True},
                 {"name": "save", "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(tmp_path / "r.json")}}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={VENV_BIN / 'python'}", str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=ansible_env(KUBECONFIG="/nonexistent"),
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((tmp_path / "r.json").read_text())


def test_one_pass_keeps_each_text_and_templates_a_shared_variable_once(tmp_path):
    result = render(tmp_path, ["config.yaml.j2", "secret.yaml.j2"], {"config.yaml.j2": CONFIG, "secret.yaml.j2": SECRET})
    assert not result.get("failed"), result
    text = (tmp_path / "out" / "localhost-play.yaml").read_text()
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["metadata"]["name"] for d in docs] == ["demo-a", "demo-b"]
    tokens = {docs[0]["data"]["token"], docs[1]["stringData"]["one"], docs[1]["stringData"]["two"]}
    assert len(tokens) == 1 and len(tokens.pop()) == 24, docs

    # Each template alone gives the same text (the file keeps every line of it).
    token = docs[0]["data"]["token"]
    assert CONFIG.replace("{{ name }}", "demo").replace("{{ token }}", token) in text
    assert "stringData:\n  one: {0}\n  two: {0}\n".format(token) in text


def test_a_template_that_fails_is_named(tmp_path):
    result = render(tmp_path, ["config.yaml.j2", "broken.yaml.j2"],
                    {"config.yaml.j2": CONFIG, "broken.yaml.j2": "kind: ConfigMap\nname: {{ no_such_variable }}\n"})
    assert result.get("failed"), result
    assert "Could not render broken.yaml.j2: " in result["msg"], result["msg"]
    assert "no_such_variable" in result["msg"], result["msg"]
    assert not (tmp_path / "out").exists(), "a failed render wrote its file"

"""Fixtures for the verify step of the molecule scenarios (molecule's testinfra
verifier runs these with `--connection=ansible --ansible-inventory=<scenario
inventory>`, so each test runs once per inventory host, i.e. per Paperclip
instance, and reads the instance's settings from that host's variables).

The checks talk to the Kubernetes API with the kubernetes Python client and the
KUBECONFIG molecule.yml exports; no test connects to a pod or Service address.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config


@dataclass(frozen=True)
class Instance:
    inventory_host: str
    name: str
    namespace: str
    host: str
    public_url: str
    variables: dict


def _literal(variables: dict, key: str, default: str) -> str:
    value = variables.get(key, default)
    # testinfra reads the inventory without templating: only literal values work here.
    if not isinstance(value, str) or "{{" in value:
        pytest.fail(f"inventory variable {key}={value!r} must be a literal string for the verify tests",
                    pytrace=False)
    return value


@pytest.fixture(scope="module")
def instance(host) -> Instance:
    variables = host.ansible.get_variables()
    name = _literal(variables, "paperclip_name", "paperclip")
    namespace = _literal(variables, "paperclip_namespace", "paperclip")
    public_host = _literal(variables, "paperclip_host", "")
    if not public_host:
        pytest.fail("the inventory host has no paperclip_host", pytrace=False)
    public_url = variables.get("paperclip_public_url") or f"https://{public_host}"
    if "{{" in public_url:
        public_url = f"https://{public_host}"
    return Instance(variables["inventory_hostname"], name, namespace, public_host,
                    public_url.rstrip("/"), variables)


@pytest.fixture(scope="session")
def api() -> client.ApiClient:
    path = os.environ.get("KUBECONFIG")
    if not path or not Path(path).is_file():
        pytest.fail(f"KUBECONFIG={path!r} is not a file: the scenario's molecule.yml must export it",
                    pytrace=False)
    api = config.new_client_from_config(config_file=path)
    try:
        client.VersionApi(api).get_code(_request_timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure means "no cluster"
        pytest.fail(f"the cluster at KUBECONFIG={path} is not reachable: {exc}", pytrace=False)
    return api


@pytest.fixture(scope="session")
def core(api) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture(scope="session")
def ephemeral() -> Path:
    path = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if not path or not Path(path).is_dir():
        pytest.fail("MOLECULE_EPHEMERAL_DIRECTORY is not set: run these tests through `molecule verify`",
                    pytrace=False)
    return Path(path)


@pytest.fixture(scope="module")
def secrets_after_converge(ephemeral) -> dict:
    """Fingerprints of the Secrets written by converge.yml after the first converge."""
    path = ephemeral / "secrets-after-converge.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: converge.yml records it after the first converge", pytrace=False)
    return json.loads(path.read_text())

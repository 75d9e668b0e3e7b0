"""Bad input fails before anything is written, with a message naming the variable.

All cases run as hosts of one play in render mode: a host that passed validation
would write manifests into its own render directory, so an empty directory proves
the failure came first. The kubeconfig points at a closed port as a second guard."""

import pytest

from tests.support.ansible_run import run_playbook

GOOD = {"paperclip_host": "paperclip.example.com"}
LEAK = "ext-password-must-not-leak"

# host -> (variables, text the failure message must contain)
CASES = {
    "host-empty": ({"paperclip_host": ""}, "paperclip_host must be the public DNS name"),
    "host-scheme": ({"paperclip_host": "https://paperclip.example.com"}, "paperclip_host must be the public DNS name"),
    "name-upper": ({"paperclip_name": "Paperclip"}, "paperclip_name must be a DNS label"),
    "name-long": ({"paperclip_name": "p" * 45}, "paperclip_name must be a DNS label"),
    # 34 characters: <name>-bootstrap-rotation would be 53, over the API's CronJob limit of 52.
    "name-too-long-for-suffixes": ({"paperclip_name": "p" * 34}, "paperclip_name must be a DNS label of at most 33"),
    "host-unicode": ({"paperclip_host": "bücher.example.com"}, "paperclip_host must be the public DNS name"),
    "url-unicode": ({"paperclip_public_url": "https://bücher.example.com"}, "in its ASCII xn-- form"),
    "url-path": ({"paperclip_public_url": "https://paperclip.example.com/app"}, "paperclip_public_url must be"),
    "url-scheme": ({"paperclip_public_url": "ftp://paperclip.example.com"}, "paperclip_public_url must be"),
    "url-ip-with-ingress": ({"paperclip_public_url": "http://127.0.0.1:3100"}, "which an Ingress rule cannot"),
    "memory-unit": ({"paperclip_memory_limit": "1 GB"}, "paperclip_memory_limit must be a Kubernetes quantity"),
    "cpu-over-limit": ({"paperclip_cpu_request": "2", "paperclip_cpu_limit": "500m"}, "must not exceed paperclip_cpu_limit"),
    "extra-env-secret": ({"paperclip_extra_env": {"BETTER_AUTH_SECRET": "x"}}, "paperclip_extra_env keys must be"),
    "allowed-hostname": ({"paperclip_allowed_hostnames": ["bad host"]}, "paperclip_allowed_hostnames must be"),
    "platform": ({"paperclip_platform": "aws"}, "paperclip_platform"),
    "port-type": ({"paperclip_port": "http"}, "paperclip_port"),
    # Argument-spec errors of each role: deploy.yml imports the validate entry points with
    # rolespec_validate false, and each role's checks task validates the spec itself.
    "spec-postgres": ({"postgres_wait_timeout": "soon"}, "argument 'postgres_wait_timeout' is of type str"),
    "spec-storage": ({"storage_volume_access_mode": "ReadOnlyMany"}, "value of storage_volume_access_mode must be one of"),
    "spec-bootstrap": ({"bootstrap_job_timeout": "soon"}, "argument 'bootstrap_job_timeout' is of type str"),
    "spec-backup": ({"backup_retention": "many"}, "argument 'backup_retention' is of type str"),
    "issuer-without-tls": ({"paperclip_ingress_cert_manager_issuer": "le", "paperclip_ingress_tls_enabled": False},
                           "paperclip_ingress_cert_manager_issuer needs"),
    "pg-provider": ({"postgres_provider": "mysql"}, "postgres_provider"),
    "pg-external-none": ({"postgres_provider": "external"}, "postgres_provider=external needs exactly one of"),
    "pg-external-both": ({"postgres_provider": "external", "postgres_external_secret": "db",
                          "postgres_external_url": f"postgres://u:{LEAK}@db:5432/paperclip"},
                         "postgres_provider=external needs exactly one of"),
    "pg-external-dsn": ({"postgres_provider": "external", "postgres_external_url": f"mysql://u:{LEAK}@db/paperclip"},
                        "postgres_provider=external needs exactly one of"),
    "pg-database": ({"postgres_database": "Paper-clip"}, "postgres_database and postgres_username must be"),
    "pg-size": ({"postgres_storage_size": "big"}, "postgres_storage_size must be a Kubernetes quantity"),
    "kb-policy": ({"postgres_provider": "kubeblocks", "postgres_kubeblocks_termination_policy": "Keep"},
                  "postgres_kubeblocks_termination_policy"),
    "storage-provider": ({"storage_object_provider": "gcs"}, "storage_object_provider"),
    "s3-no-bucket": ({"storage_object_provider": "s3", "storage_s3_credentials_secret": "s3"}, "needs storage_s3_bucket"),
    "s3-bucket-upper": ({"storage_object_provider": "s3", "storage_s3_bucket": "Assets", "storage_s3_credentials_secret": "s3"},
                        "needs storage_s3_bucket"),
    "s3-endpoint": ({"storage_object_provider": "s3", "storage_s3_bucket": "assets", "storage_s3_credentials_secret": "s3",
                     "storage_s3_endpoint": "minio:9000"}, "storage_s3_endpoint empty"),
    "s3-no-credentials": ({"storage_object_provider": "s3", "storage_s3_bucket": "assets"}, "needs credentials"),
    "volume-size": ({"storage_volume_size": "lots"}, "storage_volume_size must be a Kubernetes quantity"),
    "volume-small": ({"storage_volume_size": "100Mi"}, "at least 256Mi"),
    "invite-hours": ({"bootstrap_invite_expires_hours": 1000}, "bootstrap_invite_expires_hours must be between 1 and 720"),
    "schedule": ({"bootstrap_rotation_schedule": "every day"}, "bootstrap_rotation_schedule must be empty or a cron"),
    # Image references: a digest is sha256 and 64 lowercase hex digits; paths are lowercase.
    "image-digest-short": ({"paperclip_image": "ghcr.io/paperclipai/paperclip@sha256:abc"},
                           "paperclip_image must be a container image reference"),
    "image-digest-algo": ({"postgres_image": "docker.io/library/postgres@md5:" + "a" * 32},
                          "postgres_image must be a container image reference"),
    "image-digest-upper-hex": ({"backup_client_image": "docker.io/library/postgres@sha256:" + "A" * 64},
                               "backup_client_image must be a container image reference"),
    "image-upper": ({"paperclip_image": "ghcr.io/PaperclipAI/paperclip:sha-b8725c5"},
                    "paperclip_image must be a container image reference"),
    "image-space": ({"postgres_client_image": "postgres 16"}, "postgres_client_image must be a container image reference"),
    "image-cnpg": ({"postgres_cnpg_image": "ghcr.io/cloudnative-pg/postgresql:"}, "postgres_cnpg_image must be a container image"),
    "image-client": ({"paperclip_client_image": "Postgres"}, "paperclip_client_image must be a container image reference"),
    "image-s3-check": ({"storage_s3_check_image": "https://ghcr.io/paperclipai/paperclip"},
                       "storage_s3_check_image (default: paperclip_image) must be a container image reference"),
    "image-bootstrap": ({"bootstrap_image": "ghcr.io/paperclipai/paperclip:@sha256:" + "0" * 64},
                        "bootstrap_image (default: paperclip_image) must be a container image reference"),
    "image-backup-s3": ({"backup_s3_image": "ghcr.io/paperclipai//paperclip"}, "backup_s3_image must be a container image reference"),
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad-input")
    hosts = {name: {**GOOD, **values, "paperclip_render_dir": str(work / "out" / name)}
             for name, (values, _message) in CASES.items()}
    rc, output, failures = run_playbook("deploy.yml", hosts, work)
    return work, rc, output, failures


def test_enough_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("host", sorted(CASES))
def test_fails_with_message_before_writing(outcome, host):
    work, rc, output, failures = outcome
    assert rc != 0
    assert host in failures, f"{host} did not fail:\n{output[-3000:]}"
    expected = CASES[host][1]
    assert expected in failures[host], f"{host}: expected {expected!r} in {failures[host]!r}"
    out_dir = work / "out" / host
    assert not out_dir.exists() or not any(out_dir.iterdir()), f"{host} wrote {list(out_dir.iterdir())}"


def test_no_secret_in_output(outcome):
    output = outcome[2]
    assert LEAK not in output

import time

import pytest

from ansible_collections.paperclip.kubernetes.plugins.test import image_reference as plugin
from ansible_collections.paperclip.kubernetes.plugins.test.image_reference import image_reference

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("value", [
    "ghcr.io/paperclipai/paperclip:sha-b8725c5",
    "docker.io/library/postgres:16.4-alpine",
    "ghcr.io/cloudnative-pg/postgresql:16.4",
    "postgres",
    "postgres:16",
    "library/postgres:16.4-alpine",
    f"ghcr.io/paperclipai/paperclip@{DIGEST}",
    f"ghcr.io/paperclipai/paperclip:sha-b8725c5@{DIGEST}",
    f"postgres@{DIGEST}",
    "localhost/paperclip-standin:20261129",  # the tests' stand-in images
    "localhost:5000/team/app:v1",
    "registry:5000/app",
    "Registry.Example.com/app:Tag_1.0-rc",  # registries and tags may have capitals; paths may not
    "[::1]:5000/app:1",
    "a/b__c/d-e.f:x",
    "app:" + "t" * 128,
])
def test_accepts_image_references(value):
    assert image_reference(value)


@pytest.mark.parametrize("value", [
    "",
    "ghcr.io/PaperclipAI/paperclip:1",  # uppercase path
    "Paperclip:1",
    "Library/postgres",  # no dot, colon or localhost: a path, and uppercase
    "postgres@sha256:abc",  # short digest
    "postgres@sha256:" + "A" * 64,  # uppercase hex
    "postgres@md5:" + "a" * 32,
    "postgres@sha512:" + "a" * 128,  # only sha256, see the plugin
    "postgres:16@",
    "postgres:16 ",
    "postgres:16\n",
    " postgres",
    "postgres:-16",  # a tag cannot start with '-'
    "app:" + "t" * 129,  # tag over 128 characters
    "a" + "/b" * 130,  # repository name over 255 characters
    "ghcr.io//paperclip",
    "ghcr.io/paperclip/",
    "https://ghcr.io/paperclip",
    "ghcr.io/paper--clip_/x",
    None,
    16,
    ["postgres"],
])
def test_rejects_what_a_runtime_would_refuse(value):
    assert not image_reference(value)


def test_no_catastrophic_backtracking():
    start = time.monotonic()
    assert not image_reference("a" * 200 + "." * 50 + "A")
    assert not image_reference("a-" * 2000 + "/")
    assert time.monotonic() - start < 1


def test_registered_as_a_jinja_test():
    assert plugin.TestModule().tests() == {"image_reference": image_reference}

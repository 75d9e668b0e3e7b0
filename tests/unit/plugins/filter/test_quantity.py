import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.paperclip.kubernetes.plugins.filter.quantity import is_quantity, quantity


@pytest.mark.parametrize("value,expected", [
    ("500m", 0.5), ("2", 2.0), (2, 2.0), ("1.5", 1.5), ("512Mi", 512 * 2 ** 20), ("1Gi", 2 ** 30),
    ("1G", 1e9), ("100k", 1e5), ("1e3", 1000.0), ("250u", 250e-6), (".5", 0.5), ("+1Ki", 1024.0),
])
def test_parses_kubernetes_quantities(value, expected):
    assert quantity(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["1 GB", "GB", "1gi", "lots", "", "1.2.3", "--1", True, None, "1Mb"])
def test_rejects_what_the_api_would_reject(value):
    assert not is_quantity(value)
    with pytest.raises(AnsibleFilterError, match="is not a Kubernetes quantity"):
        quantity(value)


def test_orders_cpu_and_memory():
    assert quantity("50m") < quantity("500m") < quantity("1")
    assert quantity("640Mi") < quantity("1Gi")

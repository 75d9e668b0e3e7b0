"""The cluster fixtures (kubeconfig, api_client, namespace) live in tests/support/cluster.py,
loaded for every suite by tests/conftest.py."""

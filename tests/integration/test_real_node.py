"""The real node of the local cluster (tests/cluster/node-up.sh): kubelet,
containerd and runc run the images built here; CNI bridge networking inside
198.18.0.0/15; kube-proxy Services; CoreDNS; and the confinement that keeps
every packet of it on this machine (checked on the rules, never by sending
traffic anywhere but to the cluster's own pods and loopback)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.cluster import wait_for

RESTRICTED_CONTAINER = client.V1SecurityContext(
    run_as_non_root=True, run_as_user=1000, run_as_group=1000, allow_privilege_escalation=False,
    capabilities=client.V1Capabilities(drop=["ALL"]), seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"))


@pytest.fixture(scope="module")
def node_env() -> dict[str, str]:
    """The real node's settings, exported by tests/cluster/with-cluster.sh."""
    keys = ("KCP_NODE_NAME", "KCP_NODE_IP", "KCP_BRIDGE", "KCP_CONFINED_CIDR", "KCP_DNS_IP", "KCP_STATE")
    missing = [k for k in keys if not os.environ.get(k)]
    if missing:
        pytest.fail(f"{missing} not set: run through tests/cluster/with-cluster.sh", pytrace=False)
    return {k: os.environ[k] for k in keys}


def run_pod(core: client.CoreV1Api, namespace: str, name: str, image: str, script: str,
            timeout: float = 120) -> tuple[client.V1Pod, str]:
    """Run `bash -c script` in a pod on the real node; its final state and its logs
    (read through the API server from the kubelet)."""
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            restart_policy="Never",
            automount_service_account_token=False,
            containers=[client.V1Container(name="main", image=image, image_pull_policy="Never",
                                           command=["bash", "-c", script], security_context=RESTRICTED_CONTAINER)],
        )))
    pod = wait_for(f"pod {name} to finish", lambda: (
        p if (p := core.read_namespaced_pod(name, namespace)).status.phase in ("Succeeded", "Failed") else None),
        timeout=timeout)
    return pod, core.read_namespaced_pod_log(name, namespace, container="main")


def test_one_real_node_is_ready_with_containerd(api_client, node_env):
    core = client.CoreV1Api(api_client)
    node = core.read_node(node_env["KCP_NODE_NAME"])
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    info = node.status.node_info
    assert info.container_runtime_version.startswith("containerd://"), info
    assert info.kubelet_version == client.VersionApi(api_client).get_code().git_version
    assert "kwok.x-k8s.io/node" not in (node.metadata.annotations or {})
    assert {"type": "InternalIP", "address": node_env["KCP_NODE_IP"]} in [a.to_dict() for a in node.status.addresses]
    # The kubelet answering for it is our process, built from the Go module proxy.
    pid = (Path(node_env["KCP_STATE"]) / "node" / "pids" / "kubelet.pid").read_text().strip()
    assert os.readlink(f"/proc/{pid}/exe").endswith("/kubelet")
    # Pods land on it by default: the KWOK node is tainted.
    kwok = core.read_node("kwok-node-0")
    assert [t.key for t in kwok.spec.taints] == ["kwok.x-k8s.io/node"]


def test_pod_from_a_local_image_runs_and_logs_come_from_the_kubelet(api_client, namespace, images, node_env):
    core = client.CoreV1Api(api_client)
    pod, logs = run_pod(core, namespace, "hello", images["debian-standin"],
                        'echo "hello from $(hostname) as $(id -u):$(id -g)"; head -c 6 /etc/debian_version; echo')
    assert pod.status.phase == "Succeeded", pod.status
    assert pod.spec.node_name == node_env["KCP_NODE_NAME"]
    assert logs.splitlines()[0] == "hello from hello as 1000:1000", logs
    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(node_env["KCP_CONFINED_CIDR"])
    # The container really ran: its exit code and image digest come from containerd.
    term = pod.status.container_statuses[0].state.terminated
    assert term.exit_code == 0 and term.reason == "Completed"
    assert pod.status.container_statuses[0].image_id.startswith("sha256:") or "@sha256:" in pod.status.container_statuses[0].image_id


def test_failing_command_fails_the_pod(api_client, namespace, images):
    core = client.CoreV1Api(api_client)
    pod, logs = run_pod(core, namespace, "fails", images["debian-standin"], "echo about to fail >&2; exit 3")
    assert pod.status.phase == "Failed"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 3
    assert "about to fail" in logs


def test_service_gets_endpoints_and_resolves_through_coredns(api_client, namespace, images, node_env):
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    labels = {"app": "web"}
    server = "require('http').createServer((q, r) => r.end('served by ' + require('os').hostname())).listen(8080)"
    apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(automount_service_account_token=False, containers=[client.V1Container(
                    name="web", image=images["paperclip-standin"], image_pull_policy="Never",
                    command=["node", "-e", server], security_context=RESTRICTED_CONTAINER,
                    readiness_probe=client.V1Probe(tcp_socket=client.V1TCPSocketAction(port=8080), period_seconds=1),
                )])))))
    core.create_namespaced_service(namespace, client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(selector=labels, ports=[client.V1ServicePort(port=80, target_port=8080)])))
    discovery = client.DiscoveryV1Api(api_client)

    def ready_endpoints():
        slices = discovery.list_namespaced_endpoint_slice(namespace, label_selector="kubernetes.io/service-name=web")
        return [a for s in slices.items for e in (s.endpoints or []) if e.conditions.ready for a in e.addresses]
    (address,) = wait_for("an endpoint of Service web", ready_endpoints, timeout=90)
    assert ipaddress.ip_address(address) in ipaddress.ip_network(node_env["KCP_CONFINED_CIDR"])
    cluster_ip = core.read_namespaced_service("web", namespace).spec.cluster_ip
    # A client pod: the name through CoreDNS, the ClusterIP through kube-proxy.
    script = (f"getent hosts web.{namespace}.svc.cluster.local; getent hosts web || echo short-name-failed; "
              "exec 3<>/dev/tcp/web/80 && printf 'GET / HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n' >&3 && tail -n 1 <&3; echo; "
              "getent hosts paperclip.example.com || echo external-name-not-found; cat /etc/resolv.conf")
    pod, logs = run_pod(core, namespace, "client", images["debian-standin"], script)
    assert pod.status.phase == "Succeeded", logs
    lines = logs.splitlines()
    assert lines[0].split() == [cluster_ip, f"web.{namespace}.svc.cluster.local"], logs
    assert lines[1].split()[0] == cluster_ip, logs
    assert lines[2].startswith("served by web-"), logs
    # Names outside the cluster are not resolved: CoreDNS forwards nothing upstream.
    assert "external-name-not-found" in logs
    assert f"nameserver {node_env['KCP_DNS_IP']}" in logs


@pytest.mark.namespace_labels({"pod-security.kubernetes.io/enforce": "restricted"})
def test_restricted_namespace_rejects_a_privileged_pod_and_admits_ours(api_client, namespace, images):
    core = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(namespace, client.V1Pod(
            metadata=client.V1ObjectMeta(name="priv"),
            spec=client.V1PodSpec(containers=[client.V1Container(
                name="priv", image=images["debian-standin"], security_context=client.V1SecurityContext(privileged=True))])))
    assert err.value.status == 403 and "violates PodSecurity" in json.loads(err.value.body)["message"]
    pod, logs = run_pod(core, namespace, "ok", images["debian-standin"], "id -u")
    assert pod.status.phase == "Succeeded" and logs.strip() == "1000"


def test_an_accidental_pull_fails_at_once_on_the_closed_loopback_port(api_client, namespace):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="nopull"),
        spec=client.V1PodSpec(containers=[client.V1Container(
            name="main", image="localhost/never-built:1", image_pull_policy="IfNotPresent")])))

    def pull_error():
        for ev in core.list_namespaced_event(namespace, field_selector="involvedObject.name=nopull").items:
            if ev.reason == "Failed" and "127.0.0.1:9" in ev.message:
                return ev.message
        return None
    msg = wait_for("the pull to fail", pull_error, timeout=60)
    assert "connection refused" in msg, msg


def _iptables(*args: str) -> str:
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=True).stdout


def test_nothing_from_the_bridge_can_leave_the_machine(node_env):
    bridge = node_env["KCP_BRIDGE"]
    # Our chain is the first rule of the mangle table's FORWARD (which the kernel
    # runs before the filter table's, where kube-proxy inserts its rules) and drops
    # whatever the bridge would forward to, or receive from, another interface.
    forward = _iptables("-t", "mangle", "-S", "FORWARD").splitlines()
    assert forward[1] == "-A FORWARD -j PAPERCLIP-KCP-FWD", forward
    assert _iptables("-t", "mangle", "-S", "PAPERCLIP-KCP-FWD").splitlines()[1:] == [
        f"-A PAPERCLIP-KCP-FWD -i {bridge} -o {bridge} -j RETURN",
        f"-A PAPERCLIP-KCP-FWD -i {bridge} -j DROP",
        f"-A PAPERCLIP-KCP-FWD -o {bridge} -j DROP",
    ]
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"  # so the DROP is what matters
    # No address translation of pod traffic leaving by another interface: our nat
    # rule ends POSTROUTING for it first. The only MASQUERADE is kube-proxy's, for
    # packets it marked itself (hairpin Service traffic, which stays on the bridge).
    nat = _iptables("-t", "nat", "-S").splitlines()
    postrouting = [r for r in nat if r.startswith("-A POSTROUTING")]
    assert postrouting[0] == "-A POSTROUTING -j PAPERCLIP-KCP-FWD", postrouting
    assert [r for r in nat if r.startswith("-A PAPERCLIP-KCP-FWD")] == [
        f"-A PAPERCLIP-KCP-FWD -s {node_env['KCP_CONFINED_CIDR']} ! -o {bridge} -j ACCEPT"]
    masq = [r for r in nat if "MASQUERADE" in r or "SNAT" in r]
    assert masq and all(r.startswith("-A KUBE-POSTROUTING") for r in masq), masq
    assert [r for r in nat if r.startswith("-A KUBE-POSTROUTING")][0] == \
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
    conflist = json.loads((Path(node_env["KCP_STATE"]) / "node/cni/net.d/10-paperclip.conflist").read_text())
    bridge_conf = conflist["plugins"][0]
    assert bridge_conf["ipMasq"] is False and bridge_conf["isDefaultGateway"] is False
    assert bridge_conf["ipam"]["routes"] == [{"dst": node_env["KCP_CONFINED_CIDR"]}]
    # containerd sends every registry request to a closed loopback port.
    hosts = (Path(node_env["KCP_STATE"]) / "node/containerd/certs.d/_default/hosts.toml").read_text()
    assert 'server = "http://127.0.0.1:9"' in hosts and '[host."http://127.0.0.1:9"]' in hosts


def test_pods_have_no_default_route_and_coredns_forwards_nothing(api_client, namespace, images, node_env):
    core = client.CoreV1Api(api_client)
    pod, logs = run_pod(core, namespace, "routes", images["debian-standin"], "cat /proc/net/route")
    destinations = [line.split()[1] for line in logs.splitlines()[1:] if line.strip()]
    assert "00000000" not in destinations, logs
    corefile = core.read_namespaced_config_map("coredns", "kube-system").data["Corefile"]
    directives = [line.split()[0] for line in corefile.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert "kubernetes" in directives and "forward" not in directives and "proxy" not in directives, directives

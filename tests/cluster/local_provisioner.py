"""A local-volume provisioner for the real node of the test cluster.

Why: kube-controller-manager's in-tree hostPath provisioner makes root-owned
0750 directories, and the kubelet never applies a pod's fsGroup to hostPath
volumes, so a non-root PostgreSQL or Paperclip could not write to them. A cloud
disk, like a `local` PersistentVolume, does get the fsGroup ownership. So this
process gives every claim of its StorageClass a directory under --root and a
`local` PV pinned to the real node, the way sig-storage's local-path style
provisioners do; the kubelet then applies fsGroup as on a real cluster.

It polls the API once a second (a test harness: no leader election, no
events), provisions claims that the PV controller hands to it (annotation
volume.kubernetes.io/storage-provisioner), and deletes the directory and the
PV once a PV with reclaim policy Delete is Released. Started and stopped by
tests/cluster/node-up.sh / node-down.sh.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.rest import ApiException

PROVISIONER = "paperclip.test/local-dir"
ANNOTATION = "volume.kubernetes.io/storage-provisioner"


def provision(core: client.CoreV1Api, storage: client.StorageV1Api, root: Path, node: str,
              pvc: client.V1PersistentVolumeClaim) -> None:
    name = f"pvc-{pvc.metadata.uid}"
    sc = storage.read_storage_class(pvc.spec.storage_class_name)
    path = root / name
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    pv = client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=name, annotations={"pv.kubernetes.io/provisioned-by": PROVISIONER}),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": pvc.spec.resources.requests["storage"]},
            access_modes=pvc.spec.access_modes,
            persistent_volume_reclaim_policy=sc.reclaim_policy or "Delete",
            storage_class_name=sc.metadata.name,
            volume_mode=pvc.spec.volume_mode or "Filesystem",
            local=client.V1LocalVolumeSource(path=str(path)),
            claim_ref=client.V1ObjectReference(namespace=pvc.metadata.namespace, name=pvc.metadata.name,
                                               uid=pvc.metadata.uid),
            node_affinity=client.V1VolumeNodeAffinity(required=client.V1NodeSelector(node_selector_terms=[
                client.V1NodeSelectorTerm(match_expressions=[client.V1NodeSelectorRequirement(
                    key="kubernetes.io/hostname", operator="In", values=[node])])])),
        ))
    try:
        core.create_persistent_volume(pv)
        print(f"provisioned {name} for {pvc.metadata.namespace}/{pvc.metadata.name} at {path}", flush=True)
    except ApiException as exc:
        if exc.status != 409:
            raise


def reclaim(core: client.CoreV1Api, root: Path, pv: client.V1PersistentVolume) -> None:
    path = Path(pv.spec.local.path)
    if path.parent == root:  # never remove anything outside our root
        shutil.rmtree(path, ignore_errors=True)
    try:
        core.delete_persistent_volume(pv.metadata.name)
        print(f"deleted {pv.metadata.name} and {path}", flush=True)
    except ApiException as exc:
        if exc.status != 404:
            raise


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--node", required=True)
    args = ap.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    api = config.new_client_from_config(config_file=args.kubeconfig)
    core, storage = client.CoreV1Api(api), client.StorageV1Api(api)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        try:
            for pvc in core.list_persistent_volume_claim_for_all_namespaces().items:
                ours = (pvc.metadata.annotations or {}).get(ANNOTATION) == PROVISIONER
                if ours and pvc.status.phase == "Pending" and not pvc.spec.volume_name:
                    provision(core, storage, args.root, args.node, pvc)
            for pv in core.list_persistent_volume().items:
                ours = (pv.metadata.annotations or {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER
                if ours and pv.status.phase == "Released" and pv.spec.persistent_volume_reclaim_policy == "Delete":
                    reclaim(core, args.root, pv)
        except Exception as exc:  # noqa: BLE001 - keep serving; the API server may be restarting
            print(f"error: {exc}", file=sys.stderr, flush=True)
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())

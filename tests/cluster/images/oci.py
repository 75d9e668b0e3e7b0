"""Write an OCI image archive (oci-layout, index.json, blobs/sha256/...) from
root filesystem directories, with the standard library only.

    oci.py --out IMG.tar --ref localhost/name:tag --config '{"Cmd": ["/bin/sh"]}' \
        --layer ROOTFS [--diff-layer LOWER UPPER] [--chown /app=1000:1000]
    oci.py --out IMG.tar --ref localhost/other:tag --from SRC.tar --config '{"Cmd": [...]}' \
        [--env NAME=VALUE]

Each --layer DIR becomes one uncompressed tar layer holding every entry of DIR.
Each --diff-layer LOWER UPPER becomes one layer holding what UPPER adds or
changes compared with LOWER (type, mode, owner, size, mtime, link target), plus
.wh. whiteouts for what it removes. Layers stack in the order given.
Ownership (uid/gid) and modes come from the directories; symlinks and
hardlinks are kept, and so are file capabilities (security.capability);
device nodes and sockets are skipped (the runtime makes /dev). --chown PREFIX=UID:GID overrides the owner of PREFIX and everything
under it (paths as seen in the image). Output is deterministic: same trees,
same digests, so a base layer shared by several images has one digest.
The index carries io.containerd.image.name (the full ref) and
org.opencontainers.image.ref.name (the tag), which `ctr images import` uses.

--from SRC.tar derives an image from another archive of this kind (one manifest):
its layer blobs are copied byte for byte (same digests), and --config then lists the
keys of the image config to set (a null value removes the key) and each --env NAME=VALUE
sets one variable in its Env; the rest of the config (Env, User, WorkingDir, ...) is
the source's. Nothing is unpacked or rebuilt.
"""
import argparse
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import tempfile

BUF = 1 << 20
EPOCH = "1970-01-01T00:00:00Z"


class HashWriter:
    """A file wrapper that hashes and counts what is written through it."""

    def __init__(self, f):
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        return self.f.write(b)

    def tell(self):
        return self.n

    def flush(self):
        self.f.flush()


def walk(root):
    """Yield (relpath, lstat) for every entry under root (not following symlinks)."""
    stack = [""]
    while stack:
        rel = stack.pop()
        full = os.path.join(root, rel) if rel else root
        st = os.lstat(full)
        if rel:
            yield rel, st
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(full), reverse=True):
                stack.append(os.path.join(rel, name) if rel else name)


def listing(root):
    out = {}
    for rel, st in walk(root):
        out[rel] = st
    return out


def same(a, b, root_a, root_b, rel):
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
        return False
    if (a.st_mode, a.st_uid, a.st_gid) != (b.st_mode, b.st_uid, b.st_gid):
        return False
    if stat.S_ISDIR(a.st_mode):
        return True
    if stat.S_ISLNK(a.st_mode):
        return os.readlink(os.path.join(root_a, rel)) == os.readlink(os.path.join(root_b, rel))
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


class Owners:
    def __init__(self, specs):
        self.rules = []
        for spec in specs:
            prefix, ids = spec.split("=", 1)
            uid, gid = (ids.split(":", 1) + [""])[:2]
            self.rules.append((prefix.strip("/"), int(uid), int(gid or uid)))

    def apply(self, ti):
        for prefix, uid, gid in self.rules:
            if ti.name == prefix or ti.name.startswith(prefix + "/"):
                ti.uid, ti.gid = uid, gid


# Extended attributes kept in layers (as PAX SCHILY.xattr records, which
# containerd applies): file capabilities only, e.g. cap_net_bind_service.
XATTRS = ("security.capability",)


def tarinfo(rel, st, full):
    ti = tarfile.TarInfo(rel)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    if stat.S_ISREG(st.st_mode):
        for name in XATTRS:
            try:
                value = os.getxattr(full, name, follow_symlinks=False)
            except OSError:
                continue
            # Raw bytes survive as surrogates; tarfile then writes hdrcharset=BINARY.
            ti.pax_headers["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return ti


def write_layer(out, root, entries, whiteouts, owners):
    """Write a layer tar of `entries` ([(rel, lstat)] from root) to file out.
    Returns (digest, size)."""
    hw = HashWriter(out)
    seen_inodes = {}
    skipped = 0
    with tarfile.open(fileobj=hw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        tf.copybufsize = BUF
        items = [(rel, st, False) for rel, st in entries]
        items += [(rel, None, True) for rel in whiteouts]
        items.sort(key=lambda x: x[0].split("/"))
        for rel, st, is_wh in items:
            if is_wh:
                d, b = os.path.split(rel)
                ti = tarfile.TarInfo(os.path.join(d, ".wh." + b))
                ti.mode, ti.uname, ti.gname = 0o644, "", ""
                tf.addfile(ti)
                continue
            full = os.path.join(root, rel)
            ti = tarinfo(rel, st, full)
            owners.apply(ti)
            m = st.st_mode
            if stat.S_ISDIR(m):
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            elif stat.S_ISLNK(m):
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(full)
                tf.addfile(ti)
            elif stat.S_ISREG(m):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    ti.type = tarfile.LNKTYPE
                    ti.linkname = seen_inodes[key]
                    tf.addfile(ti)
                    continue
                if st.st_nlink > 1:
                    seen_inodes[key] = rel
                ti.size = st.st_size
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            elif stat.S_ISFIFO(m):
                ti.type = tarfile.FIFOTYPE
                tf.addfile(ti)
            else:
                skipped += 1  # character/block devices, sockets
    if skipped:
        print(f"oci.py: {root}: skipped {skipped} device node(s)/socket(s)", file=sys.stderr)
    return "sha256:" + hw.h.hexdigest(), hw.n


def plain_entries(root):
    return list(walk(root)), []


def diff_entries(lower, upper):
    lo, up = listing(lower), listing(upper)
    entries = [(rel, st) for rel, st in up.items()
               if rel not in lo or not same(lo[rel], st, lower, upper, rel)]
    gone = [rel for rel in lo if rel not in up]
    gone_set = set(gone)
    # Only the topmost removed path needs a whiteout.
    whiteouts = [rel for rel in gone if os.path.dirname(rel) not in gone_set]
    return entries, whiteouts


def add_bytes(tf, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.uname, ti.gname = len(data), 0o644, "", ""
    tf.addfile(ti, io.BytesIO(data))


def blob(obj):
    data = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def read_source(path):
    """The config and layer blobs of the one image in OCI archive `path`.
    Returns (open tarfile, config dict, [(member, digest, size)] of its layers)."""
    tf = tarfile.open(path, "r:")
    members = {m.name: m for m in tf.getmembers()}

    def load(name):
        f = tf.extractfile(members[name])
        return json.loads(f.read())

    def blob_name(digest):
        return "blobs/sha256/" + digest.split(":", 1)[1]

    index = load("index.json")
    if len(index["manifests"]) != 1:
        sys.exit(f"oci.py: {path}: want one manifest, found {len(index['manifests'])}")
    manifest = load(blob_name(index["manifests"][0]["digest"]))
    config = load(blob_name(manifest["config"]["digest"]))
    layers = []
    for desc in manifest["layers"]:
        m = members[blob_name(desc["digest"])]
        if m.size != desc["size"]:
            sys.exit(f"oci.py: {path}: layer {desc['digest']} is {m.size} bytes, manifest says {desc['size']}")
        layers.append((m, desc["digest"], desc["size"]))
    return tf, config, layers


def write_archive(out, ref, arch, config, layers):
    """Write the OCI archive `out` for image config dict `config` and its layer
    blobs `layers`: [(open binary file, digest, size)] in stacking order."""
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
    cdigest, cdata = blob(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cdigest, "size": len(cdata)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest, "size": size} for _path, digest, size in layers],
    }
    mdigest, mdata = blob(manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdigest, "size": len(mdata),
            "platform": {"architecture": arch, "os": "linux"},
            "annotations": {"io.containerd.image.name": ref,
                            "org.opencontainers.image.ref.name": tag},
        }],
    }
    tmp_out = out + ".tmp"
    try:
        with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as tf:
            tf.copybufsize = BUF
            add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            for d in ("blobs", "blobs/sha256"):
                ti = tarfile.TarInfo(d)
                ti.type, ti.mode, ti.uname, ti.gname = tarfile.DIRTYPE, 0o755, "", ""
                tf.addfile(ti)
            written = set()
            for f, digest, size in layers:
                if digest in written:
                    continue
                written.add(digest)
                ti = tarfile.TarInfo("blobs/sha256/" + digest.split(":")[1])
                ti.size, ti.mode, ti.uname, ti.gname = size, 0o644, "", ""
                tf.addfile(ti, f)
            add_bytes(tf, "blobs/sha256/" + cdigest.split(":")[1], cdata)
            add_bytes(tf, "blobs/sha256/" + mdigest.split(":")[1], mdata)
            add_bytes(tf, "index.json", json.dumps(index, indent=2).encode())
        os.replace(tmp_out, out)
    finally:
        if os.path.exists(tmp_out):
            os.unlink(tmp_out)
    print(f"oci.py: {ref}: {len(layers)} layer(s), manifest {mdigest}", file=sys.stderr)


def derive(a):
    """--from: the source archive's layers, byte for byte, under a new ref, with
    --config's keys set in (null: removed from) the source image's config."""
    tf, config, layers = read_source(a.source)
    with tf:
        changes = json.loads(a.config)
        src_ref = json.loads(tf.extractfile("index.json").read())["manifests"][0].get(
            "annotations", {}).get("io.containerd.image.name", os.path.basename(a.source))
        image_config = dict(config.get("config") or {})
        for k, v in changes.items():
            if v is None:
                image_config.pop(k, None)
            else:
                image_config[k] = v
        for spec in a.env:
            name = spec.split("=", 1)[0] + "="
            image_config["Env"] = [e for e in image_config.get("Env") or [] if not e.startswith(name)] + [spec]
        config["config"] = image_config
        # An empty layer's history entry: the diff_ids stay those of the source.
        config["history"] = list(config.get("history") or []) + [{
            "created": EPOCH, "empty_layer": True,
            "created_by": "oci.py --from " + src_ref + ": config keys " + ", ".join(
                sorted(set(changes) | ({"Env"} if a.env else set())))}]
        opened = [(tf.extractfile(m), digest, size) for m, digest, size in layers]
        write_archive(a.out, a.ref, config.get("architecture", a.arch), config, opened)


class LayerAction(argparse.Action):
    def __call__(self, parser, ns, values, option_string=None):
        layers = getattr(ns, "layers", None) or []
        if option_string == "--layer":
            layers.append((None, values))
        else:
            layers.append((values[0], values[1]))
        ns.layers = layers


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--out", required=True)
    p.add_argument("--ref", required=True, help="full image ref, e.g. localhost/x:1")
    p.add_argument("--config", default="{}", help="image config JSON (Entrypoint, Cmd, Env, ...); "
                   "with --from, the keys to change in the source's config (null removes one)")
    p.add_argument("--layer", action=LayerAction, metavar="DIR")
    p.add_argument("--diff-layer", action=LayerAction, nargs=2, metavar=("LOWER", "UPPER"))
    p.add_argument("--from", dest="source", metavar="ARCHIVE",
                   help="derive from this OCI archive: same layers, changed config")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="with --from: set NAME in the source's Env (replacing it if there)")
    p.add_argument("--chown", action="append", default=[], metavar="PREFIX=UID:GID")
    p.add_argument("--arch", default="amd64")
    a = p.parse_args()
    layers = getattr(a, "layers", None)
    if a.source:
        if layers or a.chown:
            p.error("--from takes no --layer, --diff-layer or --chown")
        derive(a)
        return
    if a.env:
        p.error("--env goes with --from")
    if not layers:
        p.error("at least one --layer or --diff-layer (or --from)")
    owners = Owners(a.chown)
    image_config = json.loads(a.config)

    outdir = os.path.dirname(os.path.abspath(a.out))
    tmps = []
    try:
        descs, diff_ids, history = [], [], []
        for lower, upper in layers:
            if lower is None:
                entries, whiteouts = plain_entries(upper)
            else:
                entries, whiteouts = diff_entries(lower, upper)
            t = tempfile.NamedTemporaryFile(dir=outdir, prefix=".layer-", delete=False)
            tmps.append(t.name)
            with t:
                digest, size = write_layer(t, upper, entries, whiteouts, owners)
            descs.append((t.name, digest, size))
            diff_ids.append(digest)
            history.append({"created": EPOCH, "created_by": "oci.py " + (
                f"diff {os.path.basename(lower)} -> {os.path.basename(upper)}" if lower
                else f"layer {os.path.basename(upper)}")})
        config = {
            "created": EPOCH, "architecture": a.arch, "os": "linux",
            "config": image_config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }
        files = [open(path, "rb") for path, _digest, _size in descs]
        try:
            write_archive(a.out, a.ref, a.arch, config,
                          [(f, digest, size) for f, (_path, digest, size) in zip(files, descs)])
        finally:
            for f in files:
                f.close()
    finally:
        for t in tmps:
            if os.path.exists(t):
                os.unlink(t)


if __name__ == "__main__":
    main()

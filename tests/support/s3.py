"""A small S3 client for the tests: the AWS SDK v3 of the Paperclip npm install
(tests/paperclip/install.sh), run by its Node, against an S3 server on loopback
(a port-forward to the versitygw pod of the local cluster). Python's boto3 is not
used: botocore pins python-dateutil < 3, which the kubernetes client refuses."""

import json
import subprocess

from tests.support import paperclip as pc

SCRIPT = r"""
const [appDir, endpoint, op, argsJson] = process.argv.slice(1);
const s3 = require(require("path").join(appDir, "node_modules/@aws-sdk/client-s3"));
const client = new s3.S3Client({ endpoint, region: "us-east-1", forcePathStyle: true });
const a = JSON.parse(argsJson);
(async () => {
  try {
    if (op === "createBucket") await client.send(new s3.CreateBucketCommand({ Bucket: a.bucket }));
    if (op === "list") {
      const out = [];
      let token;
      do {
        const page = await client.send(new s3.ListObjectsV2Command({ Bucket: a.bucket, Prefix: a.prefix, ContinuationToken: token }));
        for (const o of page.Contents || []) out.push({ key: o.Key, size: o.Size });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      console.log(JSON.stringify(out));
      return;
    }
    if (op === "get") {
      const got = await client.send(new s3.GetObjectCommand({ Bucket: a.bucket, Key: a.key }));
      console.log(JSON.stringify({ hex: Buffer.from(await got.Body.transformToByteArray()).toString("hex") }));
      return;
    }
    console.log("{}");
  } catch (err) {
    console.log(JSON.stringify({ error: err.name, status: err.$metadata?.httpStatusCode, message: err.message }));
    process.exitCode = 3;
  }
})();
"""


class S3:
    def __init__(self, endpoint: str, access_key: str, secret_key: str):
        self.install = pc.install()
        self.endpoint = endpoint
        self.env = {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key, "PATH": "/usr/bin:/bin"}

    def _run(self, op: str, **args):
        proc = subprocess.run([self.install.node, "-e", SCRIPT, self.install.app_dir, self.endpoint, op, json.dumps(args)],
                              capture_output=True, text=True, timeout=60, env=self.env, check=False)
        out = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
        if proc.returncode != 0:
            raise RuntimeError(f"S3 {op} {args}: {out or proc.stderr[-2000:]}")
        return out

    def create_bucket(self, bucket: str):
        self._run("createBucket", bucket=bucket)

    def list(self, bucket: str, prefix: str = "") -> list[dict]:
        return self._run("list", bucket=bucket, prefix=prefix)

    def get(self, bucket: str, key: str) -> bytes:
        return bytes.fromhex(self._run("get", bucket=bucket, key=key)["hex"])

// Deploy-time check of the app's S3 settings, with the same environment the app gets:
// the bucket answers, the prefix can be listed, and an object can be written and
// deleted under it. Paperclip itself would only fail at the first upload, with a bare
// HTTP 500. The last line is S3_CHECK_OK or S3_CHECK_FAILED <what to fix>.
import { createRequire } from "node:module";

const env = process.env;
const bucket = env.PAPERCLIP_STORAGE_S3_BUCKET;
const prefix = (env.PAPERCLIP_STORAGE_S3_PREFIX || "").replace(/^\/+|\/+$/g, "");
const where = `s3://${bucket}/${prefix ? prefix + "/" : ""} at ${env.PAPERCLIP_STORAGE_S3_ENDPOINT || "AWS"}`;
const fail = (why) => {
  console.log(`S3_CHECK_FAILED ${why}`);
  process.exit(1);
};
let s3;
try {
  s3 = createRequire("/app/server/package.json")("@aws-sdk/client-s3");
} catch (err) {
  fail(`this image has no @aws-sdk/client-s3 under /app/server (set storage_s3_check_image): ${err.message}`);
}
const client = new s3.S3Client({
  region: env.PAPERCLIP_STORAGE_S3_REGION || "us-east-1",
  endpoint: env.PAPERCLIP_STORAGE_S3_ENDPOINT || undefined,
  forcePathStyle: env.PAPERCLIP_STORAGE_S3_FORCE_PATH_STYLE === "true",
});
function explain(step, err) {
  const name = err?.name || "Error";
  const status = err?.$metadata?.httpStatusCode;
  const hints = {
    NoSuchBucket: `bucket ${bucket} does not exist: create it or fix storage_s3_bucket`,
    InvalidAccessKeyId: "the access key id is unknown: check storage_s3_access_key_id (or the Secret in storage_s3_credentials_secret)",
    XAdminUserNotFound: "the access key id is unknown: check storage_s3_access_key_id (or the Secret in storage_s3_credentials_secret)",
    SignatureDoesNotMatch: "the secret access key is wrong: check storage_s3_secret_access_key (or the Secret in storage_s3_credentials_secret)",
    AccessDenied: "the key may not use this bucket and prefix: check its policy",
  };
  const hint = hints[name] || (status === 403 ? hints.AccessDenied : status === 404 ? hints.NoSuchBucket : err?.message);
  return `${step} ${where} failed with ${name}${status ? ` (HTTP ${status})` : ""}: ${hint}`;
}
const probe = `${prefix ? prefix + "/" : ""}.paperclip-kubernetes-check`;
const steps = [
  ["listing", () => client.send(new s3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix ? `${prefix}/` : undefined, MaxKeys: 1 }))],
  ["writing to", () => client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: probe, Body: "ok" }))],
  ["deleting from", () => client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: probe }))],
];
for (const [step, run] of steps) {
  try {
    await run();
  } catch (err) {
    fail(explain(step, err));
  }
}
console.log(`S3_CHECK_OK ${where} can be listed, written and deleted from`);

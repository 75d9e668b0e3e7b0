// S3 step of the backup and restore Jobs, run by Node in Paperclip's image with the
// AWS SDK v3 that Paperclip itself uses for S3 storage.
//   upload: put /backups/<name> (name in /backups/.latest-name) under S3_PREFIX and keep
//           the newest RETENTION dumps of its kind; last line BACKUP_OK ... or BACKUP_FAILED ...
//   fetch:  resolve RESTORE_FROM (latest, pre-upgrade, pre-restore or a file name) in the
//           bucket and download it to /backups; RESTORE_FAILED ... when it cannot.
// Env: S3_BUCKET S3_PREFIX S3_REGION S3_ENDPOINT S3_FORCE_PATH_STYLE INSTANCE RETENTION
// LABEL RESTORE_FROM, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (from a Secret).
import { createRequire } from "node:module";
import { createReadStream, createWriteStream, readFileSync, statSync } from "node:fs";
import { pipeline } from "node:stream/promises";

const env = process.env;
const mode = process.argv[1];
const tag = mode === "upload" ? "BACKUP" : "RESTORE";
const fail = (code, why) => {
  console.log(`${tag}_FAILED ${why}`);
  process.exit(code);
};
let s3;
try {
  // Resolved from the server's package, where the image keeps its dependencies.
  s3 = createRequire("/app/server/package.json")("@aws-sdk/client-s3");
} catch (err) {
  fail(4, `this image has no @aws-sdk/client-s3 under /app/server (set backup_s3_image): ${err.message}`);
}
const client = new s3.S3Client({
  region: env.S3_REGION || "us-east-1",
  endpoint: env.S3_ENDPOINT || undefined,
  forcePathStyle: env.S3_FORCE_PATH_STYLE === "true",
});
const bucket = env.S3_BUCKET;
const prefix = (env.S3_PREFIX || "").replace(/^\/+|\/+$/g, "");
const keyOf = (name) => (prefix ? `${prefix}/${name}` : name);
const where = `s3://${bucket}/${prefix ? prefix + "/" : ""}`;

// A message an operator can act on, never a credential.
function explain(err) {
  const name = err?.name || "Error";
  const status = err?.$metadata?.httpStatusCode;
  const hints = {
    NoSuchBucket: `bucket ${bucket} does not exist: create it or fix backup_s3_bucket`,
    InvalidAccessKeyId: "the access key id is not known to the S3 server: check backup_s3_credentials_secret",
    XAdminUserNotFound: "the access key id is not known to the S3 server: check backup_s3_credentials_secret",
    SignatureDoesNotMatch: "the secret access key is wrong: check backup_s3_credentials_secret",
    AccessDenied: `the credentials may not use ${where}: check the key's policy`,
  };
  const refused = `the S3 server refused the credentials (a wrong key, or no permission on ${where}): `
    + "check backup_s3_credentials_secret and the key's policy";
  const hint = hints[name] || (status === 403 ? refused : "");
  return `${name}${status ? ` (HTTP ${status})` : ""} at ${env.S3_ENDPOINT || "AWS"}: ${hint || err?.message || err}`;
}

async function listNames(pattern) {
  const names = [];
  let token;
  do {
    const page = await client.send(new s3.ListObjectsV2Command({
      Bucket: bucket, Prefix: prefix ? `${prefix}/` : undefined, ContinuationToken: token,
    }));
    for (const o of page.Contents || []) {
      const name = o.Key.slice(prefix ? prefix.length + 1 : 0);
      if (pattern.test(name)) names.push(name);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return names.sort();
}

const kind = (p) => new RegExp(`^${p.replace(/[.]/g, "[.]")}[0-9]{8}T[0-9]{6}Z[.]dump$`);

async function upload() {
  const name = readFileSync("/backups/.latest-name", "utf8").trim();
  const file = `/backups/${name}`;
  const bytes = statSync(file).size;
  const mine = kind(`${env.INSTANCE}-${env.LABEL ? env.LABEL + "-" : ""}`);
  // A listing first: its error names the problem (bucket, key, secret) precisely,
  // where a refused streaming upload often comes back as a bare 403.
  try {
    await listNames(mine);
  } catch (err) {
    fail(1, `cannot list ${where}, so ${name} was not uploaded: ${explain(err)}`);
  }
  try {
    await client.send(new s3.PutObjectCommand({
      Bucket: bucket, Key: keyOf(name), Body: createReadStream(file), ContentLength: bytes,
      ContentType: "application/octet-stream",
    }));
  } catch (err) {
    fail(1, `upload of ${name} to ${where} failed: ${explain(err)}`);
  }
  let names;
  try {
    names = await listNames(mine);
    const keep = Math.max(1, Number(env.RETENTION) || 1);
    for (const old of names.slice(0, Math.max(0, names.length - keep))) {
      await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: keyOf(old) }));
      console.log(`removed ${old} (backup_retention ${keep})`);
    }
    names = await listNames(mine);
  } catch (err) {
    fail(1, `${name} was uploaded to ${where}, but retention failed: ${explain(err)}`);
  }
  console.log(`BACKUP_OK file=${name} bytes=${bytes} kept=${names.length}`);
}

async function fetchDump() {
  const from = env.RESTORE_FROM || "latest";
  let name = from;
  let all;
  try {
    all = await listNames(/[.]dump$/);
  } catch (err) {
    fail(2, `cannot list ${where}: ${explain(err)}`);
  }
  if (from === "latest") name = all.filter((n) => kind(`${env.INSTANCE}-`).test(n)).pop();
  else if (from === "pre-upgrade" || from === "pre-restore") name = all.filter((n) => kind(`${env.INSTANCE}-${from}-`).test(n)).pop();
  else if (from.includes("/") || from.startsWith(".")) fail(2, `restore_from must be a dump file name, not a path: ${from}`);
  if (!name || !all.includes(name)) fail(2, `no dump '${from}' in ${where}; dumps there: ${all.join(" ")}`);
  try {
    const got = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: keyOf(name) }));
    await pipeline(got.Body, createWriteStream(`/backups/${name}`));
  } catch (err) {
    fail(2, `download of ${name} from ${where} failed: ${explain(err)}`);
  }
  console.log(`fetched ${where}${name} (${statSync(`/backups/${name}`).size} bytes)`);
}

await (mode === "upload" ? upload() : mode === "fetch" ? fetchDump() : fail(2, `unknown mode ${mode}`));

import { createReadStream } from 'node:fs';
import { DomainError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ArtifactObjects } from '../../registry/ports.js';

/** s3://bucket/prefix, the prefix optional. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`MLOPS_MCP_ARTIFACTS_URL "${url}" is not s3://bucket or s3://bucket/prefix`);
  return { bucket: m[1], prefix: (m[2] ?? '').replace(/\/+$/, '') };
}

type S3 = typeof import('@aws-sdk/client-s3');

/**
 * Artifacts in S3-compatible object storage, at <prefix>/<sha256[0:2]>/<sha256>.onnx. Endpoint,
 * region and credentials come from the AWS SDK's standard sources (AWS_ENDPOINT_URL,
 * AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles). With an
 * explicit endpoint (MinIO, Ceph, a test server) requests use path-style addressing, which such
 * servers expect. The SDK is loaded only when this store is configured.
 */
export async function openS3Objects(url: string, logger: Logger): Promise<ArtifactObjects> {
  const { bucket, prefix } = parseS3Url(url);
  const sdk: S3 = await import('@aws-sdk/client-s3');
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const client = new sdk.S3Client({ region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1', forcePathStyle: endpoint !== undefined });
  const key = (sha256: string) => `${prefix ? `${prefix}/` : ''}${sha256.slice(0, 2)}/${sha256}.onnx`;
  const location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  const unavailable = (what: string, e: unknown) => {
    logger.error({ err: e, location }, `object storage failed to ${what}`);
    const why = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 160) : 'error';
    return new DomainError(
      'unavailable',
      `the artifact store (${location}, MLOPS_MCP_ARTIFACTS_URL) failed to ${what} (${why}). Nothing was changed; retry once it answers.`,
    );
  };
  const status = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  try {
    await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
  } catch (e) {
    throw new Error(`cannot reach the bucket in MLOPS_MCP_ARTIFACTS_URL (${location}): ${e instanceof Error ? `${e.name} ${e.message}` : String(e)}`);
  }
  return {
    location,
    async put(sha256, file, bytes) {
      try {
        // If-None-Match: a key holds only the bytes that hash to it, so one already there is kept.
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: key(sha256),
            Body: createReadStream(file),
            ContentLength: bytes,
            ContentType: 'application/octet-stream',
            IfNoneMatch: '*',
            ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
            Metadata: { sha256 },
          }),
        );
      } catch (e) {
        if (status(e) === 412) return;
        throw unavailable('store an artifact', e);
      }
    },
    async get(sha256) {
      try {
        const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key(sha256) }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch (e) {
        if (status(e) === 404) return undefined;
        throw unavailable('read an artifact', e);
      }
    },
    async size(sha256) {
      try {
        return (await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key(sha256) }))).ContentLength;
      } catch (e) {
        if (status(e) === 404) return undefined;
        throw unavailable('look up an artifact', e);
      }
    },
  };
}

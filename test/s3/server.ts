/**
 * An S3 API server for tests (moto's, through tools/s3-server.sh, on a free port), and a bucket on
 * it. Without `.venv-s3` (`bash tools/s3-server.sh venv`) the S3 tests are skipped with a printed
 * reason, unless MLOPS_MCP_REQUIRE_S3=1 (CI), where they fail instead.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { describe } from 'vitest';
import { packageRoot } from '../../src/config.js';
import { tempDir } from '../helpers.js';
import { freePort } from '../mlflow/mlflow-server.js';

const run = promisify(execFile);
const SCRIPT = path.join(packageRoot, 'tools', 's3-server.sh');
const installed = fs.existsSync(path.join(packageRoot, '.venv-s3', 'bin', 'moto_server'));
const required = process.env.MLOPS_MCP_REQUIRE_S3 === '1';
if (!installed && !required)
  console.warn('[s3] S3 tests SKIPPED: .venv-s3 is missing (bash tools/s3-server.sh venv); set MLOPS_MCP_REQUIRE_S3=1 to make this a failure.');

/** `describe` that is skipped when the S3 test server is not installed (and not required). */
export const describeS3 = describe.skipIf(!installed && !required);

export interface S3Server {
  endpoint: string;
  /** The environment a server needs to use bucket `bucket` on it. */
  env(bucket: string, prefix?: string): Record<string, string>;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const dir = tempDir('mlops-mcp-s3-');
  const { stdout } = await run('bash', [SCRIPT, 'start', dir, String(await freePort())]);
  const endpoint = stdout.trim();
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  return {
    endpoint,
    env: (bucket, prefix = 'artifacts') => ({
      MLOPS_MCP_ARTIFACTS_URL: `s3://${bucket}/${prefix}`,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }),
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      client.destroy();
      await run('bash', [SCRIPT, 'stop', dir]).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

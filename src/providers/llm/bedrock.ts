import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { aiSdkModel } from './ai-sdk-model.ts';
import type { LlmModel } from './spec.ts';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** Returns current credentials; called per request, so it must cache (the AWS chain does). */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface BedrockSettings {
  region: string;
  /** Runtime endpoint override (AWS_ENDPOINT_URL_BEDROCK_RUNTIME); default the regional endpoint. */
  endpoint?: string | undefined;
  /** Default: the AWS SDK's Node chain (env, SSO, web identity, ini files, ECS/EC2 metadata). */
  credentials?: AwsCredentialsProvider | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

/**
 * Amazon Bedrock through the Converse / ConverseStream API, signed with SigV4. The AI SDK alone
 * only reads static keys from the environment, which fails on ECS, EC2 and SSO; so credentials
 * come from the standard AWS provider chain, loaded on first use.
 */
export function createBedrockLlm(settings: BedrockSettings): (modelId: string) => LlmModel {
  const credentials = settings.credentials ?? nodeCredentialChain();
  const provider = createAmazonBedrock({
    region: settings.region,
    baseURL: settings.endpoint ?? regionalEndpoint(settings.region),
    credentialProvider: credentials,
    fetch: settings.fetch,
  });
  return (modelId) => aiSdkModel('bedrock', provider.languageModel(modelId));
}

function regionalEndpoint(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://bedrock-runtime.${region}.${suffix}`;
}

/**
 * `@aws-sdk/credential-provider-node` ships with `@aws-sdk/client-bedrock-runtime`; it is imported
 * lazily so deployments without Bedrock never load it. The chain memoizes and refreshes.
 */
function nodeCredentialChain(): AwsCredentialsProvider {
  let chain: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    chain ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider());
    const resolve = await chain;
    return resolve();
  };
}

/**
 * The typed catalog of PipelineResource types: the six legacy Tekton types
 * (facts from Tekton ≤ 0.45) plus `config` and `database`. The CRD's CEL
 * rules in deploy/crds enforce the same required params; a unit test keeps
 * the two in step.
 */

export interface ResourceParamSpec {
  name: string;
  required: boolean;
  /** Empty when the param has no default. */
  default?: string;
  description: string;
  /** Provided through `spec.secrets[].fieldName`, never as a plain param. */
  secret: boolean;
  /** Validated as an absolute URL. */
  url?: boolean;
  /** Allowed values, when the param is an enumeration. */
  values?: readonly string[];
}

export interface ResourceTypeSpec {
  name: string;
  description: string;
  /** Whether the type came from Tekton itself (before v0.46). */
  legacy: boolean;
  params: readonly ResourceParamSpec[];
}

const param = (name: string, description: string, extra: Partial<ResourceParamSpec> = {}): ResourceParamSpec => ({
  name,
  description,
  required: false,
  secret: false,
  ...extra,
});

export const resourceTypes: readonly ResourceTypeSpec[] = [
  {
    name: 'git',
    description: 'A git repository at a revision.',
    legacy: true,
    params: [
      param('url', 'Repository URL to clone.', { required: true, url: true }),
      param('revision', "Branch, tag, commit or ref to check out; empty means the remote's default branch."),
      param('refspec', 'Refspec to fetch before checking out the revision.'),
      param('submodules', 'Whether to initialise and fetch submodules.', { default: 'true', values: ['true', 'false'] }),
      param('depth', 'Shallow clone depth; 0 fetches all history.', { default: '1' }),
      param('sslVerify', 'Whether to verify the server certificate.', { default: 'true', values: ['true', 'false'] }),
      param('httpProxy', 'HTTP proxy for the clone.'),
      param('httpsProxy', 'HTTPS proxy for the clone.'),
      param('noProxy', 'Hosts that bypass the proxy.'),
    ],
  },
  {
    name: 'pullRequest',
    description: 'A pull request on a source-code hosting service.',
    legacy: true,
    params: [
      param('url', 'URL of the pull request.', { required: true, url: true }),
      param('provider', 'Hosting service, guessed from the URL when empty.', { values: ['github', 'gitlab'] }),
      param('insecure-skip-tls-verify', 'Skip TLS verification of the provider.', {
        default: 'false',
        values: ['true', 'false'],
      }),
      param('authToken', 'Token used to read and update the pull request.', { secret: true }),
    ],
  },
  {
    name: 'image',
    description: 'A container image.',
    legacy: true,
    params: [
      param('url', 'Fully qualified image name, e.g. registry.example.com/team/app.', { required: true }),
      param('digest', 'Image digest, e.g. sha256:…; filled in by the task that builds it.'),
    ],
  },
  {
    name: 'cluster',
    description: 'A Kubernetes cluster to deploy to.',
    legacy: true,
    params: [
      param('url', 'API server URL.', { required: true, url: true }),
      param('name', 'Name of the cluster, used in the generated kubeconfig.'),
      param('username', 'User to authenticate as.'),
      param('password', 'Password of the user.', { secret: true }),
      param('namespace', 'Default namespace.'),
      param('token', 'Bearer token.', { secret: true }),
      param('insecure', 'Skip TLS verification of the API server.', { default: 'false', values: ['true', 'false'] }),
      param('cadata', 'PEM certificate authority data.', { secret: true }),
    ],
  },
  {
    name: 'storage',
    description: 'A blob storage location.',
    legacy: true,
    params: [
      param('type', 'Storage kind.', { required: true, values: ['gcs', 'build-gcs'] }),
      param('location', 'Bucket URI, e.g. gs://bucket/path.', { required: true }),
      param('dir', 'Whether the location is a directory.', { values: ['true', 'false'] }),
      param('artifactType', 'For build-gcs: Archive or Manifest.', { values: ['Archive', 'Manifest'] }),
      param('GOOGLE_APPLICATION_CREDENTIALS', 'Service account key for the bucket.', { secret: true }),
    ],
  },
  {
    name: 'cloudEvent',
    description: 'A sink that receives a CloudEvent when the run finishes.',
    legacy: true,
    params: [param('targetURI', 'URI the event is sent to.', { required: true, url: true })],
  },
  {
    name: 'config',
    description: 'Configuration files held in a ConfigMap.',
    legacy: false,
    params: [
      param('configMapName', 'Name of the ConfigMap, in the run namespace.', { required: true }),
      param('keys', 'Comma-separated keys to mount; empty mounts every key.'),
    ],
  },
  {
    name: 'database',
    description: 'A database reachable from the run.',
    legacy: false,
    params: [
      param('engine', 'Database engine.', { required: true, values: ['postgres', 'mysql', 'mariadb', 'mongodb', 'redis'] }),
      param('host', 'Host name.', { required: true }),
      param('port', 'TCP port.', { required: true }),
      param('database', 'Database name.', { required: true }),
      param('sslMode', 'TLS mode, e.g. require or disable.'),
      param('user', 'User to connect as.', { secret: true }),
      param('password', 'Password of the user.', { secret: true }),
    ],
  },
];

const byName = new Map(resourceTypes.map((t) => [t.name, t]));

export function resourceType(name: string): ResourceTypeSpec | undefined {
  return byName.get(name);
}

/**
 * The name a given param or secret field stands for in the type's catalog:
 * for the legacy types names match case-insensitively, as Tekton matched them
 * (docs/decisions/003); the project's own types match exactly.
 */
export function catalogName(spec: ResourceTypeSpec, name: string): string | undefined {
  const exact = spec.params.find((p) => p.name === name);
  if (exact || !spec.legacy) return exact?.name;
  return spec.params.find((p) => p.name.toLowerCase() === name.toLowerCase())?.name;
}

/**
 * Names of everything core keeps in NATS, all under one prefix (PX_NATS_PREFIX), so several
 * clusters — or parallel test runs — can share one NATS server without seeing each other.
 */

/**
 * A subject token from an id: ids such as `com.powerx.plugin.hello` contain dots, which NATS
 * reads as token separators. Anything outside [A-Za-z0-9_-] becomes `~xx` (hex), so the mapping
 * is one-to-one and a crafted id can never widen a subscription with `*` or `>`.
 */
export function subjectToken(id: string): string {
  if (!id) throw new Error('empty subject token');
  return id.replace(/[^A-Za-z0-9_-]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `~${b.toString(16).padStart(2, '0')}`).join(''),
  );
}

export function fromSubjectToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

export class NatsNames {
  readonly prefix: string;
  constructor(prefix: string) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) throw new Error(`Bad NATS prefix ${prefix}`);
    this.prefix = prefix;
  }
  get eventsStream(): string {
    return `${this.prefix}_events`;
  }
  eventSubject(type: string): string {
    return `${this.prefix}.events.${subjectToken(type)}`;
  }
  get eventsWildcard(): string {
    return `${this.prefix}.events.>`;
  }
  get logsStream(): string {
    return `${this.prefix}_logs`;
  }
  logSubject(tenant: string, plugin: string): string {
    return `${this.prefix}.logs.${subjectToken(tenant)}.${subjectToken(plugin)}`;
  }
  get logsWildcard(): string {
    return `${this.prefix}.logs.>`;
  }
  get leasesBucket(): string {
    return `${this.prefix}_leases`;
  }
  get nodesBucket(): string {
    return `${this.prefix}_nodes`;
  }
  get devSessionsBucket(): string {
    return `${this.prefix}_devsessions`;
  }
  get auditBucket(): string {
    return `${this.prefix}_audit`;
  }
  get blobsBucket(): string {
    return `${this.prefix}_blobs`;
  }
  /** Plain subject a node answers pings on while it runs (node-liveness.ts). */
  nodeAliveSubject(nodeId: string): string {
    return `${this.prefix}.node.${subjectToken(nodeId)}.alive`;
  }
}

/** One line saying what sandbox an instance really got (its isolation report), WEAK first when it is. */
export function isolationLine(isolation: unknown): string {
  const r = (isolation ?? {}) as {
    level?: string;
    weak?: boolean;
    uid?: number;
    seccomp?: boolean;
    cgroup?: { version?: number };
    disk?: { mechanism?: string };
  };
  const parts = [
    r.level === 'bubblewrap' ? 'bubblewrap' : `WEAK isolation (${r.level ?? 'unknown'}, no OS sandbox)`,
  ];
  if (r.uid !== undefined) parts.push(`uid ${r.uid}`);
  if (r.seccomp) parts.push('seccomp');
  if (r.cgroup?.version) parts.push(`cgroup v${r.cgroup.version}`);
  if (r.disk?.mechanism) parts.push(`disk ${r.disk.mechanism}`);
  return parts.join(', ');
}

/**
 * Cluster metrics, in the core's registry. Every series of a clustered core carries `node`
 * (the registry's default label), so one Prometheus sees each node apart.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class ClusterMetrics {
  readonly leasesHeld: Gauge;
  readonly nodesAlive: Gauge;
  readonly takeovers: Counter<'reason'>;
  readonly takeoverSeconds: Histogram;
  readonly leasesLost: Counter;
  readonly failoverDetections: Counter<'reason'>;
  readonly installsRolledBack: Counter;
  readonly forwarded: Counter<'result'>;

  constructor(registry: Registry, nodeId: string) {
    registry.setDefaultLabels({ node: nodeId });
    const registers = [registry];
    this.leasesHeld = new Gauge({
      name: 'px_cluster_leases_held',
      help: 'Plugin placement leases this node holds (plugins it serves)',
      registers,
    });
    this.nodesAlive = new Gauge({
      name: 'px_cluster_nodes_alive',
      help: 'Nodes with a heartbeat whose liveness subject still has a responder, as this node sees them',
      registers,
    });
    this.takeovers = new Counter({
      name: 'px_cluster_takeovers_total',
      help: 'Plugins this node took over: failover (holder gone) or handover (holder shutting down)',
      labelNames: ['reason'],
      registers,
    });
    this.takeoverSeconds = new Histogram({
      name: 'px_cluster_takeover_duration_seconds',
      help: 'From taking a lease over (failover or handover) to the instance serving on this node',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.leasesLost = new Counter({
      name: 'px_cluster_leases_lost_total',
      help: 'Leases this node lost to another node (upgrade elsewhere, or a stall longer than the TTL)',
      registers,
    });
    this.failoverDetections = new Counter({
      name: 'px_cluster_failover_detections_total',
      help: 'Plugins whose node this node found gone, by how: liveness (its ping subject had no responders, at a reconcile), entry_unreachable (the same, asked after a forward failed), lease_expired (the TTL backstop)',
      labelNames: ['reason'],
      registers,
    });
    this.installsRolledBack = new Counter({
      name: 'px_cluster_installs_rolled_back_total',
      help: 'Unfinished installs of gone nodes this node rolled back',
      registers,
    });
    this.forwarded = new Counter({
      name: 'px_cluster_forwarded_requests_total',
      help: 'Entry point requests forwarded to the owning node, by result (ok | unreachable)',
      labelNames: ['result'],
      registers,
    });
  }
}

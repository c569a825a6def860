/** What the install pipeline tells the cluster placement, and asks it (cluster/placement.ts). */
export interface PlacementHooks {
  readonly nodeId: string;
  /** This node switched the plugin to a new instance of its own: it takes the lease. */
  serving(tenant: string, pluginId: string): Promise<void>;
  /** The plugin was uninstalled (through this node): every other node drops its copy. */
  uninstalled(tenant: string, pluginId: string, keepData: boolean): Promise<void>;
  /** Whether an unfinished install last moved by `nodeId` may be rolled back (its node is gone, or is this one). */
  abandoned(nodeId: string | null): Promise<boolean>;
}

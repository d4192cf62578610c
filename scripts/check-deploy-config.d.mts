/** The part of a resolved wrangler configuration (`unstable_readConfig`) the check reads. */
export interface DeployConfig {
  vars?: Record<string, unknown>;
  kv_namespaces?: { binding: string; id?: string }[];
  durable_objects?: { bindings?: { name: string; class_name: string; script_name?: string }[] };
  migrations?: { tag: string; new_classes?: string[]; new_sqlite_classes?: string[] }[];
  routes?: (string | { pattern: string; custom_domain?: boolean; zone_name?: string })[];
  route?: string | { pattern: string; custom_domain?: boolean };
}

export function isLoopbackHost(hostname: string): boolean;
export function deployConfigProblems(config: DeployConfig, options?: { customPrincipal?: boolean }): string[];
export function deployConfigNotes(config: DeployConfig): string[];
export function parseArgs(argv: string[]): {
  config: string | undefined;
  env: string | undefined;
  customPrincipal: boolean;
  deploy: boolean;
  help: boolean;
  wranglerArgs: string[];
};

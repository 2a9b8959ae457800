// @npmcli/map-workspaces ships no types; this is the one call lockwarden makes.
declare module '@npmcli/map-workspaces' {
  export default function mapWorkspaces(opts: {
    cwd: string;
    pkg: Record<string, unknown>;
  }): Promise<Map<string, string>>;
}

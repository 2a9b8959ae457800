// Where a version's source lives, from its `repository` field, normalized with hosted-git-info.
import hostedGitInfo from 'hosted-git-info';

export type RepositoryRef =
  | { status: 'github'; repo: string; directory?: string }
  | { status: 'unsupported'; reason: string };

export function parseRepository(field: unknown): RepositoryRef {
  let url: unknown = field;
  let directory: string | undefined;
  if (field !== null && typeof field === 'object') {
    const obj = field as { url?: unknown; directory?: unknown };
    url = obj.url;
    if (typeof obj.directory === 'string') directory = obj.directory;
  }
  if (typeof url !== 'string' || url.trim() === '')
    return { status: 'unsupported', reason: 'no repository field' };
  if (url.length > 1000) return { status: 'unsupported', reason: 'repository URL too long' };
  let info: ReturnType<typeof hostedGitInfo.fromUrl>;
  try {
    info = hostedGitInfo.fromUrl(url.trim(), { noGitPlus: true });
  } catch {
    info = undefined;
  }
  if (!info)
    return {
      status: 'unsupported',
      reason: `repository ${JSON.stringify(url.slice(0, 80))} is not on a known git host`,
    };
  if (info.type !== 'github') {
    return {
      status: 'unsupported',
      reason: `repository is on ${info.domain}; tag checks support GitHub only`,
    };
  }
  const ref: RepositoryRef = { status: 'github', repo: `${info.user}/${info.project}` };
  if (directory !== undefined) ref.directory = directory;
  return ref;
}

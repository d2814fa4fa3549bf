/** Image references compared as the engine lists them. Pure: no process is spawned here. */

/**
 * Normalise an image reference the way the engine lists RepoTags: implicit `:latest`, and the
 * Docker Hub prefixes dropped (`docker.io/library/x` lists as `x`).
 */
export function normalizeImageRef(ref: string): string {
  let r = ref.trim();
  if (r.includes('@')) return r; // digest refs compare as written
  r = r
    .replace(/^docker\.io\/library\//, '')
    .replace(/^docker\.io\//, '')
    .replace(/^index\.docker\.io\//, '');
  const lastSlash = r.lastIndexOf('/');
  const tail = r.slice(lastSlash + 1);
  if (!tail.includes(':')) r += ':latest';
  return r;
}

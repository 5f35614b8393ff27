// Hash routing: "#/collections/posts?filter=x&page=2". Every view keeps its state (filters,
// sort, page, open panel) in the query part, so a reload or a shared link restores it.

const listeners = new Set();

/** The current route: path ("/collections/posts"), its segments and query. */
export function current() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  return {
    path,
    segments: path.split('/').filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}

/** "#/path?query", leaving out empty values. */
export function href(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

export function navigate(path, query, { replace = false } = {}) {
  const target = href(path, query);
  if (location.hash === target) return;
  if (replace) {
    history.replaceState(null, '', target);
    notify();
  } else {
    location.hash = target;
  }
}

/** Changes some query values of the current route (null removes one). */
export function setQuery(patch, options) {
  const { path, query } = current();
  const next = Object.fromEntries(query.entries());
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || value === undefined || value === '') delete next[key];
    else next[key] = value;
  }
  navigate(path, next, options);
}

export function onRoute(listener) {
  listeners.add(listener);
}

function notify() {
  const route = current();
  listeners.forEach((listener) => listener(route));
}

window.addEventListener('hashchange', notify);

// The fetch wrapper every page uses: JSON in and out, the superuser token from localStorage
// in the Authorization header, and PocketBase's error envelope turned into ApiError.

const STORAGE_KEY = 'edgebase.superuser';
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || (status ? `Request failed (${status}).` : 'Cannot reach the server.'));
    this.status = status;
    this.data = body?.data && typeof body.data === 'object' ? body.data : {};
    this.response = body || {};
  }
}

export const auth = {
  get token() {
    return read()?.token || '';
  },
  get record() {
    return read()?.record || null;
  },
  save(token, record) {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ token, record }));
    listeners.forEach((listener) => listener());
  },
  clear() {
    localStorage.removeItem(STORAGE_KEY);
    listeners.forEach((listener) => listener());
  },
  onChange(listener) {
    listeners.add(listener);
  },
};

function read() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
  } catch {
    return null;
  }
}

/** Builds `/api/...?query` leaving out empty query values. */
function apiUrl(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * api('/api/collections', {method, body, query, token}) → parsed JSON (null for 204).
 * `body` may be a FormData (sent as multipart) or any JSON value. A 401 on a request made
 * with the stored token means the session ended: the token is dropped and the app goes
 * back to the login page.
 */
export async function api(path, options = {}) {
  const { method = 'GET', body, query, signal } = options;
  const headers = { ...(options.headers || {}) };
  const token = options.token ?? auth.token;
  if (token) headers.Authorization = token;
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, query), { method, headers, body: payload, signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    if (response.status === 401 && token && token === auth.token && !options.keepSession) {
      auth.clear();
    }
    throw new ApiError(response.status, json);
  }
  return json;
}

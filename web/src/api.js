// The REST side: the read routes (anonymous on loopback; off loopback they
// need the token too) and the operator routes, which always need it. The
// token is asked once and kept in sessionStorage: gone when the tab closes.

const kTokenKey = 'nautilus.token';

export function getToken() {
  try {
    return sessionStorage.getItem(kTokenKey) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(kTokenKey, token);
    else sessionStorage.removeItem(kTokenKey);
  } catch {
    // Storage disabled: the token lasts as long as the page.
  }
}

export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: 'Bearer ' + token } : {};
}

// An error the daemon answered ({"error":{"code","message"}}), with its status.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A request the daemon has not answered by then is abandoned: the polls run
// one at a time, and one hung request must not stop them for good.
const kTimeoutMs = 10000;

async function call(method, path, body) {
  const init = { method, headers: { ...authHeaders() }, cache: 'no-store', signal: AbortSignal.timeout(kTimeoutMs) };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json && json.error) || {};
    throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
  }
  return json;
}

export const api = {
  stats: () => call('GET', '/api/v1/stats'),
  daemon: () => call('GET', '/api/v1/daemon'),
  sources: () => call('GET', '/api/v1/marketdata/sources'),
  engineAction: (name, action) => call('POST', `/api/v1/engines/${encodeURIComponent(name)}/${action}`, {}),
};

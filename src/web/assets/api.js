// The hookd API as the panel uses it: the session (token + company id in sessionStorage,
// so it lives as long as the browser tab) and fetch() with the token as a Bearer header.
// Errors are thrown as ApiError carrying the problem+json body (detail, errors[]).

const TOKEN_KEY = 'hookd.token';
const COMPANY_KEY = 'hookd.company';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    // [{pointer, message}] for validation failures.
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get companyId() {
    return sessionStorage.getItem(COMPANY_KEY);
  },
  get signedIn() {
    return Boolean(this.token && this.companyId);
  },
  save(token, companyId) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(COMPANY_KEY, companyId);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(COMPANY_KEY);
  },
};

// Called when the API answers 401 to a signed-in session (token revoked or wrong).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// request('GET', '/v1/me', {token, body, signal}) → parsed JSON (or null for 204).
export async function request(method, path, { body, token = session.token, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { detail: 'Cannot reach hookd. Is the server running?' });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (!res.ok) {
    if (res.status === 401 && token && token === session.token) onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return data;
}

const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Company-scoped calls for the signed-in company.
function co() {
  return `/v1/companies/${enc(session.companyId)}`;
}

export const api = {
  me: (token) => request('GET', '/v1/me', { token }),
  company: (cid, token) => request('GET', `/v1/companies/${enc(cid)}`, { token }),
  companies: (token) => request('GET', '/v1/companies?limit=500', { token }),
  eventTypes: () => request('GET', '/v1/event-types'),

  endpoints: (params = {}) => request('GET', `${co()}/endpoints${query({ limit: 100, ...params })}`),
  endpoint: (id) => request('GET', `${co()}/endpoints/${enc(id)}`),
  createEndpoint: (body) => request('POST', `${co()}/endpoints`, { body }),
  updateEndpoint: (id, body) => request('PATCH', `${co()}/endpoints/${enc(id)}`, { body }),
  deleteEndpoint: (id) => request('DELETE', `${co()}/endpoints/${enc(id)}`),
  secret: (id) => request('GET', `${co()}/endpoints/${enc(id)}/secret`),
  rotateSecret: (id, graceSeconds) =>
    request('POST', `${co()}/endpoints/${enc(id)}/rotate-secret`, { body: { grace_seconds: graceSeconds } }),
  enable: (id) => request('POST', `${co()}/endpoints/${enc(id)}/enable`, { body: { release_held: true } }),
  disable: (id) => request('POST', `${co()}/endpoints/${enc(id)}/disable`, { body: {} }),
  sendTest: (id) => request('POST', `${co()}/endpoints/${enc(id)}/test`, { body: {} }),
  recover: (id, since) => request('POST', `${co()}/endpoints/${enc(id)}/recover`, { body: { since } }),
  stats: (id, params = {}) => request('GET', `${co()}/endpoints/${enc(id)}/stats${query(params)}`),

  event: (id) => request('GET', `${co()}/events/${enc(id)}`),
  events: (params = {}) => request('GET', `${co()}/events${query(params)}`),
  deliveries: (params = {}) => request('GET', `${co()}/deliveries${query(params)}`),
  delivery: (id) => request('GET', `${co()}/deliveries/${enc(id)}`),
  attempts: (id) => request('GET', `${co()}/deliveries/${enc(id)}/attempts?limit=100`),
  retry: (id) => request('POST', `${co()}/deliveries/${enc(id)}/retry`, { body: {} }),
  erasures: (params = {}) => request('GET', `${co()}/erasures${query(params)}`),
  createErasure: (subject) => request('POST', `${co()}/erasures`, { body: { subject } }),

  // The audit log: the company's, or (operator token) every company's.
  auditLog: (params = {}) => request('GET', `${co()}/audit-log${query(params)}`),
  auditLogAll: (params = {}) => request('GET', `/v1/audit-log${query(params)}`),
};

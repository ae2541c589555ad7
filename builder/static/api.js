// JSON calls to /builder/api with the session's CSRF token; errors become ApiError.
const BASE = document.querySelector("meta[name=builder-api]")?.content || "/builder/api";
const CSRF = document.querySelector("meta[name=csrf-token]")?.content || "";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.errors = error.errors || [];
    this.body = body;
  }
}

export async function call(method, path, body, { raw = false, form = null } = {}) {
  const headers = { Accept: "application/json", "X-CSRF-Token": CSRF };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const resp = await fetch(BASE + path, { method, headers, body: payload, credentials: "same-origin" });
  if (raw && resp.ok) return resp;
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) throw new ApiError(resp.status, typeof data === "string" ? { error: { message: data } } : data);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body, opts) => call("POST", path, body, opts);
export const put = (path, body) => call("PUT", path, body);
export const del = (path) => call("DELETE", path);
export const enc = encodeURIComponent;

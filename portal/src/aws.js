// The two AWS services the portal talks to, with nothing but the browser: Cognito's public API (JSON,
// unsigned: a password, a code or a token is the credential) and S3 (REST, signed with SigV4 by
// WebCrypto, with the signed-in person's short-lived lab credentials). No SDK: the bundle stays small.

const encoder = new TextEncoder();

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(text) {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(key, text) {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const imported = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(text)));
}

// RFC 3986: what SigV4 wants in a path segment and a query value
export function uriEncode(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

export function encodeKey(key) {
  return key.split("/").map(uriEncode).join("/");
}

// The headers of a SigV4-signed S3 request (the payload unsigned; the browser sets Host itself).
export async function signedHeaders(method, url, region, creds, extra = {}) {
  const parsed = new URL(url);
  const stamp = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
  const day = stamp.slice(0, 8);
  const headers = { ...extra, host: parsed.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": stamp };
  if (creds.session_token) headers["x-amz-security-token"] = creds.session_token;
  const names = Object.keys(headers).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v).trim()]));
  const query = [...parsed.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonical = [method, parsed.pathname, query, names.map((n) => `${n}:${lower[n]}\n`).join(""),
    names.join(";"), "UNSIGNED-PAYLOAD"].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", stamp, scope, await sha256(canonical)].join("\n");
  let key = await hmac("AWS4" + creds.secret_access_key, day);
  for (const part of [region, "s3", "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  const sent = { ...headers };
  delete sent.host;
  sent.Authorization = `AWS4-HMAC-SHA256 Credential=${creds.access_key_id}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return sent;
}

// An S3 client for one lab's folders of one pipeline.
export class Bucket {
  constructor(settings, creds) {
    this.region = creds.region || settings.region;
    this.bucket = creds.bucket;
    this.creds = creds;
    this.endpoint = settings.s3_endpoint || null; // the local cloud's; else S3's own name
  }

  url(key = "", query = "") {
    const path = key ? "/" + encodeKey(key) : "/";
    const base = this.endpoint
      ? `${this.endpoint.replace(/\/$/, "")}/${this.bucket}${path}`
      : `https://${this.bucket}.s3.${this.region}.amazonaws.com${path}`;
    return query ? `${base}?${query}` : base;
  }

  async send(method, key, query = "", body = undefined, extra = {}) {
    const url = this.url(key, query);
    const headers = await signedHeaders(method, url, this.region, this.creds, extra);
    const reply = await fetch(url, { method, headers, body });
    if (!reply.ok) throw new S3Error(reply.status, await reply.text(), key);
    return reply;
  }

  async list(prefix) {
    const found = [];
    let token = null;
    do {
      const query = `list-type=2&prefix=${uriEncode(prefix)}` + (token ? `&continuation-token=${uriEncode(token)}` : "");
      const xml = parse(await (await this.send("GET", "", query)).text());
      for (const item of xml.querySelectorAll("Contents")) {
        const key = text(item, "Key");
        if (key.endsWith("/")) continue; // a folder's marker, not a file
        found.push({ key, size: Number(text(item, "Size")), modified: text(item, "LastModified") });
      }
      token = text(xml, "NextContinuationToken");
    } while (token);
    return found;
  }

  // The current version of a key (the bucket is versioned): what a submission pins. The bucket's
  // CORS rules expose the header to the portal.
  async version(key) {
    const version = (await this.send("HEAD", key)).headers.get("x-amz-version-id");
    return version && version !== "null" ? version : null;
  }

  async getText(key, range = null) {
    return (await this.send("GET", key, "", undefined, range ? { range } : {})).text();
  }

  async getBlob(key) {
    return (await this.send("GET", key)).blob();
  }

  async put(key, body, type = "application/octet-stream") {
    await this.send("PUT", key, "", body, { "content-type": type });
  }
}

export class S3Error extends Error {
  constructor(status, body, key) {
    const code = /<Code>([^<]+)<\/Code>/.exec(body || "");
    super(`${code ? code[1] : "HTTP " + status} (${key || "the bucket"})`);
    this.status = status;
    this.code = code ? code[1] : "";
  }
}

export function parse(body) {
  return new DOMParser().parseFromString(body, "application/xml");
}

export function text(node, name) {
  const found = node.getElementsByTagName(name)[0];
  return found ? found.textContent : null;
}

// Cognito's public API: sign-up, verification, sign-in, a new password, refresh, sign-out.
export async function cognito(settings, action, body) {
  const endpoint = settings.cognito_endpoint || `https://cognito-idp.${settings.region}.amazonaws.com/`;
  const reply = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}` },
    body: JSON.stringify(body),
  });
  const answer = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Error(cognitoMessage(answer));
  return answer;
}

function cognitoMessage(answer) {
  const code = String(answer.__type || answer.code || "").split("#").pop();
  const message = String(answer.message || answer.Message || code || "the directory refused it");
  const texts = {
    CodeMismatchException: "That code is not the one sent: check the email and try again.",
    UsernameExistsException: "This email has signed up already: verify it or sign in.",
    NotAuthorizedException: "Wrong email or password.",
    UserNotFoundException: "Wrong email or password.",
    UserNotConfirmedException: "Verify your email first.",
    UserLambdaValidationException: message.split("failed with error ").pop().replace(/\.$/, ""),
  };
  return texts[code] || message;
}

// The directory function: a signed-in person's requests (labs, join, credentials, ...).
export async function directory(settings, token, action, fields = {}) {
  const reply = await fetch(settings.api_url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ action, ...fields }),
  });
  const answer = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Error(answer.error || `the directory answered ${reply.status}`);
  return answer;
}

// The lab portal: a lab member's journey in the browser (sign-up, labs, upload, submit, jobs,
// results), with the same rights as `ncap lab`: the page holds the signed-in person's tokens (this
// tab's sessionStorage) and short-lived credentials for the lab chosen (memory only); IAM confines
// them to that lab's folders. Each page has a URL (#/...), and every control a label.

import { Bucket, S3Error, cognito, directory } from "./aws.js";
import { ConfigError, checkConfig } from "./config.js";
import { Upload } from "./upload.js";

const FINAL = ["SUCCESS", "FAILED", "REJECTED", "CANCELLED"];
const view = () => document.getElementById("view");
const session = sessionStorage;
let settings = null;
let lastCreds = null;
let timers = [];

// --- small helpers --------------------------------------------------------------------------

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function say(message, kind = "info") {
  const box = document.getElementById("message");
  box.textContent = message;
  box.className = kind;
}

// A message is for the page it was said on, and for the page the portal goes to next by itself
// (a sign-up's "code sent" on the verify page); a page the person opens starts without one.
let keepMessage = false;

function go(hash) {
  keepMessage = true;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function form(html, onSubmit) {
  view().innerHTML = html;
  const element = view().querySelector("form");
  if (element) {
    element.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = element.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        await onSubmit(new FormData(element), element);
      } catch (error) {
        say(error.message, "error");
      } finally {
        if (button) button.disabled = false;
      }
    });
  }
  const first = view().querySelector("input, select, textarea, button");
  if (first) first.focus();
}

// --- login ------------------------------------------------------------------------------------

function login() {
  const raw = session.getItem("ncap-login");
  return raw ? JSON.parse(raw) : null;
}

function saveLogin(email, result, refresh) {
  session.setItem("ncap-login", JSON.stringify({
    email, access: result.AccessToken, refresh: refresh || result.RefreshToken,
    expires: Date.now() + (result.ExpiresIn || 3600) * 1000,
  }));
}

async function token() {
  const current = login();
  if (!current) throw new Error("Sign in first.");
  if (current.expires - 60000 > Date.now()) return current.access;
  const answer = await cognito(settings, "InitiateAuth", {
    ClientId: settings.client_id, AuthFlow: "REFRESH_TOKEN_AUTH", AuthParameters: { REFRESH_TOKEN: current.refresh },
  });
  saveLogin(current.email, answer.AuthenticationResult, current.refresh);
  return answer.AuthenticationResult.AccessToken;
}

async function signOut() {
  const current = login();
  session.clear();
  lastCreds = null;
  if (current) {
    try {
      await cognito(settings, "RevokeToken", { Token: current.refresh, ClientId: settings.client_id });
    } catch { /* the tab forgets the login whatever the directory answers */ }
  }
  nav();
  go("#/signin");
  say("Signed out.");
}

function chosen() {
  return { lab: session.getItem("ncap-lab"), pipeline: session.getItem("ncap-pipeline") };
}

async function bucket() {
  const { lab, pipeline } = chosen();
  if (!lab || !pipeline) throw new Error("Choose a lab and a pipeline first (Labs).");
  if (!lastCreds || lastCreds.lab !== lab || lastCreds.pipeline !== pipeline ||
      Date.parse(lastCreds.expiration) - 300000 < Date.now()) {
    lastCreds = await directory(settings, await token(), "credentials", { lab, pipeline });
  }
  return { s3: new Bucket(settings, lastCreds), lab, pipeline, budget: lastCreds.budget_usd,
    folders: { inputs: "inputs", configs: "configs", submissions: "submissions", results: "results", logs: "logs",
      ...(lastCreds.folders || {}) } };
}

// --- pages ------------------------------------------------------------------------------------

function signIn(params) {
  form(`<h1>Sign in</h1>
    <form>
      <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${esc(params.get("email"))}">
      <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>
    <p><a href="#/signup">Sign up</a> · <a href="#/verify">Verify your email</a> · <a href="#/forgot">Forgot your password?</a></p>`,
  async (data) => {
    const email = data.get("email").trim().toLowerCase();
    const answer = await cognito(settings, "InitiateAuth", {
      ClientId: settings.client_id, AuthFlow: "USER_PASSWORD_AUTH",
      AuthParameters: { USERNAME: email, PASSWORD: data.get("password") },
    });
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      newPassword(email, answer.Session);
      return;
    }
    saveLogin(email, answer.AuthenticationResult);
    nav();
    say(`Signed in as ${email}.`);
    go("#/labs");
  });
}

function newPassword(email, challenge) {
  form(`<h1>Choose a new password</h1>
    <p>${esc(email)} signed in with a temporary password: choose your own.</p>
    <form>
      <label for="new">New password</label><input id="new" name="password" type="password" autocomplete="new-password" required>
      <button type="submit">Set password</button>
    </form>`,
  async (data) => {
    const answer = await cognito(settings, "RespondToAuthChallenge", {
      ClientId: settings.client_id, ChallengeName: "NEW_PASSWORD_REQUIRED", Session: challenge,
      ChallengeResponses: { USERNAME: email, NEW_PASSWORD: data.get("password") },
    });
    saveLogin(email, answer.AuthenticationResult);
    nav();
    say(`Signed in as ${email}.`);
    go("#/labs");
  });
}

function signUp() {
  form(`<h1>Sign up</h1>
    <form>
      <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
      <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="new-password" required>
      <button type="submit">Sign up</button>
    </form>
    <p>A code is emailed to you: enter it on the next page.</p>`,
  async (data) => {
    const email = data.get("email").trim().toLowerCase();
    await cognito(settings, "SignUp", { ClientId: settings.client_id, Username: email, Password: data.get("password"),
      UserAttributes: [{ Name: "email", Value: email }] });
    say(`A verification code was sent to ${email}.`);
    go(`#/verify?email=${encodeURIComponent(email)}`);
  });
}

function verify(params) {
  form(`<h1>Verify your email</h1>
    <form>
      <label for="email">Email</label><input id="email" name="email" type="email" required value="${esc(params.get("email"))}">
      <label for="code">Verification code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
      <button type="submit">Verify</button>
    </form>`,
  async (data) => {
    const email = data.get("email").trim().toLowerCase();
    await cognito(settings, "ConfirmSignUp", { ClientId: settings.client_id, Username: email,
      ConfirmationCode: data.get("code").trim() });
    say(`${email} is verified: sign in.`);
    go(`#/signin?email=${encodeURIComponent(email)}`);
  });
}

function forgot(params) {
  form(`<h1>Forgot your password?</h1>
    <form>
      <label for="email">Email</label><input id="email" name="email" type="email" required value="${esc(params.get("email"))}">
      <label for="code">Verification code</label><input id="code" name="code" inputmode="numeric" placeholder="empty: send me one">
      <label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password">
      <button type="submit">Reset password</button>
    </form>`,
  async (data) => {
    const email = data.get("email").trim().toLowerCase();
    if (!data.get("code")) {
      await cognito(settings, "ForgotPassword", { ClientId: settings.client_id, Username: email });
      say(`If ${email} is known, a code was sent to it.`);
      return;
    }
    await cognito(settings, "ConfirmForgotPassword", { ClientId: settings.client_id, Username: email,
      ConfirmationCode: data.get("code").trim(), Password: data.get("password") });
    say("Your password is changed: sign in.");
    go(`#/signin?email=${encodeURIComponent(email)}`);
  });
}

async function labs() {
  const answer = await directory(settings, await token(), "labs");
  const mine = answer.labs.filter((entry) => entry.roles.includes("member"));
  const { lab, pipeline } = chosen();
  const rows = answer.labs.map((entry) => `<tr><td>${esc(entry.lab)}</td><td>${esc(entry.roles.join(", "))}</td>
    <td>${esc(entry.pipelines.join(", ") || "-")}</td>
    <td>${entry.roles.includes("admin") ? `<a href="#/members/${encodeURIComponent(entry.lab)}">Members of ${esc(entry.lab)}</a>` : ""}</td></tr>`);
  form(`<h1>Your labs</h1>
    <p>Signed in as ${esc(answer.email)}.</p>
    <table><caption>Labs and their pipelines</caption><thead><tr><th scope="col">Lab</th><th scope="col">You are</th>
      <th scope="col">Pipelines</th><th scope="col">Admin</th></tr></thead><tbody>${rows.join("") || "<tr><td colspan=4>No labs yet</td></tr>"}</tbody></table>
    <form id="choose">
      <label for="lab">Lab</label><select id="lab" name="lab">${mine.map((e) => `<option ${e.lab === lab ? "selected" : ""}>${esc(e.lab)}</option>`).join("")}</select>
      <label for="pipeline">Pipeline</label><select id="pipeline" name="pipeline"></select>
      <button type="submit">Use this lab</button>
    </form>
    <h2>Join a lab</h2>
    <div class="row"><label for="join">Request membership of</label><select id="join">${answer.others.map((o) => `<option>${esc(o)}</option>`).join("")}</select>
    <button type="button" id="ask">Ask to join</button></div>`,
  async (data) => {
    session.setItem("ncap-lab", data.get("lab"));
    session.setItem("ncap-pipeline", data.get("pipeline"));
    lastCreds = null;
    say(`Working in lab ${data.get("lab")} of ${data.get("pipeline")}.`);
    go("#/upload");
  });
  const pipelines = () => {
    const entry = mine.find((e) => e.lab === document.getElementById("lab").value);
    document.getElementById("pipeline").innerHTML = (entry ? entry.pipelines : [])
      .map((p) => `<option ${p === pipeline ? "selected" : ""}>${esc(p)}</option>`).join("");
  };
  document.getElementById("lab").addEventListener("change", pipelines);
  pipelines();
  document.getElementById("ask").addEventListener("click", async () => {
    try {
      const joined = await directory(settings, await token(), "join", { lab: document.getElementById("join").value });
      say(joined.state === "member" ? `You are a member of ${joined.lab}.` : `Asked to join ${joined.lab}: an admin approves it.`);
    } catch (error) {
      say(error.message, "error");
    }
  });
}

async function members(lab) {
  const answer = await directory(settings, await token(), "members", { lab });
  const act = (email, action, label) => `<button type="button" data-action="${action}" data-email="${esc(email)}">${label} ${esc(email)}</button>`;
  const rows = answer.members.map((m) => `<tr><td>${esc(m.email)}</td><td>${esc(m.roles.join(", "))}</td><td>${esc(m.status)}</td><td>${
    m.roles.includes("requested") ? act(m.email, "approve", "Approve") + act(m.email, "refuse", "Refuse")
      : m.roles.includes("admin") ? "" : act(m.email, "remove", "Remove")}</td></tr>`);
  form(`<h1>Members of ${esc(lab)}</h1>
    <table><caption>Members, admins and requests</caption><thead><tr><th scope="col">Email</th><th scope="col">Roles</th>
      <th scope="col">Status</th><th scope="col">Action</th></tr></thead><tbody>${rows.join("")}</tbody></table>
    <form><label for="invite">Email to invite</label><input id="invite" name="email" type="email" required>
      <button type="submit">Invite</button></form>`,
  async (data) => {
    const done = await directory(settings, await token(), "invite", { lab, email: data.get("email") });
    say(`${done.email}: ${done.state}.`);
    members(lab);
  });
  for (const button of view().querySelectorAll("button[data-action]")) {
    button.addEventListener("click", async () => {
      try {
        const done = await directory(settings, await token(), button.dataset.action, { lab, email: button.dataset.email });
        say(`${done.email}: ${done.state}.`);
        members(lab);
      } catch (error) {
        say(error.message, "error");
      }
    });
  }
}

const uploads = new Map(); // file name -> Upload, kept across pause and resume

async function upload() {
  const { s3, lab, folders } = await bucket();
  form(`<h1>Upload to ${esc(lab)}</h1>
    <form>
      <label for="files">Files</label><input id="files" name="files" type="file" multiple>
      <label for="folder">Folder</label><input id="folder" name="folder" type="file" webkitdirectory multiple>
      <div id="drop" tabindex="0" aria-label="Drop zone">or drop them here, folders too</div>
      <label for="kind">Upload as</label><select id="kind" name="kind"><option value="inputs">datasets (inputs)</option><option value="configs">configs</option></select>
      <button type="submit">Upload</button> <button type="button" id="pause">Pause</button>
    </form>
    <label for="overall">Overall</label><progress id="overall" max="1" value="0"></progress>
    <ul id="progress" aria-live="polite"></ul>
    <h2>Write a config</h2>
    <p id="config-help">Write it in JSON or YAML: it is checked before it is saved. A name ending in .yaml or .yml
      saves it as you wrote it; a name ending in .json saves it as JSON (YAML written for it is converted to JSON).
      Your analysis gets the file under this name.</p>
    <form id="config"><label for="name">Config name</label><input id="name" name="name" value="config.json" required
        aria-describedby="config-help">
      <label for="text">Config text (JSON or YAML)</label><textarea id="text" name="text" rows="8" spellcheck="false"
        aria-describedby="config-help">{}</textarea>
      <button type="button" id="write">Save config</button></form>`,
  async (data) => {
    const picked = [...document.getElementById("files").files, ...document.getElementById("folder").files, ...dropped];
    if (!picked.length) throw new Error("Choose files first.");
    await send(s3, picked.map((file) => [`${lab}/${folders[data.get("kind")]}/${file.webkitRelativePath || file.name}`, file]));
  });
  let dropped = [];
  const drop = document.getElementById("drop");
  drop.addEventListener("dragover", (event) => event.preventDefault());
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    dropped = [...event.dataTransfer.files];
    drop.textContent = `${dropped.length} file(s) dropped: press Upload`;
  });
  document.getElementById("pause").addEventListener("click", () => {
    for (const job of uploads.values()) job.pause();
  });
  const textArea = document.getElementById("text");
  textArea.addEventListener("input", () => textArea.removeAttribute("aria-invalid"));
  document.getElementById("write").addEventListener("click", async () => {
    const name = document.getElementById("name").value.trim();
    let checked;
    try {
      checked = await checkConfig(name, textArea.value);
    } catch (error) {
      if (!(error instanceof ConfigError)) { // the parser's file could not be fetched (the network)
        say(`The config could not be checked: ${error.message}. Nothing was uploaded.`, "error");
        return;
      }
      say(error.message, "error");
      if (error.position !== null) {
        textArea.setAttribute("aria-invalid", "true");
        textArea.focus();
        textArea.setSelectionRange(error.position, error.position);
      }
      return;
    }
    try {
      await s3.put(`${lab}/${folders.configs}/${name}`, checked.body, checked.type);
      say(`Uploaded ${lab}/${folders.configs}/${name}.` + (checked.converted ? " It was written in YAML and saved as JSON." : ""));
    } catch (error) {
      say(error.message, "error");
    }
  });
}

async function send(s3, items) {
  const list = document.getElementById("progress");
  const overall = document.getElementById("overall");
  const total = items.reduce((sum, [, file]) => sum + file.size, 0) || 1;
  const sent = new Map();
  list.innerHTML = items.map(([key], i) => `<li><label for="p${i}">${esc(key)}</label>
    <progress id="p${i}" max="1" value="0"></progress> <span id="t${i}"></span></li>`).join("");
  say(`Uploading ${items.length} file(s)...`);
  const results = await Promise.allSettled(items.map(async ([key, file], i) => {
    const job = uploads.get(key) && uploads.get(key).file === file ? uploads.get(key)
      : new Upload(s3, key, file, () => {});
    job.onProgress = (done, size, resumed) => {
      document.getElementById(`p${i}`).value = size ? done / size : 1;
      document.getElementById(`t${i}`).textContent = `${bytes(done)} of ${bytes(size)}${resumed ? ` (${resumed} parts were there)` : ""}`;
      sent.set(key, done);
      overall.value = [...sent.values()].reduce((a, b) => a + b, 0) / total;
    };
    uploads.set(key, job);
    await job.start();
    uploads.delete(key);
    document.getElementById(`t${i}`).textContent =
      `uploaded: ${key}${job.resumed ? ` (resumed: ${job.resumed} parts were there)` : ""}`;
  }));
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length) say(failed.map((r) => r.reason.message).join("; ") + " (Upload again to resume.)", "error");
  else say(`Uploaded ${items.length} file(s).`);
}

async function submit() {
  const { s3, lab, folders } = await bucket();
  const datasets = (await s3.list(`${lab}/${folders.inputs}/`)).map((o) => o.key);
  const configs = (await s3.list(`${lab}/${folders.configs}/`)).map((o) => o.key);
  form(`<h1>Submit a job</h1>
    <form>
      <label for="datasets">Datasets</label><select id="datasets" name="datasets" multiple size="6" required>${datasets.map((k) => `<option>${esc(k)}</option>`).join("")}</select>
      <label for="config">Config</label><select id="config" name="config">${configs.map((k) => `<option>${esc(k)}</option>`).join("")}</select>
      <button type="submit">Submit</button>
    </form>
    <p>Job id: <output id="job" aria-label="Job id"></output></p>`,
  async (data) => {
    const chosenData = data.getAll("datasets");
    if (!chosenData.length) throw new Error("Choose one or more datasets.");
    const config = data.get("config");
    const keys = [...chosenData, ...(config ? [config] : [])];
    const versions = Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await s3.version(k)])));
    const job = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15) + "-" +
      Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, "0")).join("");
    const pinned = Object.fromEntries([...chosenData, config].filter((k) => k && versions[k]).map((k) => [k, versions[k]]));
    const document_ = { dataname: chosenData.length === 1 ? chosenData[0] : chosenData, timestamp: job,
      ...(config ? { configname: config } : {}), ...(Object.keys(pinned).length ? { versions: pinned } : {}) };
    await s3.put(`${lab}/${folders.submissions}/${job}_submit.json`, JSON.stringify(document_, null, 1), "application/json");
    document.getElementById("job").innerHTML = `<a href="#/job/${encodeURIComponent(job)}">${esc(job)}</a>`;
    say(`Submitted job ${job}.`);
  });
}

async function statusOf(s3, lab, folders, job) {
  return JSON.parse(await s3.getText(`${lab}/${folders.results}/job_${job}/logs/status.json`));
}

async function jobs() {
  const { s3, lab, folders } = await bucket();
  const prefix = `${lab}/${folders.results}/`;
  const ids = (await s3.list(prefix)).map((o) => o.key.slice(prefix.length))
    .filter((rest) => rest.endsWith("/logs/status.json") && rest.split("/").length === 3)
    .map((rest) => rest.split("/")[0].replace(/^job_/, ""));
  const rows = await Promise.all(ids.map(async (job) => ({ job, status: await statusOf(s3, lab, folders, job).catch(() => ({})) })));
  const started = (s) => s.started || s.submitted || s.updated || "";
  rows.sort((a, b) => (started(a.status) < started(b.status) ? 1 : -1));
  form(`<h1>Jobs of ${esc(lab)}</h1>
    <table><caption>Newest first</caption><thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Stage</th>
      <th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Cost</th></tr></thead><tbody>${
  rows.map(({ job, status }) => `<tr><td><a href="#/job/${encodeURIComponent(job)}">${esc(job)}</a></td><td>${esc(status.status)}</td>
      <td>${esc(status.stage || "-")}</td><td>${esc(started(status) || "-")}</td><td>${esc(status.finished || "-")}</td>
      <td>${status.cost_usd !== undefined ? "$" + esc(Number(status.cost_usd).toFixed(2)) : "-"}</td></tr>`).join("") ||
      "<tr><td colspan=6>No jobs yet</td></tr>"}</tbody></table>`, null);
}

async function job(id) {
  const { s3, lab, folders } = await bucket();
  form(`<h1>Job ${esc(id)}</h1>
    <p>Status: <strong id="status" role="status"></strong> <span id="stage"></span></p>
    <p id="reason"></p>
    <button type="button" id="cancel">Cancel job</button>
    <p><a href="#/results/${encodeURIComponent(id)}">Results of ${esc(id)}</a></p>
    <h2>Log</h2><pre id="log" aria-label="Log" tabindex="0"></pre>
    <h2>Certificate</h2><pre id="certificate" tabindex="0"></pre>`, null);
  document.getElementById("cancel").addEventListener("click", async () => {
    try {
      await s3.put(`${lab}/${folders.submissions}/${id}-cancel.json`, JSON.stringify({ job_id: id }), "application/json");
      say(`Asked to cancel job ${id}.`);
    } catch (error) {
      say(error.message, "error");
    }
  });
  const refresh = async () => {
    if (!document.getElementById("status")) return;
    let status;
    try {
      status = await statusOf(s3, lab, folders, id);
    } catch {
      document.getElementById("status").textContent = "not yet";
      timers.push(setTimeout(refresh, 2000));
      return;
    }
    document.getElementById("status").textContent = status.status;
    document.getElementById("stage").textContent = status.stage ? `(stage ${status.stage})` : "";
    document.getElementById("reason").textContent = status.reason ? `Reason: ${status.reason}` : "";
    document.getElementById("cancel").hidden = FINAL.includes(status.status);
    const logs = (await s3.list(`${lab}/${folders.logs}/job_${id}/`).catch(() => [])).map((o) => o.key);
    const texts = await Promise.all(logs.map((key) => s3.getText(key).catch(() => "")));
    document.getElementById("log").textContent = texts.join("\n").split("\n").slice(-200).join("\n");
    document.getElementById("certificate").textContent =
      await s3.getText(`${lab}/${folders.results}/job_${id}/logs/certificate.txt`).catch(() => "");
    if (!FINAL.includes(status.status)) timers.push(setTimeout(refresh, 2000));
  };
  await refresh();
}

async function results(id) {
  const { s3, lab, folders } = await bucket();
  const prefix = `${lab}/${folders.results}/job_${id}/process_results/`;
  const files = await s3.list(prefix);
  form(`<h1>Results of job ${esc(id)}</h1>
    <table><caption>Files</caption><thead><tr><th scope="col">File</th><th scope="col">Size</th><th scope="col">Get</th></tr></thead>
    <tbody>${files.map((f, i) => `<tr><td>${esc(f.key.slice(prefix.length))}</td><td>${esc(bytes(f.size))}</td>
      <td><a href="#" data-index="${i}">Download</a></td></tr>`).join("") || "<tr><td colspan=3>No results yet</td></tr>"}</tbody></table>
    <button type="button" id="all">Download all</button>`, null);
  const fetchOne = async (file) => {
    const blob = await s3.getBlob(file.key);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = file.key.slice(prefix.length).replaceAll("/", "_");
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  };
  for (const link of view().querySelectorAll("a[data-index]")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      try { await fetchOne(files[Number(link.dataset.index)]); } catch (error) { say(error.message, "error"); }
    });
  }
  document.getElementById("all").addEventListener("click", async () => {
    for (const file of files) await fetchOne(file);
  });
}

// A lab's spend this month, from its ledger (ledger/<YYYY-MM>/<lab>/, what each finished job cost,
// written by the workers), summed by `ncap cost report`'s rules: every .json object under the
// prefix whose cost_usd is a finite number of at least 0 counts; any other counts nothing; an
// entry gone between listing and reading is left out; jobs are the distinct job ids.
const READERS = 8;

function entryCost(entry) {
  const cost = entry && typeof entry === "object" && !Array.isArray(entry) ? entry.cost_usd : undefined;
  return typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : null;
}

async function ledgerMonth(s3, lab, month) {
  const keys = (await s3.list(`ledger/${month}/${lab}/`)).map((o) => o.key).filter((k) => k.endsWith(".json"));
  const entries = [];
  let unreadable = 0;
  const waiting = [...keys];
  const reader = async () => {
    while (waiting.length) {
      const key = waiting.shift();
      let entry;
      try {
        entry = JSON.parse(await s3.getText(key));
      } catch (error) {
        if (error instanceof S3Error && (error.status === 404 || error.code === "NoSuchKey")) continue;
        if (error instanceof S3Error) throw error;
        entry = null;
      }
      if (entryCost(entry) === null) unreadable += 1;
      else entries.push(entry);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READERS, keys.length) }, reader));
  return { entries, unreadable };
}

function usd(amount) {
  const sign = amount < 0 ? "-" : "";
  const size = Math.abs(amount);
  if (size !== 0 && size < 0.01) { // a job of seconds costs millionths: two significant digits
    return `${sign}$${size.toFixed(Math.min(20, 1 - Math.floor(Math.log10(size))))}`;
  }
  return `${sign}$${size.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

async function spend() {
  const { s3, lab, pipeline, budget } = await bucket();
  const month = new Date().toISOString().slice(0, 7); // UTC, as the ledger's months are
  let found;
  try {
    found = await ledgerMonth(s3, lab, month);
  } catch (error) {
    if (error instanceof S3Error && error.status === 403) {
      throw new Error(`${pipeline} does not let its labs read their spend yet: its operators deploy it again with this version.`);
    }
    throw error;
  }
  const { entries, unreadable } = found;
  const spent = entries.reduce((sum, entry) => sum + entryCost(entry), 0);
  const jobs = new Set(entries.map((e) => e.job_id).filter((id) => id)).size;
  const figure = (id, amount) => `<data id="${id}" value="${amount}">${esc(usd(amount))}</data>`;
  const limit = budget === undefined ? "not known (ask the pipeline's operators)"
    : budget === null ? "no budget" : figure("budget", budget);
  const left = typeof budget === "number" ? figure("left", budget - spent) : "-";
  form(`<h1>Spend of ${esc(lab)}</h1>
    <p>${esc(month)} (UTC) on ${esc(pipeline)}: what the lab's finished jobs cost, from the pipeline's ledger. A job
      still running is counted when it ends; a submission that would take the lab past its budget is refused.</p>
    <table><caption>This month</caption><tbody>
      <tr><th scope="row">Spent</th><td>${figure("spent", spent)}</td></tr>
      <tr><th scope="row">Budget</th><td>${limit}</td></tr>
      <tr><th scope="row">Left</th><td>${left}</td></tr>
      <tr><th scope="row">Jobs</th><td>${jobs}</td></tr>
    </tbody></table>${unreadable ? `<p>${unreadable} object(s) in the ledger are not entries and count nothing.</p>` : ""}`, null);
}

// --- the frame --------------------------------------------------------------------------------

function nav() {
  const signedIn = Boolean(login());
  document.getElementById("nav").innerHTML = signedIn
    ? `<a href="#/labs">Labs</a> <a href="#/upload">Upload</a> <a href="#/submit">Submit</a> <a href="#/jobs">Jobs</a>
       <a href="#/spend">Spend</a> <button type="button" id="signout">Sign out</button>`
    : `<a href="#/signin">Sign in</a> <a href="#/signup">Sign up</a>`;
  const out = document.getElementById("signout");
  if (out) out.addEventListener("click", signOut);
}

const PAGES = { signin: signIn, signup: signUp, verify, forgot, labs, members, upload, submit, jobs, job, results, spend };
const PUBLIC = new Set(["signin", "signup", "verify", "forgot"]);

async function route() {
  for (const timer of timers) clearTimeout(timer);
  timers = [];
  if (!keepMessage) say("");
  keepMessage = false;
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  const params = new URLSearchParams(query || "");
  const page = PAGES[name] ? name : login() ? "labs" : "signin";
  if (!PUBLIC.has(page) && !login()) {
    go("#/signin");
    return;
  }
  try {
    await PAGES[page](PUBLIC.has(page) ? params : decodeURIComponent(rest.join("/")));
    document.title = `${view().querySelector("h1")?.textContent || "Portal"} · ncap`;
  } catch (error) {
    say(error.message, "error");
  }
}

async function start() {
  settings = await (await fetch("settings.json", { cache: "no-store" })).json();
  document.getElementById("directory").textContent = settings.directory;
  nav();
  window.addEventListener("hashchange", route);
  await route();
}

start().catch((error) => say(`The portal cannot start: ${error.message}`, "error"));
